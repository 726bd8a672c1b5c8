/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Segment boundaries near silence, and the audio level they are based on. */
#include "segmenter.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gemini {

namespace {

constexpr double kSilenceDb = -120.0;

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

/* Layout does not matter for an RMS over all channels, so interleaved and
 * non-interleaved data are treated alike. Formats other than the common
 * S16/S32/F32/F64/U8 read as 0 dBFS, i.e. as sound: the segmenter then
 * never skips or cuts on them, which is the safe side. */
double
audio_rms_db (const GstAudioInfo *info, const guint8 *data, gsize size)
{
  const GstAudioFormat format = GST_AUDIO_INFO_FORMAT (info);
  const gint width = GST_AUDIO_INFO_WIDTH (info) / 8;
  if (width <= 0 || data == nullptr)
    return 0.0;

  const gsize n = size / width;
  if (n == 0)
    return kSilenceDb;

  double sum;
  switch (format) {
    case GST_AUDIO_FORMAT_U8:
      sum = sum_of_squares<guint8> (data, n, 128.0,
          [] (guint8 v) { return double (v) - 128.0; });
      break;
    case GST_AUDIO_FORMAT_S16LE:
      sum = sum_of_squares<guint16> (data, n, 32768.0,
          [] (guint16 v) { return double (gint16 (GUINT16_FROM_LE (v))); });
      break;
    case GST_AUDIO_FORMAT_S16BE:
      sum = sum_of_squares<guint16> (data, n, 32768.0,
          [] (guint16 v) { return double (gint16 (GUINT16_FROM_BE (v))); });
      break;
    case GST_AUDIO_FORMAT_S32LE:
      sum = sum_of_squares<guint32> (data, n, 2147483648.0,
          [] (guint32 v) { return double (gint32 (GUINT32_FROM_LE (v))); });
      break;
    case GST_AUDIO_FORMAT_S32BE:
      sum = sum_of_squares<guint32> (data, n, 2147483648.0,
          [] (guint32 v) { return double (gint32 (GUINT32_FROM_BE (v))); });
      break;
    case GST_AUDIO_FORMAT_F32LE:
    case GST_AUDIO_FORMAT_F32BE:
      sum = sum_of_squares<guint32> (data, n, 1.0, [format] (guint32 v) {
        v = format == GST_AUDIO_FORMAT_F32LE ? GUINT32_FROM_LE (v) : GUINT32_FROM_BE (v);
        float f;
        memcpy (&f, &v, sizeof f);
        return double (f);
      });
      break;
    case GST_AUDIO_FORMAT_F64LE:
    case GST_AUDIO_FORMAT_F64BE:
      sum = sum_of_squares<guint64> (data, n, 1.0, [format] (guint64 v) {
        v = format == GST_AUDIO_FORMAT_F64LE ? GUINT64_FROM_LE (v) : GUINT64_FROM_BE (v);
        double d;
        memcpy (&d, &v, sizeof d);
        return d;
      });
      break;
    default:
      return 0.0;
  }

  const double mean = sum / double (n);
  if (!(mean > 0.0))
    return kSilenceDb;
  return std::max (kSilenceDb, 10.0 * std::log10 (mean));
}

}  // namespace gemini
