/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* geminitranscriber under GstHarness: event order, speaker events and meta,
 * live latency and deadlines on a test clock, non-live backpressure, EOS
 * drain, flush and state changes with requests in flight, fatal and
 * per-segment errors. The Gemini emulator answers every request. */
/* The C++ headers come first: gstcheck.h defines macros (fail...) that
 * would clash with the standard library's names. */
#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

using namespace gemini::test;
using gemini::GPtr;

namespace {

const std::vector<ScriptLine> &
short_lines ()
{
  static const std::vector<ScriptLine> lines = {
    {0.2, 0.8, "alice", "Good morning."},
    {1.4, 2.0, "bob", "Hello Alice."},
    {2.4, 2.9, "alice", "Let us begin."},
  };
  return lines;
}
constexpr double SHORT_SECONDS = 3.2;

GstHarness *
new_harness (const Emulator &emu, guint segment_ms, bool live,
    const char *first_prop = nullptr, ...)
{
  GstElement *e = gst_element_factory_make ("geminitranscriber", nullptr);
  fail_unless (e != nullptr);
  g_object_set (e, "api-key", "test-key", "api-endpoint", emu.url ().c_str (),
      "segment-duration", segment_ms, "latency", 2000, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "mode", "streaming");
  if (first_prop) {
    va_list args;
    va_start (args, first_prop);
    g_object_set_valist (G_OBJECT (e), first_prop, args);
    va_end (args);
  }
  GstHarness *h = gst_harness_new_with_element (e, "audio_sink", "src");
  gst_object_unref (e);
  gst_harness_set_live (h, live);
  gst_harness_set_src_caps_str (h, SPEECH_CAPS);
  return h;
}

void
push_speech (GstHarness *h, const std::vector<ScriptLine> &lines, double from,
    double to)
{
  for (GstClockTime t = from * GST_SECOND; t < to * GST_SECOND;
      t += 100 * GST_MSECOND)
    fail_unless_equals_int (gst_harness_push (h, speech_buffer (lines, t)),
        GST_FLOW_OK);
}

/* Waits (bounded) until the emulator has seen `n` generate requests. */
bool
wait_for_requests (const Emulator &emu, guint n, guint timeout_ms = 20000)
{
  for (guint waited = 0; waited < timeout_ms; waited += 20) {
    GPtr<JsonNode> log = emu.log ();
    if (generate_requests (log.get ()).size () >= n)
      return true;
    g_usleep (20000);
  }
  return false;
}

/* Not live, 1.25 s of tone pushed: the first segment is cut and its
 * request is at the emulator (which, scripted to stall, never answers). */
GstHarness *
harness_with_request_in_flight (const Emulator &emu)
{
  GstHarness *h = new_harness (emu, 1000, false, NULL);
  const std::vector<ScriptLine> tone = {{0.0, 10.0, "alice", "Hello."}};
  push_speech (h, tone, 0, 1.5);
  fail_unless (wait_for_requests (emu, 1));
  return h;
}

/* Pulls events until one of `type`, dropping the others into `seen`. */
GstEvent *
pull_event_of_type (GstHarness *h, GstEventType type,
    std::vector<GstEventType> *seen = nullptr)
{
  while (GstEvent *ev = gst_harness_pull_event (h)) {
    if (GST_EVENT_TYPE (ev) == type)
      return ev;
    if (seen)
      seen->push_back (GST_EVENT_TYPE (ev));
    gst_event_unref (ev);
  }
  return nullptr;
}

/* Pulls events until EOS comes out of the element: everything before it
 * has been pushed. */
void
wait_for_eos (GstHarness *h)
{
  GstEvent *eos = pull_event_of_type (h, GST_EVENT_EOS);
  fail_unless (eos != nullptr);
  gst_event_unref (eos);
}

}  // namespace

GST_START_TEST (test_sticky_events_precede_data)
{
  Emulator emu (interview_script (short_lines ()));
  GstHarness *h = new_harness (emu, 1000, false, "language", "en-GB", NULL);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());

  GstEvent *ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_STREAM_START);
  GstStreamFlags flags;
  gst_event_parse_stream_flags (ev, &flags);
  fail_unless (flags & GST_STREAM_FLAG_SPARSE);
  gst_event_unref (ev);

  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_CAPS);
  GstCaps *caps;
  gst_event_parse_caps (ev, &caps);
  fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure
          (caps, 0), "format"), "utf8");
  gst_event_unref (ev);

  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_SEGMENT);
  gst_event_unref (ev);

  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_TAG);
  GstTagList *tags;
  gst_event_parse_tag (ev, &tags);
  gchar *lang = nullptr;
  fail_unless (gst_tag_list_get_string (tags, GST_TAG_LANGUAGE_CODE, &lang));
  fail_unless_equals_string (lang, "en");
  g_free (lang);
  gst_event_unref (ev);

  /* The first cue's buffer only comes after all of that. */
  GstBuffer *buf = gst_harness_pull (h);
  fail_unless (buf != nullptr);
  fail_unless (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Without the `language` property the tag follows what the model heard. */
GST_START_TEST (test_spoken_language_becomes_the_language_tag)
{
  Emulator emu (interview_script (short_lines ()));
  GstHarness *h = new_harness (emu, 1000, false, NULL);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());

  bool first_tag = true;
  std::string language;
  while (GstEvent *ev = gst_harness_pull_event (h)) {
    const GstEventType type = GST_EVENT_TYPE (ev);
    if (type == GST_EVENT_TAG) {
      GstTagList *tags;
      gchar *code = nullptr;
      gst_event_parse_tag (ev, &tags);
      const bool has_code = gst_tag_list_get_string (tags, GST_TAG_LANGUAGE_CODE, &code);
      /* Nothing is known before the first answer. */
      if (first_tag)
        fail_if (has_code);
      else if (has_code)
        language = code;
      g_free (code);
      first_tag = false;
    }
    gst_event_unref (ev);
    if (type == GST_EVENT_EOS)
      break;
  }
  fail_unless_equals_string (language.c_str (), "en");
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_speaker_change_events_and_meta)
{
  Emulator emu (interview_script (short_lines ()));
  GstHarness *h = new_harness (emu, 1000, false, NULL);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());

  std::vector<std::string> speakers;
  std::vector<std::string> performers;
  while (GstEvent *ev = gst_harness_pull_event (h)) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      const GstStructure *s = gst_event_get_structure (ev);
      fail_unless (gst_structure_has_name (s, "rstranscribe/speaker-change"));
      speakers.push_back (gst_structure_get_string (s, "speaker"));
    } else if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
      GstTagList *tags;
      gchar *performer = nullptr;
      gst_event_parse_tag (ev, &tags);
      if (gst_tag_list_get_string (tags, GST_TAG_PERFORMER, &performer)) {
        gchar *id = nullptr;
        fail_unless (gst_tag_list_get_string (tags, "gemini-speaker-id", &id));
        performers.push_back (performer);
        g_free (performer);
        g_free (id);
      }
    }
    const bool eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
    if (eos)
      break;
  }
  std::vector<std::string> expected = {"Alice Martin", "Bob Chen", "Alice Martin"};
  fail_unless (speakers == expected);
  fail_unless (performers == expected);

  guint n = gst_harness_buffers_in_queue (h);
  fail_unless_equals_int (n, 3);
  for (guint i = 0; i < n; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstCustomMeta *meta = gst_buffer_get_custom_meta (buf, "GeminiTranscriptMeta");
    fail_unless (meta != nullptr);
    GstStructure *s = gst_custom_meta_get_structure (meta);
    fail_unless_equals_string (gst_structure_get_string (s, "name"),
        expected[i].c_str ());
    fail_unless_equals_string (gst_structure_get_string (s, "company"),
        i == 1 ? "Globex" : "Acme Media");
    fail_unless (g_str_has_prefix (gst_structure_get_string (s, "speaker-id"), "S"));
    fail_unless (std::fabs ((double) GST_BUFFER_PTS (buf) / GST_SECOND -
            short_lines ()[i].start) <= 0.501);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
}
GST_END_TEST;

/* stream-cues: the rows of a slowly streamed answer come out as cues before
 * the answer is complete, in order, without a speaker (the speakers table
 * comes after the rows). */
GST_START_TEST (test_stream_cues_before_the_answer_ends)
{
  Emulator emu (interview_script (short_lines (), R"("output_chars_per_second": 100)"));
  GstHarness *h = new_harness (emu, 10000, false, "stream-cues", TRUE, NULL);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());

  const gint64 t0 = g_get_monotonic_time ();
  GstBuffer *first = gst_harness_pull (h);
  fail_unless (first != nullptr);
  const gint64 first_at = g_get_monotonic_time ();
  wait_for_eos (h);
  const gint64 eos_at = g_get_monotonic_time ();
  /* The answer (about 400 characters) takes 4 s to generate; its first row
   * is final after the second one, about half-way. */
  fail_unless (first_at - t0 + G_USEC_PER_SEC < eos_at - t0,
      "first cue after %" G_GINT64_FORMAT " ms, EOS after %" G_GINT64_FORMAT " ms",
      (first_at - t0) / 1000, (eos_at - t0) / 1000);

  std::vector<GstBuffer *> cues = {first};
  while (gst_harness_buffers_in_queue (h) > 0)
    cues.push_back (gst_harness_pull (h));
  fail_unless_equals_int (cues.size (), short_lines ().size ());
  for (gsize i = 0; i < cues.size (); i++) {
    GstCustomMeta *meta = gst_buffer_get_custom_meta (cues[i], "GeminiTranscriptMeta");
    GstStructure *s = gst_custom_meta_get_structure (meta);
    fail_unless_equals_string (gst_structure_get_string (s, "text"), short_lines ()[i].text);
    fail_unless_equals_string (gst_structure_get_string (s, "speaker-id"), "");
    fail_unless_equals_string (gst_structure_get_string (s, "name"), "?");
    fail_unless (std::fabs ((double) GST_BUFFER_PTS (cues[i]) / GST_SECOND -
            short_lines ()[i].start) <= 0.501);
    gst_buffer_unref (cues[i]);
  }
  GPtr<JsonNode> log = emu.log ();
  auto requests = generate_requests (log.get ());
  fail_unless_equals_int (requests.size (), 1);
  fail_unless_equals_string (json_object_get_string_member (requests[0], "kind"), "stream");
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Segments too large to inline are uploaded, used by reference, deleted. */
GST_START_TEST (test_files_api_when_over_the_inline_limit)
{
  Emulator emu (interview_script (short_lines ()));
  GstHarness *h = new_harness (emu, 1000, false, "max-inline-bytes", 0,
      "max-concurrent-requests", 1, NULL);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());
  wait_for_eos (h);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), short_lines ().size ());

  GPtr<JsonNode> log = emu.log ();
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (log.get ()),
      "requests");
  std::vector<std::string> kinds;
  for (guint i = 0; i < json_array_get_length (reqs); i++)
    kinds.push_back (json_object_get_string_member (
            json_array_get_object_element (reqs, i), "kind"));
  auto count = [&](const char *k) {
    return std::count (kinds.begin (), kinds.end (), std::string (k));
  };
  const auto generates = generate_requests (log.get ());
  fail_unless (generates.size () >= 2);
  fail_unless_equals_int (count ("upload_start"), generates.size ());
  fail_unless_equals_int (count ("file_delete"), generates.size ());
  fail_unless (count ("file_get") >= (long) generates.size ());
  for (JsonObject *r : generates) {
    JsonObject *part = json_array_get_object_element (json_object_get_array_member (
            json_array_get_object_element (json_object_get_array_member (
                    json_object_get_object_member (r, "body"), "contents"), 0),
            "parts"), 0);
    fail_unless (json_object_has_member (part, "fileData"));
  }
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_live_latency_query)
{
  Emulator emu;
  GstHarness *h = new_harness (emu, 1000, true, NULL);
  gst_harness_set_upstream_latency (h, 20 * GST_MSECOND);
  /* upstream + the longest segment (target + a quarter of it, when no
   * quiet point comes) + the request allowance */
  fail_unless_equals_uint64 (gst_harness_query_latency (h),
      20 * GST_MSECOND + 1250 * GST_MSECOND + 2000 * GST_MSECOND);
  gst_harness_teardown (h);

  h = new_harness (emu, 1000, false, NULL);
  gst_harness_set_upstream_latency (h, 20 * GST_MSECOND);
  fail_unless_equals_uint64 (gst_harness_query_latency (h), 20 * GST_MSECOND);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_live_gap_on_deadline)
{
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "type": "stall"}])"));
  GstHarness *h = new_harness (emu, 1000, true, NULL);
  gst_harness_use_testclock (h);
  gst_harness_set_time (h, 0);

  /* Continuous tone: no quiet point, so the segment is cut at the first
   * buffer past target + window (1.25 s), which starts at 1.3 s. */
  const std::vector<ScriptLine> tone = {{0.0, 10.0, "alice", "Hello."}};
  push_speech (h, tone, 0, 1.5);
  fail_unless (wait_for_requests (emu, 1));

  /* Before the deadline nothing is given up: the reported latency (the
   * longest segment, 1.25 s, + 2 s) counted from the segment's start. */
  gst_harness_set_time (h, 3200 * GST_MSECOND);
  g_usleep (300000);
  std::vector<GstEventType> before;
  while (GstEvent *ev = gst_harness_try_pull_event (h)) {
    before.push_back (GST_EVENT_TYPE (ev));
    gst_event_unref (ev);
  }
  fail_unless (std::find (before.begin (), before.end (), GST_EVENT_GAP) ==
      before.end ());

  gst_harness_set_time (h, 3250 * GST_MSECOND);
  GstEvent *gap = pull_event_of_type (h, GST_EVENT_GAP, &before);
  fail_unless (gap != nullptr);
  GstClockTime ts, dur;
  gst_event_parse_gap (gap, &ts, &dur);
  fail_unless_equals_uint64 (ts, 0);
  fail_unless_equals_uint64 (ts + dur, 1300 * GST_MSECOND);
  gst_event_unref (gap);
  fail_unless (std::find (before.begin (), before.end (), GST_EVENT_SEGMENT) !=
      before.end ());
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A segment that missed its deadline while waiting for a worker is never
 * sent: its gap is already downstream. */
GST_START_TEST (test_live_late_segment_is_not_sent)
{
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "type": "stall"}])"));
  GstHarness *h = new_harness (emu, 1000, true, "max-concurrent-requests", 1,
      "request-timeout", 1000, "max-retries", 0, NULL);
  gst_harness_use_testclock (h);
  gst_harness_set_time (h, 0);

  /* Two segments cut (at 1.3 s and 2.6 s); the first one's request stalls
   * and holds the only worker. */
  const std::vector<ScriptLine> tone = {{0.0, 10.0, "alice", "Hello."}};
  push_speech (h, tone, 0, 2.8);
  fail_unless (wait_for_requests (emu, 1));

  /* Both deadlines pass before the stalled request times out. */
  gst_harness_set_time (h, 5 * GST_SECOND);
  guint gaps = 0;
  while (gaps < 2) {
    GstEvent *gap = pull_event_of_type (h, GST_EVENT_GAP);
    fail_unless (gap != nullptr);
    gst_event_unref (gap);
    gaps++;
  }
  /* The worker is free again after the 1 s timeout; the late segment must
   * not be sent then. */
  g_usleep (1500000);
  GPtr<JsonNode> log = emu.log ();
  fail_unless_equals_int (generate_requests (log.get ()).size (), 1);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_nonlive_backpressure_at_in_flight_limit)
{
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "type": "delay", "ms": 1500}])"));
  GstHarness *h = new_harness (emu, 1000, false, "max-concurrent-requests", 1,
      NULL);

  /* Tone all along: a segment every 1.25 s; 5 s of input = 4 segments. */
  const std::vector<ScriptLine> tone = {{0.0, 10.0, "alice", "Hello."}};
  std::atomic<guint> pushed{0};
  std::thread pusher ([&] {
        for (GstClockTime t = 0; t < 5 * GST_SECOND; t += 100 * GST_MSECOND) {
          gst_harness_push (h, speech_buffer (tone, t));
          pushed++;
        }
        gst_harness_push_event (h, gst_event_new_eos ());
      });

  /* The first segment is in flight and the second one is cut: upstream
   * must be waiting, not racing ahead to the end of the input. */
  g_usleep (1000000);
  fail_unless (pushed.load () < 50, "upstream was not blocked (%u pushed)",
      pushed.load ());

  wait_for_eos (h);
  pusher.join ();
  fail_unless_equals_int (pushed.load (), 50);

  /* Never two requests at once: each arrived after the previous answer. */
  GPtr<JsonNode> log = emu.log ();
  auto reqs = generate_requests (log.get ());
  fail_unless (reqs.size () >= 4);
  for (size_t i = 1; i < reqs.size (); i++)
    fail_unless (json_object_get_double_member (reqs[i], "time") -
        json_object_get_double_member (reqs[i - 1], "time") >= 1.45);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_eos_drains_requests_in_flight)
{
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "type": "delay", "ms": 800}])"));
  GstHarness *h = new_harness (emu, 1000, false, NULL);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());

  wait_for_eos (h);
  /* Every cue went out before EOS. */
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), short_lines ().size ());
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_flush_cancels_request)
{
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "type": "stall"}])"));
  GstHarness *h = harness_with_request_in_flight (emu);

  const gint64 t0 = g_get_monotonic_time ();
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  fail_unless (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC);

  /* After the flush the element starts over with the new data. */
  emu.set_script (interview_script (short_lines ()));
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());
  wait_for_eos (h);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), short_lines ().size ());
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_playing_to_null_mid_request)
{
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "type": "stall"}])"));
  GstHarness *h = harness_with_request_in_flight (emu);

  const gint64 t0 = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* timing=audio: each cue starts on its tone, though the emulated model
 * writes whole seconds of the segment; timing=model: where it wrote. The
 * transcript of gemini-segment carries both times either way. */
GST_START_TEST (test_cue_times_from_the_audio)
{
  const auto &lines = interview_lines ();
  for (const char *timing : {"audio", "model"}) {
    const bool audio = g_str_equal (timing, "audio");
    Emulator emu (interview_script (lines));
    GstHarness *h = new_harness (emu, 5000, false, NULL);
    gst_util_set_object_arg (G_OBJECT (h->element), "timing", timing);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    push_speech (h, lines, 0, INTERVIEW_SECONDS);
    gst_harness_push_event (h, gst_event_new_eos ());
    wait_for_eos (h);

    fail_unless_equals_int (gst_harness_buffers_in_queue (h), lines.size ());
    guint off_by_more = 0;
    GstClockTime last_end = 0;
    for (const auto &line : lines) {
      GstBuffer *cue = gst_harness_pull (h);
      const GstClockTime truth = (GstClockTime) (line.start * GST_SECOND);
      const GstClockTime d = GST_BUFFER_PTS (cue) > truth ? GST_BUFFER_PTS (cue) - truth
          : truth - GST_BUFFER_PTS (cue);
      if (audio)
        fail_unless (d <= 10 * GST_MSECOND, "cue at %" GST_TIME_FORMAT " for a tone at %"
            GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (cue)), GST_TIME_ARGS (truth));
      off_by_more += d > 100 * GST_MSECOND;
      /* Two frames between cues (80 ms without video). */
      fail_unless (GST_BUFFER_PTS (cue) >= last_end + 80 * GST_MSECOND || last_end == 0,
          "%s: cue at %" GST_TIME_FORMAT " after one until %" GST_TIME_FORMAT, timing,
          GST_TIME_ARGS (GST_BUFFER_PTS (cue)), GST_TIME_ARGS (last_end));
      last_end = GST_BUFFER_PTS (cue) + GST_BUFFER_DURATION (cue);
      gst_buffer_unref (cue);
    }
    if (!audio)
      fail_unless (off_by_more >= 4, "only %u model times off", off_by_more);

    guint moved = 0, rows = 0;
    while (GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) {
      const GstStructure *st = gst_message_get_structure (m);
      const gchar *json = gst_structure_has_name (st, "gemini-segment")
          ? gst_structure_get_string (st, "transcript") : nullptr;
      GPtr<JsonParser> parser (json_parser_new ());
      if (json && json_parser_load_from_data (parser.get (), json, -1, nullptr)) {
        JsonArray *list = json_object_get_array_member (json_node_get_object
            (json_parser_get_root (parser.get ())), "transcripts");
        for (guint i = 0; i < json_array_get_length (list); i++) {
          JsonObject *row = json_array_get_object_element (list, i);
          rows++;
          moved += json_object_get_int_member (row, "start")
              != json_object_get_int_member (row, "model_start");
        }
      }
      gst_message_unref (m);
    }
    fail_unless_equals_int (rows, lines.size ());
    if (audio)
      fail_unless (moved >= 4, "only %u rows moved", moved);
    else
      fail_unless_equals_int (moved, 0);
    gst_element_set_bus (h->element, nullptr);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

GST_START_TEST (test_failed_segment_is_warning_and_gap)
{
  /* The first request fails for good (no retries); the next ones work. */
  Emulator emu (interview_script (short_lines (),
          R"("faults": [{"match": "generate", "nth": 1, "count": 1, "type": "http",
               "status": 500, "grpc_status": "INTERNAL", "message": "boom"}])"));
  /* One request at a time, so that "the first request" is segment 0's. */
  GstHarness *h = new_harness (emu, 1000, false, "max-retries", 0,
      "max-concurrent-requests", 1, NULL);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  push_speech (h, short_lines (), 0, SHORT_SECONDS);
  gst_harness_push_event (h, gst_event_new_eos ());

  GstEvent *gap = pull_event_of_type (h, GST_EVENT_GAP);
  fail_unless (gap != nullptr);
  GstClockTime ts, dur;
  gst_event_parse_gap (gap, &ts, &dur);
  fail_unless_equals_uint64 (ts, 0);
  gst_event_unref (gap);
  wait_for_eos (h);
  /* The first line was in the failed segment; the others came through. */
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), short_lines ().size () - 1);

  GstMessage *warning = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (warning != nullptr);
  gst_message_unref (warning);
  bool failed_reported = false;
  while (GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, "gemini-segment") &&
        g_str_equal (gst_structure_get_string (s, "status"), "failed")) {
      failed_reported = true;
      fail_unless (strstr (gst_structure_get_string (s, "error"), "boom"));
    }
    gst_message_unref (m);
  }
  fail_unless (failed_reported);
  gst_element_set_bus (h->element, nullptr);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* The error an element with no credentials posts going to PAUSED. */
static std::string
start_error (GstElement *e)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != nullptr);
  GError *err = nullptr;
  gst_message_parse_error (msg, &err, nullptr);
  std::string text = err->message;
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, nullptr);
  gst_object_unref (bus);
  return text;
}

GST_START_TEST (test_missing_key_is_a_clear_error)
{
  g_unsetenv ("GEMINI_API_KEY");
  g_unsetenv ("GOOGLE_API_KEY");
  GstElement *e = gst_element_factory_make ("geminitranscriber", nullptr);
  const std::string error = start_error (e);
  fail_unless (error.find ("GEMINI_API_KEY") != std::string::npos, "%s", error.c_str ());
  fail_unless (error.find ("api-key") != std::string::npos, "%s", error.c_str ());
  gst_object_unref (e);
}
GST_END_TEST;

/* As in the SDKs, GOOGLE_GENAI_USE_VERTEXAI chooses Vertex when the vertex
 * property was never set, and only then. */
GST_START_TEST (test_vertex_from_the_environment)
{
  g_unsetenv ("GEMINI_API_KEY");
  g_unsetenv ("GOOGLE_API_KEY");
  g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", "True", TRUE);
  GstElement *e = gst_element_factory_make ("geminitranscriber", nullptr);
  std::string error = start_error (e);
  fail_unless (error.find ("Vertex AI credentials") != std::string::npos, "%s", error.c_str ());
  gst_object_unref (e);

  e = gst_element_factory_make ("geminitranscriber", nullptr);
  g_object_set (e, "vertex", FALSE, nullptr);
  error = start_error (e);
  fail_unless (error.find ("GEMINI_API_KEY") != std::string::npos, "%s", error.c_str ());
  gst_object_unref (e);
  g_unsetenv ("GOOGLE_GENAI_USE_VERTEXAI");
}
GST_END_TEST;

GST_START_TEST (test_unknown_model_is_fatal_without_retries)
{
  Emulator emu (interview_script (short_lines ()));
  GstHarness *h = new_harness (emu, 1000, false, "model", "gemini-0-nonexistent",
      NULL);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  const std::vector<ScriptLine> tone = {{0.0, 10.0, "alice", "Hello."}};
  push_speech (h, tone, 0, 1.5);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND,
      GST_MESSAGE_ERROR);
  fail_unless (msg != nullptr);
  GError *err = nullptr;
  gst_message_parse_error (msg, &err, nullptr);
  fail_unless (strstr (err->message, "gemini-0-nonexistent") != nullptr, "%s",
      err->message);
  g_error_free (err);
  gst_message_unref (msg);

  GPtr<JsonNode> log = emu.log ();
  fail_unless_equals_int (generate_requests (log.get ()).size (), 1);
  gst_element_set_bus (h->element, nullptr);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static Suite *
geminitranscriber_suite (void)
{
  Suite *s = suite_create ("geminitranscriber");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_sticky_events_precede_data);
  tcase_add_test (tc, test_spoken_language_becomes_the_language_tag);
  tcase_add_test (tc, test_speaker_change_events_and_meta);
  tcase_add_test (tc, test_stream_cues_before_the_answer_ends);
  tcase_add_test (tc, test_files_api_when_over_the_inline_limit);
  tcase_add_test (tc, test_live_latency_query);
  tcase_add_test (tc, test_live_gap_on_deadline);
  tcase_add_test (tc, test_live_late_segment_is_not_sent);
  tcase_add_test (tc, test_nonlive_backpressure_at_in_flight_limit);
  tcase_add_test (tc, test_eos_drains_requests_in_flight);
  tcase_add_test (tc, test_flush_cancels_request);
  tcase_add_test (tc, test_playing_to_null_mid_request);
  tcase_add_test (tc, test_failed_segment_is_warning_and_gap);
  tcase_add_test (tc, test_cue_times_from_the_audio);
  tcase_add_test (tc, test_missing_key_is_a_clear_error);
  tcase_add_test (tc, test_vertex_from_the_environment);
  tcase_add_test (tc, test_unknown_model_is_fatal_without_retries);
  return s;
}

GST_CHECK_MAIN (geminitranscriber);
