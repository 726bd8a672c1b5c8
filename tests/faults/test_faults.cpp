/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fault matrix of issue 6: every fault the emulator can inject, each
 * checked against the element's contract (docs/element.md): the pipeline
 * reaches EOS; every segment either produced cues or a GST_ELEMENT_WARNING
 * and a GAP over its time, reported in its `gemini-segment` message with
 * status and error; the segments after the faulty one are unaffected. Then
 * the fatal errors (one clear GST_ELEMENT_ERROR, no retry storm) and bad
 * input. One request at a time, so "the first generate request" is always
 * segment 0's. */
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "contract.h"

using namespace gemini::test;
using gemini::GPtr;


/* ------------------------------------------------------------------ */
/* baseline                                                            */

static void
test_baseline_every_segment_transcribed ()
{
  RunResult r = run_with ("");
  check_contract (r, {});
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r));
}

/* ------------------------------------------------------------------ */
/* transient service faults                                             */

static void
test_429_storm_honours_retry_info ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 2,
      "type": "http", "status": 429, "grpc_status": "RESOURCE_EXHAUSTED",
      "message": "Quota exceeded", "retry_delay": "2.5s",
      "quota_id": "GenerateRequestsPerMinutePerProject"}])", "max-retries=3");
  check_contract (r, {});
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) + 2);
  g_assert_cmpint (request_status (r, 0), ==, 429);
  g_assert_cmpint (request_status (r, 1), ==, 429);
  g_assert_cmpint (request_status (r, 2), ==, 200);
  /* The backoff alone would be 1-2 s then 2-3 s: the server's delay wins. */
  g_assert_cmpfloat (seconds_between_requests (r, 0, 1), >=, 2.45);
  g_assert_cmpfloat (seconds_between_requests (r, 1, 2), >=, 2.45);
}

static void
test_429_storm_beyond_retries_fails_one_segment ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 2,
      "type": "http", "status": 429, "grpc_status": "RESOURCE_EXHAUSTED",
      "message": "Quota exceeded", "retry_delay": "0.2s"}])", "max-retries=1");
  check_contract (r, {.seg0_status = "failed"});
  g_assert_nonnull (strstr (gst_structure_get_string (r.segment (0), "error"),
          "Quota exceeded"));
  guint http_status = 0;
  g_assert_true (gst_structure_get_uint (r.segment (0), "http-status", &http_status));
  g_assert_cmpuint (http_status, ==, 429);
  g_assert_cmpstr (gst_structure_get_string (r.segment (0), "api-status"), ==,
      "RESOURCE_EXHAUSTED");
  g_assert_cmpstr (gst_structure_get_string (r.segment (0), "error-kind"), ==, "http");
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) + 1);
}

static void
test_5xx_burst_is_retried ()
{
  RunResult r = run_with (R"("faults": [
      {"match": "generate", "nth": 1, "count": 1, "type": "http", "status": 500,
       "message": "Internal error encountered."},
      {"match": "generate", "nth": 2, "count": 1, "type": "http", "status": 503,
       "message": "The model is overloaded. Please try again later."}])",
      "max-retries=2");
  check_contract (r, {});
  g_assert_cmpint (request_status (r, 0), ==, 500);
  g_assert_cmpint (request_status (r, 1), ==, 503);
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) + 2);
}

static void
test_5xx_burst_beyond_retries_fails_one_segment ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 2,
      "type": "http", "status": 503,
      "message": "The model is overloaded. Please try again later."}])",
      "max-retries=1");
  check_contract (r, {.seg0_status = "failed"});
  g_assert_nonnull (strstr (gst_structure_get_string (r.segment (0), "error"),
          "overloaded"));
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) + 1);
}

static void
test_stall_past_request_timeout_is_retried ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 1,
      "type": "stall"}])", "max-retries=1 request-timeout=1000");
  check_contract (r, {});
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) + 1);
  /* Given up after the timeout, then the backoff: not sooner. */
  g_assert_cmpfloat (seconds_between_requests (r, 0, 1), >=, 1.95);
}

static void
test_stall_on_every_attempt_fails_one_segment ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 2,
      "type": "stall"}])", "max-retries=1 request-timeout=1000");
  check_contract (r, {.seg0_status = "failed"});
  g_assert_nonnull (strstr (gst_structure_get_string (r.segment (0), "error"),
          "no answer within"));
  g_assert_cmpstr (gst_structure_get_string (r.segment (0), "error-kind"), ==, "timeout");
}

static void
test_connection_dropped_mid_response_is_retried ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 1,
      "type": "drop"}])", "max-retries=1");
  check_contract (r, {});
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) + 1);
  g_assert_cmpint (request_status (r, 0), ==, 0);
}

static void
test_connection_dropped_on_every_attempt_fails_one_segment ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 2,
      "type": "drop"}])", "max-retries=1");
  check_contract (r, {.seg0_status = "failed"});
}


static void
test_connection_dropped_on_every_upload_fails_one_segment ()
{
  RunResult r = run_with (R"("file_processing_polls": 0, "faults": [{"match": "upload_start",
      "nth": 1, "count": 2, "type": "drop"}])", "max-inline-bytes=0 max-retries=1");
  check_contract (r, {.seg0_status = "failed"});
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) - 1);
}

static void
test_upload_failed_state_fails_one_segment ()
{
  RunResult r = run_with (R"("file_processing_polls": 1, "faults": [{"match": "upload_start",
      "nth": 1, "count": 1, "type": "file_failed",
      "message": "File processing failed: unsupported codec."}])",
      "max-inline-bytes=0 max-retries=1");
  check_contract (r, {.seg0_status = "failed"});
  g_assert_nonnull (strstr (gst_structure_get_string (r.segment (0), "error"),
          "unsupported codec"));
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r) - 1);
}

/* ------------------------------------------------------------------ */
/* answers the model should not have given                             */

static void
test_max_tokens_keeps_complete_rows ()
{
  /* The request for the rest fails too (one request at a time: the second
   * is segment 0's rest): the complete rows of the cut answer remain. */
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 1,
      "type": "max_tokens", "keep_fraction": 0.35}, {"match": "generate", "nth": 2,
      "count": 1, "type": "http", "status": 500, "grpc_status": "INTERNAL",
      "message": "boom"}])", "max-concurrent-requests=1 max-retries=0");
  check_contract (r, {.seg0_partial = true});
  gboolean truncated = FALSE;
  g_assert_true (gst_structure_get_boolean (r.segment (0), "truncated", &truncated));
  g_assert_true (truncated);
  /* The cut row is not half-shown: the last script row of segment 0 is gone. */
  g_assert_false (r.has_cue_with ("Yes please."));
}

static void
test_blocked (const char *type, const char *reason)
{
  gchar *extra = g_strdup_printf (R"("faults": [{"match": "generate", "nth": 1,
      "count": 1, "type": "%s"}])", type);
  RunResult r = run_with (extra, "max-retries=2");
  g_free (extra);
  check_contract (r, {.seg0_status = "blocked"});
  g_assert_nonnull (strstr (gst_structure_get_string (r.segment (0), "error"), reason));
  /* A blocked answer is an answer: asking again gets the same one. */
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r));
}

static void
test_safety_block ()
{
  test_blocked ("safety", "SAFETY");
}

static void
test_recitation_block ()
{
  test_blocked ("recitation", "RECITATION");
}

static void
test_prompt_blocked ()
{
  test_blocked ("prompt_blocked", "SAFETY");
}

static void
test_empty_candidates ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 1,
      "type": "empty"}])");
  check_contract (r, {.seg0_status = "failed"});
}

static void
test_non_json_text ()
{
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 1,
      "type": "text", "text": "I am sorry, I cannot transcribe this video."}])");
  check_contract (r, {.seg0_status = "failed"});
}

static void
test_timecodes_decreasing ()
{
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"00:01.700","end":"00:01.900","text":"Good morning.","voice":1},)"
          R"({"start":"00:01.300","end":"00:01.600","text":"Hello Alice.","voice":2},)"
          R"({"start":"00:00.800","end":"00:01.100","text":"Shall we begin?","voice":1},)"
          R"({"start":"00:00.200","end":"00:00.600","text":"Yes please.","voice":2})"));
  check_contract (r, {});
  check_seg0_cues_inside (r);
  g_assert_cmpuint (n_repairs (r, 0), >, 0);
  /* The order of the rows is the order of speech: it is kept. */
  std::vector<std::string> order;
  for (const auto &c : r.cues)
    for (const char *t : {"Good morning.", "Hello Alice.", "Shall we begin?", "Yes please."})
      if (c.text.find (t) != std::string::npos)
        order.push_back (t);
  const std::vector<std::string> expected = {"Good morning.", "Hello Alice.",
    "Shall we begin?", "Yes please."};
  g_assert_true (order == expected);
}

static void
test_timecodes_all_zero ()
{
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"00:00","end":"00:00","text":"Good morning.","voice":1},)"
          R"({"start":"00:00","end":"00:00","text":"Hello Alice.","voice":2},)"
          R"({"start":"00:00","end":"00:00","text":"Shall we begin?","voice":1},)"
          R"({"start":"00:00","end":"00:00","text":"Yes please.","voice":2})"));
  check_contract (r, {});
  check_seg0_cues_inside (r);
  g_assert_cmpuint (n_repairs (r, 0), >, 0);
  /* Spread over the segment, not stacked at its start. */
  std::set<GstClockTime> starts;
  for (const auto &c : r.cues)
    if ((double) c.pts / GST_SECOND < r.span (0).second)
      starts.insert (c.pts);
  g_assert_cmpuint (starts.size (), >, 1);
}

static void
test_repetition_loop ()
{
  std::string rows =
      R"({"start":"00:00.200","end":"00:00.600","text":"Good morning.","voice":1},)"
      R"({"start":"00:00.800","end":"00:01.100","text":"Hello Alice.","voice":2},)"
      R"({"start":"00:01.300","end":"00:01.600","text":"Shall we begin?","voice":1},)";
  for (int i = 0; i < 60; i++)
    rows += R"({"start":"00:01.700","end":"00:01.900","text":"Yes please.","voice":2},)";
  rows += R"({"start":"00:01.900","end":"00:01.950","text":")";
  for (int i = 0; i < 40; i++)
    rows += "Thank you very much. ";
  rows += R"(","voice":2})";
  RunResult r = run_with (seg0_answer_fault (rows));
  check_contract (r, {});
  guint yes = 0;
  for (const auto &c : r.cues) {
    for (size_t p = c.text.find ("Yes please."); p != std::string::npos;
        p = c.text.find ("Yes please.", p + 1))
      yes++;
  }
  g_assert_cmpuint (yes, ==, 1);
  guint thanks = 0;
  for (const auto &c : r.cues)
    for (size_t p = c.text.find ("Thank you very much."); p != std::string::npos;
        p = c.text.find ("Thank you very much.", p + 1))
      thanks++;
  g_assert_cmpuint (thanks, ==, 1);
  g_assert_cmpuint (n_repairs (r, 0), >, 0);
}

static void
test_voices_missing_from_speakers_table ()
{
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"00:00.200","end":"00:00.600","text":"Good morning.","voice":1},)"
          R"({"start":"00:00.800","end":"00:01.100","text":"Hello Alice.","voice":2},)"
          R"({"start":"00:01.300","end":"00:01.600","text":"Shall we begin?","voice":3},)"
          R"({"start":"00:01.700","end":"00:01.900","text":"Yes please.","voice":2})",
          R"([{"voice":1,"name":"Alice Martin","company":"Acme Media","position":"Editor in chief","role_in_video":"host"}])"));
  check_contract (r, {});
  for (const auto &c : r.cues) {
    if (c.text.find ("Hello Alice.") != std::string::npos
        || c.text.find ("Shall we begin?") != std::string::npos) {
      g_assert_cmpstr (c.name.c_str (), ==, "?");
      g_assert_true (g_str_has_prefix (c.speaker_id.c_str (), "S"));
    }
  }
}

static void
test_speakers_never_heard ()
{
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"00:00.200","end":"00:00.600","text":"Good morning.","voice":1},)"
          R"({"start":"00:00.800","end":"00:01.100","text":"Hello Alice.","voice":1},)"
          R"({"start":"00:01.300","end":"00:01.600","text":"Shall we begin?","voice":1},)"
          R"({"start":"00:01.700","end":"00:01.900","text":"Yes please.","voice":1})",
          R"([{"voice":1,"name":"Alice Martin","company":"Acme Media","position":"Editor in chief","role_in_video":"host"},)"
          R"({"voice":7,"name":"Carol Diaz","company":"Initech","position":"CTO","role_in_video":"name card"},)"
          R"({"voice":8,"name":"?","company":"?","position":"?","role_in_video":"?"}])"));
  check_contract (r, {});
  for (const auto &c : r.cues)
    g_assert_cmpstr (c.name.c_str (), !=, "Carol Diaz");
}

/* ------------------------------------------------------------------ */
/* fatal errors                                                        */


static void
test_fatal_missing_key ()
{
  g_unsetenv ("GEMINI_API_KEY");
  g_unsetenv ("GOOGLE_API_KEY");
  RunResult r = run_fatal ("", "", "");
  g_assert_cmpuint (r.generate_count (), ==, 0);
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "api-key"));
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "GEMINI_API_KEY"));
  /* what an application decides on: the details, not the text */
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (),
          "kind=(string)no-credentials"));
}

/* ------------------------------------------------------------------ */
/* bad input                                                           */

static void
test_input_caps_change_mid_stream ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.feed = [](GstAppSrc *src) {
    for (GstClockTime t = 0; t < FAULT_SECONDS * GST_SECOND; t += 100 * GST_MSECOND) {
      /* 16 kHz mono, then 48 kHz stereo from 3 s (inside segment 1). */
      const bool late = t >= 3 * GST_SECOND;
      GPtr<GstCaps> caps (gst_caps_from_string (late ?
              "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved,"
              "channel-mask=(bitmask)0x3" : SPEECH_CAPS));
      GPtr<GstSample> sample (gst_sample_new (tone_buffer (fault_lines (), t,
                  100 * GST_MSECOND, late ? 48000 : 16000, late ? 2 : 1),
              caps.get (), nullptr, nullptr));
      gst_buffer_unref (gst_sample_get_buffer (sample.get ()));
      gst_app_src_push_sample (src, sample.get ());
    }
    gst_app_src_end_of_stream (src);
  };
  RunResult r = run_transcriber (emu, spec);
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_cmpuint (r.warnings.size (), ==, 0);
  for (const auto &l : fault_lines ())
    g_assert_true (r.has_cue_with (l.text));
  /* A segment ends where the caps changed. */
  bool cut_at_change = false;
  for (guint64 i = 0; i < r.segments.size (); i++)
    cut_at_change = cut_at_change || std::fabs (r.span (i).second - 3.0) < 1e-6;
  g_assert_true (cut_at_change);
}



static void
test_input_discont_and_timestamp_jump ()
{
  /* From 2.4 s on, everything is 20 s later, flagged DISCONT. */
  constexpr double JUMP_AT = 2.4, JUMP = 20.0;
  std::vector<ScriptLine> shifted;
  for (auto l : fault_lines ()) {
    if (l.start >= JUMP_AT) {
      l.start += JUMP;
      l.end += JUMP;
    }
    shifted.push_back (l);
  }
  Emulator emu (interview_script (shifted, R"("timecode_format": "mm:ss.mmm")"));
  RunSpec spec;
  spec.feed = [](GstAppSrc *src) {
    feed_tweaked (src, [](GstBuffer *buf, guint) {
          if (GST_BUFFER_PTS (buf) >= JUMP_AT * GST_SECOND - 1000) {
            if (GST_BUFFER_PTS (buf) < JUMP_AT * GST_SECOND + 1000)
              GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
            GST_BUFFER_PTS (buf) += JUMP * GST_SECOND;
          }
          return true;});
  };
  RunResult r = run_transcriber (emu, spec);
  check_all_lines_near_their_time (r, JUMP_AT, JUMP);
  /* The hole is covered: no time without a cue or a gap before the end. */
  GstClockTime covered = 0;
  std::vector<std::pair<GstClockTime, GstClockTime>> spans;
  for (const auto &c : r.cues)
    spans.emplace_back (c.pts, c.pts + c.duration);
  for (const auto &g : r.gaps)
    spans.emplace_back (g.start, g.start + g.duration);
  std::sort (spans.begin (), spans.end ());
  for (const auto &[s, e] : spans) {
    g_assert_cmpuint (s, <=, covered + GST_MSECOND);
    covered = std::max (covered, e);
  }
  g_assert_cmpfloat ((double) covered / GST_SECOND, >=, FAULT_SECONDS + JUMP - 0.2);
}

static void
test_input_buffers_without_timestamps ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.feed = [](GstAppSrc *src) {
    feed_tweaked (src, [](GstBuffer *buf, guint i) {
          if (i > 0) {
            GST_BUFFER_PTS (buf) = GST_CLOCK_TIME_NONE;
            GST_BUFFER_DURATION (buf) = GST_CLOCK_TIME_NONE;
          }
          return true;});
  };
  check_all_lines_near_their_time (run_transcriber (emu, spec));
}

static void
test_input_zero_length_buffers ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.feed = [](GstAppSrc *src) {
    feed_tweaked (src, [src](GstBuffer *buf, guint i) {
          GstBuffer *empty = gst_buffer_new ();
          GST_BUFFER_PTS (empty) = GST_BUFFER_PTS (buf);
          GST_BUFFER_DURATION (empty) = i % 2 ? 0 : GST_CLOCK_TIME_NONE;
          gst_app_src_push_buffer (src, empty);
          return true;});
  };
  check_all_lines_near_their_time (run_transcriber (emu, spec));
}


static void
test_input_very_short_stream ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.feed = [](GstAppSrc *src) {
    for (GstClockTime t = 0; t < 700 * GST_MSECOND; t += 100 * GST_MSECOND)
      gst_app_src_push_buffer (src, speech_buffer (fault_lines (), t));
    gst_app_src_end_of_stream (src);
  };
  RunResult r = run_transcriber (emu, spec);
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_cmpuint (r.segments.size (), ==, 1);
  g_assert_true (r.status (0) == "ok");
  g_assert_true (r.has_cue_with ("Good morning."));
  g_assert_cmpuint (r.cues.size (), ==, 1);
  g_assert_cmpfloat ((double) r.cues[0].pts / GST_SECOND, <, 0.7);
}

static void
test_input_very_long_silence ()
{
  constexpr guint MINUTES = 10;
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.props = "segment-duration=0";
  spec.feed = [](GstAppSrc *src) {
    for (GstClockTime t = 0; t < MINUTES * 60 * GST_SECOND; t += GST_SECOND)
      gst_app_src_push_buffer (src, speech_buffer ({}, t, GST_SECOND));
    gst_app_src_end_of_stream (src);
  };
  RunResult r = run_transcriber (emu, spec);
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_cmpuint (r.generate_count (), ==, 0);
  g_assert_cmpuint (r.cues.size (), ==, 0);
  g_assert_cmpuint (r.segments.size (), >=, 5);
  for (guint64 i = 0; i < r.segments.size (); i++)
    g_assert_true (r.status (i) == "silent");
  GstClockTime covered = 0;
  for (const auto &g : r.gaps) {
    g_assert_cmpuint (g.start, <=, covered);
    covered = std::max (covered, g.start + g.duration);
  }
  g_assert_cmpuint (covered, ==, MINUTES * 60 * GST_SECOND);
}

/* A file that ended FAILED still takes room in the project's storage. */
static void
test_failed_upload_is_deleted ()
{
  RunResult r = run_with (R"("file_processing_polls": 1, "faults": [{"match": "upload_start",
      "nth": 1, "count": 1, "type": "file_failed", "message": "unsupported codec"}])",
      "max-inline-bytes=0");
  g_assert_true (r.status (0) == "failed");
  g_assert_cmpuint (count_kind (r, "file_delete"), ==, count_kind (r, "upload_start", 200));
}

static void
test_timecodes_beyond_segment ()
{
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"00:00.200","end":"00:00.600","text":"Good morning.","voice":1},)"
          R"({"start":"00:00.800","end":"00:01.100","text":"Hello Alice.","voice":2},)"
          R"({"start":"07:12","end":"07:15","text":"Shall we begin?","voice":1},)"
          R"({"start":"59:00","end":"59:59","text":"Yes please.","voice":2})"));
  check_contract (r, {});
  check_seg0_cues_inside (r);
  g_assert_cmpuint (n_repairs (r, 0), >, 0);
}

static void
test_timecodes_negative ()
{
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"-00:03","end":"-00:01","text":"Good morning.","voice":1},)"
          R"({"start":-1.5,"end":1.1,"text":"Hello Alice.","voice":2},)"
          R"({"start":"00:01.300","end":"00:01.600","text":"Shall we begin?","voice":1},)"
          R"({"start":"00:01.700","end":"00:01.900","text":"Yes please.","voice":2})"));
  check_contract (r, {});
  check_seg0_cues_inside (r);
  g_assert_cmpuint (n_repairs (r, 0), >, 0);
}

static void
test_invalid_utf8 ()
{
  /* Raw invalid bytes cannot travel in the emulator's JSON; a lone
   * surrogate escape is what a model's JSON can carry instead, and it
   * decodes to bytes that are not UTF-8. */
  RunResult r = run_with (seg0_answer_fault (
          R"({"start":"00:00.200","end":"00:00.600","text":"Good morning.","voice":1},)"
          R"({"start":"00:00.800","end":"00:01.100","text":"Hello \udce9 Alice.","voice":2},)"
          R"({"start":"00:01.300","end":"00:01.600","text":"Shall we \ud800 begin?","voice":1},)"
          R"({"start":"00:01.700","end":"00:01.900","text":"Yes please.","voice":2})"));
  check_contract (r, {.seg0_texts = {"Good morning.", "Alice.", "begin?", "Yes please."}});
}

static void
test_10mb_response ()
{
  /* 10 MB of rows, every one different: no repetition to fold away. */
  std::string rows;
  rows.reserve (10 * 1024 * 1024 + 4096);
  for (guint i = 0; rows.size () < 10 * 1024 * 1024; i++) {
    gchar *row = g_strdup_printf (
        R"(%s{"start":"00:01.%03u","end":"00:01.%03u","text":"Filler number %u of a runaway answer.","voice":1})",
        i ? "," : "", 100 + i % 800, 101 + i % 800, i);
    rows += row;
    g_free (row);
  }
  rows = R"({"start":"00:00.200","end":"00:00.600","text":"Good morning.","voice":1},)" + rows;
  const gint64 t0 = g_get_monotonic_time ();
  Emulator emu (fault_script (seg0_answer_fault (rows)));
  RunSpec spec;
  RunResult r = run_transcriber (emu, spec);
  const double seconds = (g_get_monotonic_time () - t0) / 1e6;
  /* Either cues or a warning and a gap for segment 0, and the rest fine. */
  if (r.status (0) == "ok")
    check_contract (r, {.seg0_texts = {"Good morning."}, .seg0_partial = true});
  else
    check_contract (r, {.seg0_status = "failed"});
  g_assert_cmpfloat (seconds, <, 30);
}

static void
test_fatal_http_401 ()
{
  RunResult r = run_fatal (R"("faults": [{"match": "generate", "type": "http",
      "status": 401, "grpc_status": "UNAUTHENTICATED",
      "message": "Request had invalid authentication credentials."}])", "");
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "api-key"));
}

static void
test_fatal_http_403 ()
{
  RunResult r = run_fatal (R"("faults": [{"match": "generate", "type": "http",
      "status": 403, "grpc_status": "PERMISSION_DENIED",
      "message": "Method doesn't allow unregistered callers."}])", "");
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "api-key"));
  for (const char *field : {"kind=(string)http", "http-status=(uint)403",
          "api-status=(string)PERMISSION_DENIED"})
    g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), field));
}

static void
test_fatal_invalid_key ()
{
  RunResult r = run_fatal ("", "", "not-the-key");
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "api-key"));
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (),
          "reason=(string)API_KEY_INVALID"));
}

static void
test_fatal_unknown_model ()
{
  RunResult r = run_fatal ("", "model=gemini-0-nonexistent");
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "gemini-0-nonexistent"));
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "model property"));
}

static void
test_input_non_time_segment ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.sources = std::string ("appsrc name=audio format=bytes max-bytes=0 caps=") +
      SPEECH_CAPS + " ! t.audio_sink ";
  RunResult r = run_transcriber (emu, spec);
  g_assert_cmpstr (r.ending.c_str (), ==, "error");
  g_assert_cmpuint (r.transcriber_errors ().size (), ==, 1);
  g_assert_nonnull (strstr (r.transcriber_errors ()[0].c_str (), "TIME"));
  g_assert_cmpuint (r.generate_count (), ==, 0);
}

static void
test_input_video_only_audio_unlinked ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.sources = "videotestsrc num-buffers=62 ! "
      "video/x-raw,width=320,height=240,framerate=10/1 ! t.video_sink ";
  check_video_only (run_transcriber (emu, spec));
}

static void
test_input_video_only_audio_ends_first ()
{
  Emulator emu (fault_script ());
  RunSpec spec;
  spec.sources = std::string ("appsrc name=audio format=time caps=") + SPEECH_CAPS +
      " ! t.audio_sink videotestsrc num-buffers=62 ! "
      "video/x-raw,width=320,height=240,framerate=10/1 ! queue ! t.video_sink ";
  spec.feed = [](GstAppSrc *src) { gst_app_src_end_of_stream (src); };
  check_video_only (run_transcriber (emu, spec));
}

/* After the salvage, the untranscribed rest of the segment is asked again
 * ("Transcribe only the speech from MM:SS"), so a cut answer loses nothing. */
static void
test_max_tokens_re_requests_the_tail ()
{
  /* Cut inside the transcripts table, so rows are missing. One request at
   * a time: the first request is segment 0's and the second its rest. */
  RunResult r = run_with (R"("faults": [{"match": "generate", "nth": 1, "count": 1,
      "type": "max_tokens", "keep_fraction": 0.35}])", "max-concurrent-requests=1");
  check_contract (r, {});
  auto reqs = generate_requests (r.log.get ());
  g_assert_cmpuint (reqs.size (), ==, n_sent (r) + 1);
  g_assert_null (strstr (json_object_get_string_member (reqs[0], "prompt"),
          "Transcribe only the speech from"));
  g_assert_nonnull (strstr (json_object_get_string_member (reqs[1], "prompt"),
          "Transcribe only the speech from"));
  JsonObject *first = json_object_get_object_member (reqs[0], "clip");
  JsonObject *rest = json_object_get_object_member (reqs[1], "clip");
  g_assert_cmpfloat (json_object_get_double_member (first, "start"), ==,
      json_object_get_double_member (rest, "start"));
}

/* A chunk lost on the way: the session is queried and the upload resumes. */
static void
test_connection_dropped_mid_upload_is_retried ()
{
  RunResult r = run_with (R"("file_processing_polls": 0, "faults": [{"match": "upload_chunk",
      "nth": 1, "count": 1, "type": "drop"}])", "max-inline-bytes=0 max-retries=1");
  check_contract (r, {});
  for (guint64 i = 0; i < r.segments.size (); i++) {
    gboolean uploaded = FALSE;
    gst_structure_get_boolean (r.segment (i), "uploaded", &uploaded);
    g_assert_true (uploaded || r.status (i) == "silent");
  }
  g_assert_cmpuint (count_kind (r, "upload_chunk", 0), ==, 1);
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/faults/baseline-every-segment-transcribed",
      test_baseline_every_segment_transcribed);
  g_test_add_func ("/faults/429-storm-honours-retry-info", test_429_storm_honours_retry_info);
  g_test_add_func ("/faults/429-storm-beyond-retries-fails-one-segment",
      test_429_storm_beyond_retries_fails_one_segment);
  g_test_add_func ("/faults/5xx-burst-is-retried", test_5xx_burst_is_retried);
  g_test_add_func ("/faults/5xx-burst-beyond-retries-fails-one-segment",
      test_5xx_burst_beyond_retries_fails_one_segment);
  g_test_add_func ("/faults/stall-past-request-timeout-is-retried",
      test_stall_past_request_timeout_is_retried);
  g_test_add_func ("/faults/stall-on-every-attempt-fails-one-segment",
      test_stall_on_every_attempt_fails_one_segment);
  g_test_add_func ("/faults/connection-dropped-mid-response-is-retried",
      test_connection_dropped_mid_response_is_retried);
  g_test_add_func ("/faults/connection-dropped-on-every-attempt-fails-one-segment",
      test_connection_dropped_on_every_attempt_fails_one_segment);
  g_test_add_func ("/faults/connection-dropped-on-every-upload-fails-one-segment",
      test_connection_dropped_on_every_upload_fails_one_segment);
  g_test_add_func ("/faults/upload-failed-state-fails-one-segment",
      test_upload_failed_state_fails_one_segment);
  g_test_add_func ("/faults/max-tokens-keeps-complete-rows",
      test_max_tokens_keeps_complete_rows);
  g_test_add_func ("/faults/safety-block-is-warning-and-gap", test_safety_block);
  g_test_add_func ("/faults/recitation-block-is-warning-and-gap", test_recitation_block);
  g_test_add_func ("/faults/prompt-blocked-is-warning-and-gap", test_prompt_blocked);
  g_test_add_func ("/faults/empty-candidates-is-warning-and-gap", test_empty_candidates);
  g_test_add_func ("/faults/non-json-text-is-warning-and-gap", test_non_json_text);
  g_test_add_func ("/faults/timecodes-decreasing-made-monotonic", test_timecodes_decreasing);
  g_test_add_func ("/faults/timecodes-all-zero-spread", test_timecodes_all_zero);
  g_test_add_func ("/faults/repetition-loop-folded", test_repetition_loop);
  g_test_add_func ("/faults/voices-missing-from-speakers-table",
      test_voices_missing_from_speakers_table);
  g_test_add_func ("/faults/speakers-never-heard", test_speakers_never_heard);
  g_test_add_func ("/faults/fatal/missing-key-one-clear-error", test_fatal_missing_key);
  g_test_add_func ("/faults/input/caps-change-mid-stream", test_input_caps_change_mid_stream);
  g_test_add_func ("/faults/input/discont-and-timestamp-jump",
      test_input_discont_and_timestamp_jump);
  g_test_add_func ("/faults/input/buffers-without-timestamps",
      test_input_buffers_without_timestamps);
  g_test_add_func ("/faults/input/zero-length-buffers", test_input_zero_length_buffers);
  g_test_add_func ("/faults/input/very-short-stream", test_input_very_short_stream);
  g_test_add_func ("/faults/input/very-long-silence", test_input_very_long_silence);
  g_test_add_func ("/faults/failed-upload-is-deleted", test_failed_upload_is_deleted);
  g_test_add_func ("/faults/timecodes-beyond-segment-clamped", test_timecodes_beyond_segment);
  g_test_add_func ("/faults/timecodes-negative-clamped", test_timecodes_negative);
  g_test_add_func ("/faults/invalid-utf8-replaced", test_invalid_utf8);
  g_test_add_func ("/faults/10mb-response-survived", test_10mb_response);
  g_test_add_func ("/faults/fatal/http-401-one-clear-error", test_fatal_http_401);
  g_test_add_func ("/faults/fatal/http-403-one-clear-error", test_fatal_http_403);
  g_test_add_func ("/faults/fatal/invalid-key-one-clear-error", test_fatal_invalid_key);
  g_test_add_func ("/faults/fatal/unknown-model-one-clear-error", test_fatal_unknown_model);
  g_test_add_func ("/faults/input/non-time-segment-is-an-error", test_input_non_time_segment);
  g_test_add_func ("/faults/input/video-only-audio-unlinked",
      test_input_video_only_audio_unlinked);
  g_test_add_func ("/faults/input/video-only-audio-ends-first",
      test_input_video_only_audio_ends_first);
  g_test_add_func ("/faults/max-tokens-re-requests-the-tail",
      test_max_tokens_re_requests_the_tail);
  g_test_add_func ("/faults/connection-dropped-mid-upload-is-retried",
      test_connection_dropped_mid_upload_is_retried);
  return g_test_run ();
}
