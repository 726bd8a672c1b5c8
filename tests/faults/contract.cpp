/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "contract.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace gemini::test {

std::vector<std::string>
script_texts_in (double start, double end)
{
  std::vector<std::string> out;
  for (const auto &l : fault_lines ())
    if (l.start >= start && l.start < end)
      out.push_back (l.text);
  return out;
}


void
check_contract (const RunResult &r, const Expect &e)
{
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_true (r.eos_event);
  g_assert_cmpuint (r.errors.size (), ==, 0);

  /* Every segment reported once, in order. */
  g_assert_cmpuint (r.segments.size (), >=, 3);
  for (guint64 i = 0; i < r.segments.size (); i++) {
    guint64 idx;
    g_assert_true (gst_structure_get_uint64 (r.segments[i].get (), "segment", &idx));
    g_assert_cmpuint (idx, ==, i);
  }
  const auto [s0, e0] = r.span (0);
  g_assert_cmpfloat (s0, <, 0.01);
  g_assert_cmpfloat (e0, >=, SEG0_END_MIN);
  g_assert_cmpfloat (e0, <=, SEG0_END_MAX);

  guint failed = 0;
  for (guint64 i = 0; i < r.segments.size (); i++) {
    const GstStructure *s = r.segment (i);
    const auto [start, end] = r.span (i);
    const std::string status = r.status (i);
    const std::string error = gst_structure_get_string (s, "error");
    guint n_cues = 0;
    gst_structure_get_uint (s, "cues", &n_cues);
    if (i == 0 && status != "ok") {
      g_assert_cmpstr (status.c_str (), ==, e.seg0_status);
      failed++;
      g_assert_false (error.empty ());
      g_assert_cmpuint (n_cues, ==, 0);
      g_assert_true (r.covered (start, end));
      g_assert_true (std::any_of (r.gaps.begin (), r.gaps.end (), [&](const RecordedGap &g) {
                return (double) (g.start + g.duration) / GST_SECOND >= end - 1e-6
                    && (double) g.start / GST_SECOND < end;}));
      gchar *needle = g_strdup_printf ("Segment %" G_GUINT64_FORMAT " ", i);
      g_assert_true (std::any_of (r.warnings.begin (), r.warnings.end (),
              [&](const std::string &w) { return w.find (needle) != std::string::npos
                  && w.find (error) != std::string::npos;}));
      g_free (needle);
      for (const auto &text : script_texts_in (start, end))
        g_assert_false (r.has_cue_with (text));
      continue;
    }
    if (i == 0)
      g_assert_cmpstr ("ok", ==, e.seg0_status);
    /* A tail without sound is not worth a request. */
    if (status == "silent" && i > 0 && script_texts_in (start, end).empty ()) {
      g_assert_true (r.covered (start, end));
      continue;
    }
    g_assert_cmpstr (status.c_str (), ==, "ok");
    g_assert_cmpstr (error.c_str (), ==, "");
    std::vector<std::string> texts = (i == 0 && !e.seg0_texts.empty ()) ?
        e.seg0_texts : script_texts_in (start, end);
    g_assert_false (texts.empty ());
    g_assert_cmpuint (n_cues, >, 0);
    guint found = 0;
    for (const auto &text : texts) {
      if (r.has_cue_with (text))
        found++;
      else if (!(i == 0 && e.seg0_partial))
        g_error ("segment %" G_GUINT64_FORMAT ": no cue says \"%s\"", i, text.c_str ());
    }
    g_assert_cmpuint (found, >, 0);
  }
  g_assert_cmpuint (r.warnings.size (), ==, failed);

  /* Cues in order, inside the stream, never overlapping. */
  for (size_t i = 0; i < r.cues.size (); i++) {
    g_assert_true (GST_CLOCK_TIME_IS_VALID (r.cues[i].pts));
    g_assert_true (g_utf8_validate (r.cues[i].text.c_str (), -1, nullptr));
    if (i > 0)
      g_assert_cmpuint (r.cues[i].pts, >=, r.cues[i - 1].pts + r.cues[i - 1].duration);
  }
}

RunResult
run_with (const std::string &extra, const std::string &props)
{
  Emulator emu (fault_script (extra));
  RunSpec spec;
  spec.props = props;
  return run_transcriber (emu, spec);
}

/* Seconds between the first and second generate requests. */
double
seconds_between_requests (const RunResult &r, guint a, guint b)
{
  auto reqs = generate_requests (r.log.get ());
  g_assert_cmpuint (reqs.size (), >, b);
  return json_object_get_double_member (reqs[b], "time") -
      json_object_get_double_member (reqs[a], "time");
}

gint64
request_status (const RunResult &r, guint i)
{
  auto reqs = generate_requests (r.log.get ());
  g_assert_cmpuint (reqs.size (), >, i);
  return json_object_get_int_member (reqs[i], "status");
}

/* A model answer for segment 0 made of `rows` (already JSON objects) and
 * the two speakers, as a `text` fault on the first generate request. */
std::string
seg0_answer_fault (const std::string &rows, const std::string &speakers)
{
  const std::string answer = R"({"task1_transcripts":[)" + rows +
      R"(],"task2_speakers":)" + speakers + "}";
  return R"("faults": [{"match": "generate", "nth": 1, "count": 1, "type": "text", "text": )"
      + json_quote (answer) + "}]";
}

/* Segments that were sent (not silent). */
guint
n_sent (const RunResult &r)
{
  guint n = 0;
  for (guint64 i = 0; i < r.segments.size (); i++)
    n += r.status (i) != "silent";
  return n;
}

guint
n_repairs (const RunResult &r, guint64 seg)
{
  const GValue *v = gst_structure_get_value (r.segment (seg), "repairs");
  return v ? gst_value_array_get_size (v) : 0;
}

/* Every cue of segment 0 starts inside its span (a cue may stay on screen
 * past it: at least 1 s, long enough to be read). */
void
check_seg0_cues_inside (const RunResult &r)
{
  const auto [start, end] = r.span (0);
  for (const auto &c : r.cues) {
    const double pts = (double) c.pts / GST_SECOND;
    if (pts >= end)
      continue;
    g_assert_cmpfloat (pts, >=, start);
  }
}


/* Every segment goes through the Files API (max-inline-bytes=0): the
 * 14 MiB inline limit would need minutes of high-bitrate video. */
guint
count_kind (const RunResult &r, const char *kind, gint64 status)
{
  guint n = 0;
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (r.log.get ()),
      "requests");
  for (guint i = 0; i < json_array_get_length (reqs); i++) {
    JsonObject *req = json_array_get_object_element (reqs, i);
    if (g_str_equal (json_object_get_string_member (req, "kind"), kind)
        && (status < 0 || json_object_get_int_member (req, "status") == status))
      n++;
  }
  return n;
}

/* Fatal: one error, what to do in its text, and no second request for
 * the same segment. Four requests may be in flight when it happens. */
RunResult
run_fatal (const std::string &extra, const std::string &props,
    const std::string &api_key)
{
  Emulator emu (fault_script (extra));
  RunSpec spec;
  spec.api_key = api_key;
  spec.props = "max-concurrent-requests=4 max-retries=4 " + props;
  RunResult r = run_transcriber (emu, spec);
  g_assert_cmpstr (r.ending.c_str (), !=, "timeout");
  g_assert_cmpstr (r.ending.c_str (), !=, "eos");
  g_assert_cmpuint (r.transcriber_errors ().size (), ==, 1);
  g_assert_cmpuint (r.generate_count (), <=, 4);
  std::set<double> clips;
  for (JsonObject *req : generate_requests (r.log.get ())) {
    /* A request refused before its body was read (bad key) has no clip. */
    if (!json_object_has_member (req, "clip")
        || JSON_NODE_HOLDS_NULL (json_object_get_member (req, "clip")))
      continue;
    JsonObject *clip = json_object_get_object_member (req, "clip");
    const double start = json_object_get_double_member (clip, "start");
    g_assert_true (clips.insert (start).second);
  }
  return r;
}

/* Pushes fault_lines() as speech, transformed per buffer by `tweak`
 * (which may return false to skip a buffer). */
void
feed_tweaked (GstAppSrc *src, const std::function<bool (GstBuffer *, guint)> &tweak)
{
  guint i = 0;
  for (GstClockTime t = 0; t < FAULT_SECONDS * GST_SECOND; t += 100 * GST_MSECOND, i++) {
    GstBuffer *buf = speech_buffer (fault_lines (), t);
    if (tweak (buf, i))
      gst_app_src_push_buffer (src, buf);
    else
      gst_buffer_unref (buf);
  }
  gst_app_src_end_of_stream (src);
}

void
check_all_lines_near_their_time (const RunResult &r, double shift_from,
    double shift)
{
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_cmpuint (r.warnings.size (), ==, 0);
  g_assert_cmpuint (r.errors.size (), ==, 0);
  for (const auto &l : fault_lines ()) {
    const double expected = l.start + (l.start >= shift_from ? shift : 0);
    bool found = false;
    for (const auto &c : r.cues) {
      if (c.text.find (l.text) == std::string::npos)
        continue;
      found = true;
      g_assert_cmpfloat (std::fabs ((double) c.pts / GST_SECOND - expected), <=, 0.3);
    }
    if (!found)
      g_error ("no cue says \"%s\"", l.text);
  }
}

void
check_video_only (const RunResult &r)
{
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_cmpuint (r.errors.size (), ==, 0);
  g_assert_cmpuint (r.warnings.size (), ==, 0);
  g_assert_cmpuint (r.segments.size (), >=, 2);
  /* Where a cut falls depends on when the element learns there is no
   * audio: a sliver without a sampled frame is not worth a request. */
  guint sent = 0;
  for (guint64 i = 0; i < r.segments.size (); i++) {
    guint64 duration = 0;
    gst_structure_get_uint64 (r.segment (i), "duration", &duration);
    if (r.status (i) == "silent")
      g_assert_cmpuint (duration, <, 1 * GST_SECOND);
    else
      g_assert_true (r.status (i) == "ok");
    sent += r.status (i) == "ok";
  }
  auto reqs = generate_requests (r.log.get ());
  g_assert_cmpuint (reqs.size (), ==, sent);
  for (JsonObject *req : reqs) {
    JsonObject *m = json_array_get_object_element (json_object_get_array_member (req,
            "media"), 0);
    g_assert_true (json_object_get_boolean_member (m, "has_video"));
    g_assert_false (json_object_get_boolean_member (m, "has_audio"));
  }
  /* Pictures alone: the emulator still answers from its timeline. */
  for (const auto &l : fault_lines ()) {
    if (r.has_cue_with (l.text))
      continue;
    std::string segments;
    for (guint64 i = 0; i < r.segments.size (); i++) {
      const auto [start, end] = r.span (i);
      segments += " [" + std::to_string (start) + ", " + std::to_string (end) + ") "
          + r.status (i) + ";";
    }
    g_error ("no cue says \"%s\" (at %.1f s); segments:%s", l.text,
        l.start, segments.c_str ());
  }
}

}  // namespace gemini::test
