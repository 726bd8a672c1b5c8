/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Segment boundaries near silence, and the audio level they are based on. */
#include "segmenter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace gemini {

namespace {

/* Samples are divided by the format's full scale, so that a full-scale
 * square wave reads 0 dBFS. */
template <typename Sample, typename Decode> double
sum_of_squares (const guint8 *data, gsize n_samples, double full_scale, Decode decode)
{
  double sum = 0.0;
  for (gsize i = 0; i < n_samples; i++) {
    Sample raw;
    memcpy (&raw, data + i * sizeof (Sample), sizeof (Sample));
    double v = decode (raw) / full_scale;
    sum += v * v;
  }
  return sum;
}

/* Sum of squares of `n` samples of `format` from `data`; nullopt for a
 * format other than the common S16/S32/F32/F64/U8. */
std::optional<double>
sum_of_squares (GstAudioFormat format, const guint8 *data, gsize n)
{
  switch (format) {
    case GST_AUDIO_FORMAT_U8:
      return sum_of_squares<guint8> (data, n, 128.0,
          [] (guint8 v) { return double (v) - 128.0; });
    case GST_AUDIO_FORMAT_S16LE:
      return sum_of_squares<guint16> (data, n, 32768.0,
          [] (guint16 v) { return double (gint16 (GUINT16_FROM_LE (v))); });
    case GST_AUDIO_FORMAT_S16BE:
      return sum_of_squares<guint16> (data, n, 32768.0,
          [] (guint16 v) { return double (gint16 (GUINT16_FROM_BE (v))); });
    case GST_AUDIO_FORMAT_S32LE:
      return sum_of_squares<guint32> (data, n, 2147483648.0,
          [] (guint32 v) { return double (gint32 (GUINT32_FROM_LE (v))); });
    case GST_AUDIO_FORMAT_S32BE:
      return sum_of_squares<guint32> (data, n, 2147483648.0,
          [] (guint32 v) { return double (gint32 (GUINT32_FROM_BE (v))); });
    case GST_AUDIO_FORMAT_F32LE:
    case GST_AUDIO_FORMAT_F32BE:
      return sum_of_squares<guint32> (data, n, 1.0, [format] (guint32 v) {
        v = format == GST_AUDIO_FORMAT_F32LE ? GUINT32_FROM_LE (v) : GUINT32_FROM_BE (v);
        float f;
        memcpy (&f, &v, sizeof f);
        return double (f);
      });
    case GST_AUDIO_FORMAT_F64LE:
    case GST_AUDIO_FORMAT_F64BE:
      return sum_of_squares<guint64> (data, n, 1.0, [format] (guint64 v) {
        v = format == GST_AUDIO_FORMAT_F64LE ? GUINT64_FROM_LE (v) : GUINT64_FROM_BE (v);
        double d;
        memcpy (&d, &v, sizeof d);
        return d;
      });
    default:
      return std::nullopt;
  }
}

}  // namespace

void
Segmenter::begin (GstClockTime start)
{
  start_ = start;
  quiet_since_ = GST_CLOCK_TIME_NONE;
  had_sound_ = false;

  /* The buffer that made observe() cut belongs to the new segment; apply
   * it here so a caller that does not observe it a second time still gets
   * the right had_sound() and quiet run. Observing it again is harmless. */
  if (cut_pts_ == start) {
    had_sound_ = cut_sound_;
    if (cut_quiet_)
      quiet_since_ = start;
  }
  cut_pts_ = GST_CLOCK_TIME_NONE;
}

bool
Segmenter::observe (GstClockTime pts, GstClockTime duration, double rms_db)
{
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return false;

  const bool quiet = rms_db < s_.quiet_db;
  const bool sound = rms_db > s_.sound_db;
  const GstClockTime longest = s_.longest ();
  const GstClockTime window = longest - s_.target;
  const GstClockTime elapsed = pts > start_ ? pts - start_ : 0;
  const GstClockTime end = pts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);

  if (quiet) {
    if (!GST_CLOCK_TIME_IS_VALID (quiet_since_))
      quiet_since_ = pts;
  } else {
    quiet_since_ = GST_CLOCK_TIME_NONE;
  }

  bool cut = false;
  if (elapsed >= longest) {
    cut = true;
  } else if (elapsed > 0 && elapsed + window >= s_.target && quiet
      && end - quiet_since_ >= s_.min_quiet) {
    cut = true;
  }

  if (cut) {
    cut_pts_ = pts;
    cut_sound_ = sound;
    cut_quiet_ = quiet;
    return true;
  }

  had_sound_ = had_sound_ || sound;
  return false;
}

bool
Segmenter::observe_time (GstClockTime pts)
{
  return GST_CLOCK_TIME_IS_VALID (pts) && pts > start_ && pts - start_ >= s_.target;
}

/* A format the sums cannot read counts as full scale, i.e. as sound: the
 * segmenter then never skips or cuts on it and the cue timer finds no
 * speech in it, which is the safe side. */
AudioLevels
measure_audio (const GstAudioInfo *info, const guint8 *data, gsize size, GstClockTime pts)
{
  AudioLevels levels;
  const gint bpf = GST_AUDIO_INFO_BPF (info);
  const gint rate = GST_AUDIO_INFO_RATE (info);
  const gint channels = GST_AUDIO_INFO_CHANNELS (info);
  if (bpf <= 0 || rate <= 0 || channels <= 0 || data == nullptr || size < (gsize) bpf)
    return levels;
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    pts = 0;

  const guint64 frames = size / bpf;
  const GstClockTime end = pts + gst_util_uint64_scale (frames, GST_SECOND, rate);
  const guint64 first = pts / AudioEnvelope::FRAME;
  const guint64 last = std::max (first, (end - 1) / AudioEnvelope::FRAME);
  levels.first_frame = first;
  guint64 from = 0;
  for (guint64 k = first; k <= last && from < frames; k++) {
    /* The first sample at or after the next grid line. */
    const GstClockTime next = (k + 1) * AudioEnvelope::FRAME;
    const guint64 to = k == last ? frames
        : std::min (frames, gst_util_uint64_scale_ceil (next - pts, rate, GST_SECOND));
    if (to <= from)
      continue;
    const gsize n = (to - from) * channels;
    const auto sum = sum_of_squares (GST_AUDIO_INFO_FORMAT (info), data + from * bpf, n);
    levels.sums.push_back (sum ? *sum : double (n));
    levels.counts.push_back (static_cast<guint32> (n));
    from = to;
  }
  return levels;
}

}  // namespace gemini
