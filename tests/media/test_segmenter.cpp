/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Segment boundaries and audio levels. */
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <gst/gst.h>

#include "segmenter.h"

using gemini::Segmenter;
using gemini::SegmenterSettings;

namespace {

constexpr GstClockTime kStep = 100 * GST_MSECOND;
constexpr double kLoud = -10.0;
constexpr double kSilent = -90.0;

/* Feeds 100 ms buffers from `from` with the level `level (pts)` until the
 * segmenter cuts or `until` is reached; returns the cut point or NONE. */
GstClockTime
feed_until_cut (Segmenter &seg, GstClockTime from, GstClockTime until,
    const std::function<double (GstClockTime)> &level)
{
  for (GstClockTime pts = from; pts < until; pts += kStep) {
    if (seg.observe (pts, kStep, level (pts)))
      return pts;
  }
  return GST_CLOCK_TIME_NONE;
}

bool
in_range (GstClockTime t, double from_s, double to_s)
{
  return t >= GstClockTime (from_s * GST_SECOND) && t < GstClockTime (to_s * GST_SECOND);
}

void
test_cuts_inside_first_quiet_run_after_target_minus_window ()
{
  Segmenter seg;                 /* target 30 s, window 3 s, min quiet 200 ms */
  seg.begin (0);

  /* A pause at 10 s is too early; the one from 28 s on is in the window. */
  GstClockTime cut = feed_until_cut (seg, 0, 40 * GST_SECOND, [] (GstClockTime t) {
    return in_range (t, 10.0, 11.0) || t >= 28 * GST_SECOND ? kSilent : kLoud;
  });

  /* The quiet run [28.0, 28.2) reaches 200 ms with the buffer at 28.1 s. */
  g_assert_cmpuint (cut, ==, 28 * GST_SECOND + 100 * GST_MSECOND);
  g_assert_true (seg.had_sound ());
}

void
test_quiet_run_shorter_than_min_quiet_does_not_cut ()
{
  Segmenter seg;
  seg.begin (0);

  /* 100 ms pauses only: never long enough, so the hard limit decides. */
  GstClockTime cut = feed_until_cut (seg, 0, 40 * GST_SECOND, [] (GstClockTime t) {
    return (t / kStep) % 5 == 0 ? kSilent : kLoud;
  });

  g_assert_cmpuint (cut, ==, 33 * GST_SECOND);
}

void
test_hard_cut_at_target_plus_window ()
{
  Segmenter seg;
  seg.begin (5 * GST_SECOND);

  GstClockTime cut = feed_until_cut (seg, 5 * GST_SECOND, 60 * GST_SECOND,
      [] (GstClockTime) { return kLoud; });

  g_assert_cmpuint (cut, ==, 38 * GST_SECOND);
}

void
test_window_is_clamped_to_a_quarter_of_target ()
{
  SegmenterSettings s;
  s.target = 8 * GST_SECOND;
  s.window = 3 * GST_SECOND;    /* becomes 2 s */
  Segmenter seg (s);
  seg.begin (0);

  /* 5.5 s would be inside an unclamped window (from 5 s), not a clamped one (from 6 s). */
  GstClockTime cut = feed_until_cut (seg, 0, 20 * GST_SECOND, [] (GstClockTime t) {
    return in_range (t, 5.0, 5.9) ? kSilent : kLoud;
  });
  g_assert_cmpuint (cut, ==, 10 * GST_SECOND);
}

void
test_silent_segment_has_no_sound ()
{
  Segmenter seg;
  seg.begin (0);
  GstClockTime cut = feed_until_cut (seg, 0, 10 * GST_SECOND,
      [] (GstClockTime) { return kSilent; });
  g_assert_cmpuint (cut, ==, GST_CLOCK_TIME_NONE);
  g_assert_false (seg.had_sound ());

  /* -45 dBFS is quiet enough for a cut but still counts as sound. */
  g_assert_false (seg.observe (10 * GST_SECOND, kStep, -45.0));
  g_assert_true (seg.had_sound ());

  seg.begin (11 * GST_SECOND);
  g_assert_cmpuint (seg.start (), ==, 11 * GST_SECOND);
  g_assert_false (seg.had_sound ());
}

void
test_buffer_that_caused_the_cut_counts_for_the_next_segment ()
{
  Segmenter seg;
  seg.begin (0);
  GstClockTime cut = feed_until_cut (seg, 0, 40 * GST_SECOND,
      [] (GstClockTime t) { return t < 33 * GST_SECOND ? kSilent : kLoud; });
  /* All silent before the hard limit: quiet from the start of the window on. */
  g_assert_cmpuint (cut, ==, 27 * GST_SECOND);

  g_assert_false (seg.had_sound ());
  seg.begin (cut);
  g_assert_false (seg.had_sound ());

  seg.begin (0);
  cut = feed_until_cut (seg, 0, 40 * GST_SECOND, [] (GstClockTime) { return kLoud; });
  g_assert_cmpuint (cut, ==, 33 * GST_SECOND);
  seg.begin (cut);
  g_assert_true (seg.had_sound ());
  /* Observing the same buffer again, as some callers will, changes nothing. */
  g_assert_false (seg.observe (cut, kStep, kLoud));
  g_assert_true (seg.had_sound ());
}

void
test_observe_time_cuts_at_target ()
{
  Segmenter seg;
  seg.begin (2 * GST_SECOND);
  g_assert_false (seg.observe_time (2 * GST_SECOND));
  g_assert_false (seg.observe_time (31 * GST_SECOND + 999 * GST_MSECOND));
  g_assert_true (seg.observe_time (32 * GST_SECOND));
  g_assert_false (seg.observe_time (GST_CLOCK_TIME_NONE));
}

/* Interleaved stereo square wave of the given amplitude (0..1). */
template <typename T> std::vector<T>
square_wave (double amplitude, double full_scale, gsize frames)
{
  std::vector<T> v (frames * 2);
  for (gsize i = 0; i < frames; i++) {
    const double s = ((i / 16) % 2 == 0 ? 1.0 : -1.0) * amplitude * full_scale;
    v[2 * i] = v[2 * i + 1] = T (s);
  }
  return v;
}

template <typename T> double
level (GstAudioFormat format, const std::vector<T> &samples)
{
  GstAudioInfo info;
  gst_audio_info_set_format (&info, format, 48000, 2, nullptr);
  return gemini::measure_audio (&info, reinterpret_cast<const guint8 *> (samples.data ()),
      samples.size () * sizeof (T), 0).rms_db ();
}

void
test_rms_of_known_signals_s16 ()
{
  const GstAudioFormat f = GST_AUDIO_FORMAT_S16;
  g_assert_cmpfloat_with_epsilon (level (f, square_wave<gint16> (1.0, 32767, 4800)), 0.0, 0.01);
  g_assert_cmpfloat_with_epsilon (level (f, square_wave<gint16> (0.5, 32767, 4800)), -6.02,
      0.02);
  g_assert_cmpfloat (level (f, square_wave<gint16> (0.0, 32767, 4800)), ==, -120.0);
  g_assert_cmpfloat_with_epsilon (level (f, square_wave<gint16> (0.001, 32767, 4800)), -60.0,
      0.5);
}

void
test_rms_of_known_signals_f32 ()
{
  const GstAudioFormat f = GST_AUDIO_FORMAT_F32;
  g_assert_cmpfloat_with_epsilon (level (f, square_wave<gfloat> (1.0, 1.0, 4800)), 0.0, 0.001);
  g_assert_cmpfloat_with_epsilon (level (f, square_wave<gfloat> (0.5, 1.0, 4800)), -6.02, 0.01);
  g_assert_cmpfloat (level (f, square_wave<gfloat> (0.0, 1.0, 4800)), ==, -120.0);
}

void
test_rms_of_other_formats ()
{
  g_assert_cmpfloat_with_epsilon (level (GST_AUDIO_FORMAT_F64,
          square_wave<gdouble> (0.5, 1.0, 4800)), -6.02, 0.01);
  g_assert_cmpfloat_with_epsilon (level (GST_AUDIO_FORMAT_S32,
          square_wave<gint32> (0.5, 2147483647.0, 4800)), -6.02, 0.01);

  std::vector<guint8> u8 (960, 128);
  g_assert_cmpfloat (level (GST_AUDIO_FORMAT_U8, u8), ==, -120.0);
  for (gsize i = 0; i < u8.size (); i++)
    u8[i] = (i / 32) % 2 ? 0 : 255;
  g_assert_cmpfloat_with_epsilon (level (GST_AUDIO_FORMAT_U8, u8), 0.0, 0.05);

  /* Unsupported formats read as sound so that nothing is skipped. */
  std::vector<guint8> s24 (960, 0);
  g_assert_cmpfloat (level (GST_AUDIO_FORMAT_S24LE, s24), ==, 0.0);
}

}  // namespace

/* Audio in buffers of 1024 samples at 44.1 kHz (23.2 ms, across the
 * 10 ms grid) measures as the same frames as in one buffer, on the
 * stream's time: a frame straddling two buffers is summed from both. */
static void
test_levels_on_the_grid (void)
{
  GstAudioInfo info;
  gst_audio_info_set_format (&info, GST_AUDIO_FORMAT_S16, 44100, 1, nullptr);
  const GstClockTime start = 5 * GST_MSECOND;
  std::vector<gint16> samples (44100);
  for (gsize i = 0; i < samples.size (); i++)
    samples[i] = gint16 ((i / 4410) % 2 ? 16000 : 1000);   /* loud and quiet 100 ms */

  auto bytes = [&] (gsize from) { return reinterpret_cast<const guint8 *> (&samples[from]); };
  gemini::AudioEnvelope whole;
  whole.add (gemini::measure_audio (&info, bytes (0), samples.size () * 2, start));
  gemini::AudioEnvelope pieces;
  for (gsize from = 0; from < samples.size (); from += 1024) {
    const gsize n = std::min<gsize> (1024, samples.size () - from);
    const GstClockTime pts = start + gst_util_uint64_scale (from, GST_SECOND, 44100);
    pieces.add (gemini::measure_audio (&info, bytes (from), n * 2, pts));
  }
  g_assert_cmpuint (whole.start (), ==, 0);
  g_assert_cmpuint (whole.size (), ==, 101);
  g_assert_cmpuint (pieces.size (), ==, whole.size ());
  for (size_t i = 0; i < whole.size (); i++)
    g_assert_cmpfloat_with_epsilon (pieces.level (i), whole.level (i), 0.01);
  /* Frame 1 is [10, 20) ms: samples 221..661, all quiet (1000 / 32768). */
  g_assert_cmpfloat_with_epsilon (whole.level (1), 20 * std::log10 (1000.0 / 32768), 0.01);
  /* Frame 10 straddles the first change at 105 ms: half and half. */
  const double mixed = 10 * std::log10 ((std::pow (1000.0 / 32768, 2) + std::pow (16000.0 / 32768,
              2)) / 2);
  g_assert_cmpfloat_with_epsilon (whole.level (10), mixed, 0.1);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/segmenter/cuts-inside-first-quiet-run-after-target-minus-window",
      test_cuts_inside_first_quiet_run_after_target_minus_window);
  g_test_add_func ("/segmenter/short-pauses-do-not-cut",
      test_quiet_run_shorter_than_min_quiet_does_not_cut);
  g_test_add_func ("/segmenter/hard-cut-at-target-plus-window",
      test_hard_cut_at_target_plus_window);
  g_test_add_func ("/segmenter/window-clamped-to-quarter-of-target",
      test_window_is_clamped_to_a_quarter_of_target);
  g_test_add_func ("/segmenter/silent-segment-has-no-sound", test_silent_segment_has_no_sound);
  g_test_add_func ("/segmenter/cut-buffer-counts-for-next-segment",
      test_buffer_that_caused_the_cut_counts_for_the_next_segment);
  g_test_add_func ("/segmenter/observe-time-cuts-at-target", test_observe_time_cuts_at_target);
  g_test_add_func ("/segmenter/rms-s16-known-signals", test_rms_of_known_signals_s16);
  g_test_add_func ("/segmenter/rms-f32-known-signals", test_rms_of_known_signals_f32);
  g_test_add_func ("/segmenter/rms-other-formats", test_rms_of_other_formats);
  g_test_add_func ("/segmenter/levels-on-the-grid", test_levels_on_the_grid);

  return g_test_run ();
}
