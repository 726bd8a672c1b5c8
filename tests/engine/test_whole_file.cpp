/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file planning and stitching: token estimates from the documented
 * rates, windows that cover a file exactly, edges at quiet points and whole
 * seconds, rows kept once at window edges. */
#include <gst/gst.h>

#include "prompt.h"
#include "whole_file.h"

using namespace gemini;

static constexpr GstClockTime S = GST_SECOND;

static void
assert_contiguous (const std::vector<Window> &w, GstClockTime duration)
{
  g_assert_cmpuint (w.size (), >, 0);
  g_assert_cmpuint (w.front ().start, ==, 0);
  g_assert_cmpuint (w.back ().end, ==, duration);
  for (size_t i = 0; i < w.size (); i++) {
    g_assert_cmpuint (w[i].start, <, w[i].end);
    if (i > 0)
      g_assert_cmpuint (w[i].start, ==, w[i - 1].end);
  }
}

static void
test_token_rates (void)
{
  TokenRates g3 = token_rates ("gemini-3.6-flash", MediaResolution::Medium);
  g_assert_cmpfloat (g3.video_per_frame, ==, 70.0);
  g_assert_cmpfloat (token_rates ("gemini-3.6-flash", MediaResolution::Low).video_per_frame,
      ==, 70.0);
  g_assert_cmpfloat (token_rates ("gemini-3.6-flash", MediaResolution::High).video_per_frame,
      ==, 280.0);
  g_assert_cmpfloat (token_rates ("models/gemini-2.5-flash", MediaResolution::Medium)
      .video_per_frame, ==, 258.0);
  g_assert_cmpfloat (token_rates ("gemini-2.5-pro", MediaResolution::Low).video_per_frame,
      ==, 66.0);
  g_assert_cmpfloat (g3.audio_per_second, ==, 32.0);

  /* One minute at 1 fps: 60 frames and 60 s of audio. */
  g_assert_cmpuint (estimate_input_tokens (60 * S, 1.0, true, g3), ==, 60 * 70 + 60 * 32);
  g_assert_cmpuint (estimate_input_tokens (60 * S, 1.0, false, g3), ==, 60 * 32);
  g_assert_cmpuint (estimate_output_tokens (60 * S), ==, 480);
}

static void
test_max_request_duration (void)
{
  TokenRates g3 = token_rates ("gemini-3.6-flash", MediaResolution::Low);
  ModelLimits limits;
  /* Output bound: 65536 / 2 / 8 tokens a second = 4096 s. */
  g_assert_cmpuint (max_request_duration (1.0, true, g3, limits), ==, 4096 * S);
  /* Input bound: 24 fps of 258-token frames fills 90% of 1M in ~152 s. */
  TokenRates g2 = token_rates ("gemini-2.5-flash", MediaResolution::Medium);
  GstClockTime dense = max_request_duration (24.0, true, g2, limits);
  g_assert_cmpuint (dense, >, 150 * S);
  g_assert_cmpuint (dense, <, 154 * S);
}

static void
test_one_window_when_it_fits (void)
{
  auto w = plan_windows (20 * 60 * S, 0, 4096 * S, {});
  g_assert_cmpuint (w.size (), ==, 1);
  assert_contiguous (w, 20 * 60 * S);
}

static void
test_windows_cover_the_file (void)
{
  const GstClockTime duration = 3 * 3600 * S + 1234 * GST_MSECOND;
  auto w = plan_windows (duration, 0, 4096 * S, {});
  g_assert_cmpuint (w.size (), ==, 3);
  assert_contiguous (w, duration);
  for (size_t i = 0; i + 1 < w.size (); i++) {
    g_assert_cmpuint (w[i].end % S, ==, 0);
    g_assert_cmpuint (w[i].end - w[i].start, <=, 4096 * S);
  }

  auto fixed = plan_windows (20 * 60 * S, 300 * S, 4096 * S, {});
  g_assert_cmpuint (fixed.size (), ==, 4);
  assert_contiguous (fixed, 20 * 60 * S);
  g_assert_cmpuint (fixed[1].start, ==, 300 * S);
  g_assert_cmpuint (fixed[3].start, ==, 900 * S);
}

static void
test_edges_move_to_quiet_points (void)
{
  /* Windows of 300 s reach 37.5 s either side of an edge. */
  std::vector<GstClockTime> quiet = { 100 * S, 297 * S + 400 * GST_MSECOND, 640 * S,
      880 * S };
  auto w = plan_windows (20 * 60 * S, 300 * S, 4096 * S, quiet);
  g_assert_cmpuint (w.size (), ==, 4);
  assert_contiguous (w, 20 * 60 * S);
  g_assert_cmpuint (w[0].end, ==, 297 * S);   /* nearest quiet, rounded */
  g_assert_cmpuint (w[1].end, ==, 600 * S);   /* 640 is out of reach */
  g_assert_cmpuint (w[2].end, ==, 880 * S);
}

static Utterance
row (double start, const char *voice, const char *text)
{
  Utterance u;
  u.start = static_cast<GstClockTime> (start * GST_SECOND);
  u.end = u.start + S;
  u.voice = voice;
  u.text = text;
  return u;
}

static void
test_stitch_keeps_each_row_once (void)
{
  std::vector<Window> w = { {0, 10 * S}, {10 * S, 20 * S}, {20 * S, 30 * S} };
  std::vector<SegmentTranscript> parts (3);
  parts[0].utterances = { row (2, "1", "a"), row (9.8, "2", "b"), row (10.2, "1", "c?") };
  parts[0].speakers = { Speaker{"1", "Alice", "?", "?", "?"}, Speaker{"2", "?", "?", "?", "?"} };
  parts[0].language = "en";
  parts[1].utterances = { row (9.8, "1", "b?"), row (10.2, "2", "c"), row (19, "1", "d") };
  parts[1].speakers = { Speaker{"1", "Bob", "?", "?", "?"} };
  parts[2].utterances = { row (19.9, "1", "d?"), row (25, "1", "e") };

  SegmentTranscript t = stitch_windows (w, std::move (parts));
  g_assert_cmpuint (t.utterances.size (), ==, 5);
  const char *texts[] = { "a", "b", "c", "d", "e" };
  const char *voices[] = { "w1:1", "w1:2", "w2:2", "w2:1", "w3:1" };
  for (int i = 0; i < 5; i++) {
    g_assert_cmpstr (t.utterances[i].text.c_str (), ==, texts[i]);
    g_assert_cmpstr (t.utterances[i].voice.c_str (), ==, voices[i]);
  }
  g_assert_cmpuint (t.speakers.size (), ==, 3);
  g_assert_cmpstr (t.speakers[2].voice.c_str (), ==, "w2:1");
  g_assert_cmpstr (t.language.c_str (), ==, "en");
  g_assert_cmpuint (t.repairs.size (), ==, 3);
}

static void
test_quiet_points (void)
{
  QuietPoints q;
  auto feed = [&q] (int from_ms, int to_ms, double db) {
    for (int t = from_ms; t < to_ms; t += 100)
      q.observe (t * GST_MSECOND, 100 * GST_MSECOND, db);
  };
  feed (0, 1000, -10);
  feed (1000, 1500, -60);   /* 500 ms of quiet: a point at 1.25 s */
  feed (1500, 2000, -10);
  feed (2000, 2100, -60);   /* 100 ms: too short */
  feed (2100, 3000, -10);
  feed (3000, 3400, -60);   /* 3.2 s */
  feed (3400, 3600, -10);
  feed (3600, 4000, -60);   /* 3.8 s: within a second of the last, dropped */
  feed (4000, 5000, -10);
  feed (5000, 5400, -60);   /* 5.2 s */
  feed (5400, 6000, -10);
  const auto &p = q.points ();
  g_assert_cmpuint (p.size (), ==, 3);
  g_assert_cmpuint (p[0], ==, 1250 * GST_MSECOND);
  g_assert_cmpuint (p[1], ==, 3200 * GST_MSECOND);
  g_assert_cmpuint (p[2], ==, 5200 * GST_MSECOND);
}

static void
test_window_and_speaker_prompts (void)
{
  PromptOptions o;
  o.clip_duration = 20 * 60 * S;
  o.transcribe_from = 300 * S;
  o.transcribe_until = 600 * S;
  std::string p = build_prompt (o);
  g_assert_nonnull (strstr (p.c_str (), "Transcribe only the speech from 05:00 to 10:00"));

  PromptOptions sp;
  sp.clip_duration = 20 * 60 * S;
  sp.speakers_only = true;
  sp.context = "Alice Martin";
  std::string q = build_prompt (sp);
  g_assert_nonnull (strstr (q.c_str (), "keys `language` and `task2_speakers`"));
  g_assert_null (strstr (q.c_str (), "task1_transcripts"));
  g_assert_nonnull (strstr (q.c_str (), "<context>\nAlice Martin"));

  MediaInput m;
  m.mime_type = "video/webm";
  m.file_uri = "https://example/files/abc";
  GenerateRequest req = build_transcription_request (std::move (m), sp, GenerationSettings{});
  std::string json = request_to_string (req);
  g_assert_nonnull (strstr (json.c_str (), "\"task2_speakers\""));
  g_assert_null (strstr (json.c_str (), "\"task1_transcripts\""));

  GenerateRequest cached = build_cached_transcription_request ("cachedContents/x", o,
      GenerationSettings{});
  std::string cj = request_to_string (cached);
  g_assert_nonnull (strstr (cj.c_str (), "\"cachedContent\":\"cachedContents/x\""));
  g_assert_null (strstr (cj.c_str (), "fileData"));
}

/* A cache holds the default resolution whatever the requests ask for: a
 * 60-minute video at LOW fits one request (98 tokens a second), but cached
 * it costs 290 a second and needs two windows. */
static void
test_plan_with_what_the_cache_holds (void)
{
  WholeFileJob job;
  job.model = "gemini-2.5-flash";
  job.duration = 60 * 60 * GST_SECOND;
  job.has_video = true;
  job.media.fps = 1.0;
  job.generation.media_resolution = MediaResolution::Low;
  job.use_cache = false;
  g_assert_cmpuint (plan_whole_file (job).size (), ==, 1);
  job.use_cache = true;
  g_assert_cmpuint (plan_whole_file (job).size (), ==, 2);
  /* audio has no frames: the cache changes nothing */
  job.has_video = false;
  g_assert_cmpuint (plan_whole_file (job).size (), ==, 1);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/whole-file/token-rates", test_token_rates);
  g_test_add_func ("/whole-file/max-request-duration", test_max_request_duration);
  g_test_add_func ("/whole-file/one-window-when-it-fits", test_one_window_when_it_fits);
  g_test_add_func ("/whole-file/plan-with-what-the-cache-holds",
      test_plan_with_what_the_cache_holds);
  g_test_add_func ("/whole-file/windows-cover-the-file", test_windows_cover_the_file);
  g_test_add_func ("/whole-file/edges-move-to-quiet-points", test_edges_move_to_quiet_points);
  g_test_add_func ("/whole-file/stitch-keeps-each-row-once", test_stitch_keeps_each_row_once);
  g_test_add_func ("/whole-file/quiet-points", test_quiet_points);
  g_test_add_func ("/whole-file/window-and-speaker-prompts", test_window_and_speaker_prompts);
  return g_test_run ();
}
