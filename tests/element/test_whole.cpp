/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mode=whole against the Gemini emulator: a generated 20-minute panel whose
 * names are on screen only during the first minute. Streaming segments
 * would never see them again; the whole-file request (or the speakers
 * request in front of windows) names every voice to the end. */
#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common.h"

#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

using namespace gemini::test;
using gemini::GPtr;

namespace {

constexpr double PANEL_SECONDS = 20 * 60;
constexpr double LINE_EVERY = 5.0;
constexpr double LINE_LENGTH = 2.5;
constexpr guint TIMEOUT_S = 300;

struct Person {
  const char *id;
  const char *name;
  const char *company;
};

const Person PEOPLE[] = {
  {"alice", "Alice Martin", "Acme Media"},
  {"bob", "Bob Chen", "Globex"},
  {"carol", "Carol Diaz", "Initech"},
};

/* A line every five seconds; Carol joins half way. */
std::vector<ScriptLine>
panel_lines ()
{
  static std::vector<std::string> texts;
  std::vector<ScriptLine> lines;
  const int n = (int) ((PANEL_SECONDS - 3) / LINE_EVERY);
  texts.resize (n);
  for (int i = 0; i < n; i++) {
    const double start = 2.0 + i * LINE_EVERY;
    const int speakers = start < PANEL_SECONDS / 2 ? 2 : 3;
    texts[i] = "Panel line " + std::to_string (i + 1) + ".";
    lines.push_back ({start, start + LINE_LENGTH, PEOPLE[i % speakers].id, texts[i].c_str ()});
  }
  return lines;
}

std::string
panel_script (const std::vector<ScriptLine> &lines, const std::string &extra)
{
  std::string s = R"({"transcript": {"shuffle_voices": true, "speakers": [)";
  for (const Person &p : PEOPLE) {
    gchar *row = g_strdup_printf (R"(%s{"id": "%s", "name": "%s", "company": "%s",
        "position": "?", "role_in_video": "panelist", "visible_from": 0, "visible_until": 60})",
        &p == PEOPLE ? "" : ",", p.id, p.name, p.company);
    s += row;
    g_free (row);
  }
  s += R"(], "utterances": [)";
  for (size_t i = 0; i < lines.size (); i++) {
    gchar *row = g_strdup_printf (R"(%s{"start": %.3f, "end": %.3f, "speaker": "%s", "text": "%s"})",
        i ? "," : "", lines[i].start, lines[i].end, lines[i].speaker, lines[i].text);
    s += row;
    g_free (row);
  }
  s += "]}";
  if (!extra.empty ())
    s += ", " + extra;
  return s + "}";
}

/* Tone while a line is spoken, silence between: found in O(1) per buffer,
 * the panel is long. */
GstBuffer *
panel_audio (GstClockTime pts)
{
  constexpr int rate = 16000;
  constexpr gsize samples = rate / 10;
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, samples * 2, nullptr);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  auto *out = reinterpret_cast<gint16 *> (map.data);
  for (gsize i = 0; i < samples; i++) {
    const double t = (double) pts / GST_SECOND + (double) i / rate;
    const double into = std::fmod (t - 2.0, LINE_EVERY);
    const bool speaking = t >= 2.0 && into < LINE_LENGTH && t < PANEL_SECONDS - 1;
    out[i] = speaking ? (gint16) (12000 * std::sin (2 * G_PI * 440 * t)) : 0;
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = 100 * GST_MSECOND;
  return buf;
}

GstElement *
panel_pipeline (const Emulator &emu, const std::string &props, bool with_video = true)
{
  const guint first_minute = 2 * 60;
  const guint rest = (guint) (2 * PANEL_SECONDS) - first_minute;
  gchar *video = g_strdup_printf (
      "videotestsrc num-buffers=%u pattern=smpte ! "
      "video/x-raw,width=320,height=180,framerate=2/1 ! "
      "textoverlay text=\"Alice Martin, Acme Media - Bob Chen, Globex - Carol Diaz, Initech\" ! c. "
      "videotestsrc num-buffers=%u pattern=ball ! "
      "video/x-raw,width=320,height=180,framerate=2/1 ! c. "
      "concat name=c ! queue ! t.video_sink ", first_minute, rest);
  gchar *desc = g_strdup_printf (
      "appsrc name=audio format=time max-bytes=0 caps=%s ! queue ! t.audio_sink %s"
      "geminitranscriber name=t api-key=test-key api-endpoint=%s %s ! "
      "appsink name=out sync=false",
      SPEECH_CAPS, with_video ? video : "", emu.url ().c_str (), props.c_str ());
  g_free (video);
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  fail_unless (pipeline != nullptr, "%s", err ? err->message : "");

  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "audio");
  for (GstClockTime t = 0; t < PANEL_SECONDS * GST_SECOND; t += 100 * GST_MSECOND)
    gst_app_src_push_buffer (GST_APP_SRC (src), panel_audio (t));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
  return pipeline;
}

const char *
name_of (const char *id)
{
  for (const Person &p : PEOPLE)
    if (g_str_equal (p.id, id))
      return p.name;
  return "?";
}

void
check_every_line_named (const std::vector<Cue> &cues, const std::vector<ScriptLine> &lines)
{
  size_t next = 0;
  for (const auto &line : lines) {
    /* Cues come in script order: search from the last match on. */
    auto it = std::find_if (cues.begin () + next, cues.end (), [&] (const Cue &c) {
          return c.text.find (line.text) != std::string::npos;});
    fail_unless (it != cues.end (), "\"%s\" is missing", line.text);
    const double pts = (double) it->pts / GST_SECOND;
    fail_unless (std::fabs (pts - line.start) <= 0.501,
        "\"%s\" at %.3f s, script says %.3f s", line.text, pts, line.start);
    fail_unless_equals_string (it->name.c_str (), name_of (line.speaker));
    next = it - cues.begin () + 1;
  }
  fail_unless_equals_int (cues.size (), lines.size ());
}

bool
is_speakers_request (JsonObject *r)
{
  const gchar *prompt = json_object_get_string_member (r, "prompt");
  return strstr (prompt, "keys `language` and `task2_speakers`") != nullptr;
}

const GstStructure *
segment_message (const std::vector<GstStructure *> &messages)
{
  const GstStructure *found = nullptr;
  for (GstStructure *s : messages) {
    if (gst_structure_has_name (s, "gemini-segment")) {
      fail_unless (found == nullptr, "more than one gemini-segment message");
      found = s;
    }
  }
  fail_unless (found != nullptr);
  return found;
}

struct Run {
  std::vector<Cue> cues;
  std::vector<GstStructure *> messages;
  GPtr<JsonNode> log;

  ~Run () {
    for (GstStructure *s : messages)
      gst_structure_free (s);
  }
};

void
run_panel (Emulator &emu, const std::string &props, Run &run, bool with_video = true)
{
  GstElement *pipeline = panel_pipeline (emu, props, with_video);
  CueCollector collector (pipeline);
  std::string error = run_to_eos (pipeline, TIMEOUT_S, &run.messages);
  fail_unless (error.empty (), "%s", error.c_str ());
  gst_object_unref (pipeline);
  run.cues = collector.take ();
  run.log = emu.log ();
}

/* Window edges as the log shows them, from the prompt (cached) or from
 * videoMetadata (uncached): sorted, they must tile [0, end). */
void
check_windows_tile (std::vector<std::pair<double, double>> windows, double end)
{
  std::sort (windows.begin (), windows.end ());
  fail_unless (windows.size () > 1);
  fail_unless (windows.front ().first == 0.0, "first window starts at %f",
      windows.front ().first);
  for (size_t i = 1; i < windows.size (); i++)
    fail_unless (windows[i].first == windows[i - 1].second,
        "window %zu starts at %f, the previous one ends at %f", i, windows[i].first,
        windows[i - 1].second);
  fail_unless (std::fabs (windows.back ().second - end) < 1.0, "last window ends at %f",
      windows.back ().second);
}

/* The windows the requests asked for in words (the log's `clip`: from, and
 * until but for the last), the speakers request left out. */
std::vector<std::pair<double, double>>
windows_in_words (const std::vector<JsonObject *> &generates)
{
  std::vector<std::pair<double, double>> windows;
  for (JsonObject *r : generates) {
    if (is_speakers_request (r))
      continue;
    JsonObject *clip = json_object_get_object_member (r, "clip");
    windows.emplace_back (json_object_get_double_member (clip, "from"),
        json_object_has_member (clip, "until") ?
        json_object_get_double_member (clip, "until") : PANEL_SECONDS);
  }
  return windows;
}

}  // namespace

GST_START_TEST (test_whole_file_one_request_names_everyone)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines, ""));
  Run run;
  run_panel (emu, "", run);     /* mode=auto: a file, so whole */

  check_every_line_named (run.cues, lines);
  fail_unless_equals_int (log_entries (run.log.get (), "upload_start").size (), 1);
  fail_unless (log_entries (run.log.get (), "upload_chunk").size () >= 1);
  fail_unless_equals_int (log_entries (run.log.get (), "generate").size (), 1);
  fail_unless_equals_int (log_entries (run.log.get (), "cache_create").size (), 0);
  fail_unless_equals_int (log_entries (run.log.get (), "file_delete").size (), 1);

  JsonObject *req = log_entries (run.log.get (), "generate")[0];
  JsonObject *m = json_array_get_object_element (json_object_get_array_member (req, "media"), 0);
  fail_unless (std::fabs (json_object_get_double_member (m, "duration_s") - PANEL_SECONDS) < 1.0,
      "the file holds %f s", json_object_get_double_member (m, "duration_s"));
  fail_unless (json_object_get_boolean_member (m, "has_video"));

  const GstStructure *s = segment_message (run.messages);
  fail_unless_equals_string (gst_structure_get_string (s, "mode"), "whole");
  fail_unless_equals_string (gst_structure_get_string (s, "status"), "ok");
  fail_unless_equals_string (gst_structure_get_string (s, "upload-path"), "while-encoding");
  /* the default model, as the answer's modelVersion names it */
  fail_unless_equals_string (gst_structure_get_string (s, "model-version"), "gemini-3.8-flash");
  JsonObject *config = json_object_get_object_member (json_object_get_object_member (req,
          "body"), "generationConfig");
  fail_if (json_object_has_member (config, "temperature"), "temperature sent to Gemini 3");
  fail_if (json_object_has_member (config, "topP"), "topP sent to Gemini 3");
  guint windows = 0;
  fail_unless (gst_structure_get_uint (s, "windows", &windows));
  fail_unless_equals_int (windows, 1);
}
GST_END_TEST;

GST_START_TEST (test_whole_file_windows_share_a_cache)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines, ""));
  Run run;
  run_panel (emu, "mode=whole window-duration=300", run);

  check_every_line_named (run.cues, lines);
  JsonNode *log = run.log.get ();
  fail_unless_equals_int (log_entries (log, "upload_start").size (), 1);
  fail_unless_equals_int (log_entries (log, "cache_create").size (), 1);
  fail_unless_equals_int (log_entries (log, "cache_delete").size (), 1);
  fail_unless_equals_int (log_entries (log, "file_delete").size (), 1);

  JsonObject *create = log_entries (log, "cache_create")[0];
  fail_unless_equals_int (json_object_get_int_member (create, "status"), 200);

  auto generates = log_entries (log, "generate");
  fail_unless_equals_int (generates.size (), 5);
  fail_unless (is_speakers_request (generates[0]), "the speakers request comes first");
  for (JsonObject *r : generates) {
    JsonObject *body = json_object_get_object_member (r, "body");
    fail_unless (json_object_has_member (body, "cachedContent"), "a window without the cache");
  }
  const auto windows = windows_in_words (generates);
  fail_unless_equals_int (windows.size (), 4);
  check_windows_tile (windows, PANEL_SECONDS);

  const GstStructure *s = segment_message (run.messages);
  gint64 cached = 0;
  guint requests = 0, n_windows = 0;
  fail_unless (gst_structure_get_int64 (s, "cached-tokens", &cached));
  fail_unless (gst_structure_get_uint (s, "requests", &requests));
  fail_unless (gst_structure_get_uint (s, "windows", &n_windows));
  fail_unless (cached > 0);
  fail_unless_equals_int (requests, 5);
  fail_unless_equals_int (n_windows, 4);
}
GST_END_TEST;

/* No cache (here: the service finds the video too small to cache): the
 * windows go uncached, each with its own offsets on the same file. */
GST_START_TEST (test_whole_file_cache_failure_falls_back)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines, R"("min_cache_tokens": 1000000000)"));
  Run run;
  run_panel (emu, "mode=whole window-duration=300", run);

  check_every_line_named (run.cues, lines);
  JsonNode *log = run.log.get ();
  auto creates = log_entries (log, "cache_create");
  fail_unless_equals_int (creates.size (), 1);
  fail_unless_equals_int (json_object_get_int_member (creates[0], "status"), 400);
  fail_unless_equals_int (log_entries (log, "cache_delete").size (), 0);
  fail_unless_equals_int (log_entries (log, "upload_start").size (), 1);

  auto generates = log_entries (log, "generate");
  fail_unless_equals_int (generates.size (), 5);
  std::vector<std::pair<double, double>> windows;
  for (JsonObject *r : generates) {
    JsonObject *body = json_object_get_object_member (r, "body");
    fail_if (json_object_has_member (body, "cachedContent"));
    if (is_speakers_request (r))
      continue;
    JsonArray *vm = json_object_get_array_member (r, "video_metadata");
    fail_unless_equals_int (json_array_get_length (vm), 1);
    JsonObject *o = json_array_get_object_element (vm, 0);
    windows.emplace_back (
        g_ascii_strtod (json_object_get_string_member (o, "startOffset"), nullptr),
        g_ascii_strtod (json_object_get_string_member (o, "endOffset"), nullptr));
  }
  check_windows_tile (windows, PANEL_SECONDS);
}
GST_END_TEST;

/* The window plan follows the model's limits as models.get gives them:
 * here an output limit of 8000 tokens, so that 20 minutes need 3 windows. */
GST_START_TEST (test_whole_file_windows_follow_model_limits)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines,
        R"("model_limits": {"gemini-3.8-flash": {"input": 1048576, "output": 8000}})"));
  Run run;
  run_panel (emu, "mode=whole", run);

  check_every_line_named (run.cues, lines);
  JsonNode *log = run.log.get ();
  fail_unless_equals_int (log_entries (log, "model_get").size (), 1);
  fail_unless_equals_int (log_entries (log, "generate").size (), 4);
  guint windows = 0;
  fail_unless (gst_structure_get_uint (segment_message (run.messages), "windows", &windows));
  fail_unless_equals_int (windows, 3);
}
GST_END_TEST;

/* A service that refuses an upload of unknown size (the SDKs always send
 * it): the start is repeated with the size at the end, and the message says so. */
GST_START_TEST (test_whole_file_upload_sized_at_end)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines, R"("require_upload_size": 411)"));
  Run run;
  run_panel (emu, "mode=whole", run);

  check_every_line_named (run.cues, lines);
  auto starts = log_entries (run.log.get (), "upload_start");
  fail_unless_equals_int (starts.size (), 2);
  fail_unless_equals_int (json_object_get_int_member (starts[0], "status"), 411);
  fail_unless_equals_int (json_object_get_int_member (starts[1], "status"), 200);
  const GstStructure *s = segment_message (run.messages);
  fail_unless_equals_string (gst_structure_get_string (s, "upload-path"), "after-encoding");
}
GST_END_TEST;

/* Audio alone, uncached: videoMetadata offsets apply to video only, so
 * each window sends the whole audio and asks for its part in words, with
 * timecodes relative to the file (what the audio docs describe). */
GST_START_TEST (test_whole_file_audio_windows_in_words)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines, R"("min_cache_tokens": 1000000000)"));
  Run run;
  run_panel (emu, "mode=whole window-duration=300", run, false);

  JsonNode *log = run.log.get ();
  auto generates = log_entries (log, "generate");
  fail_unless_equals_int (generates.size (), 5);
  for (JsonObject *r : generates) {
    JsonArray *vm = json_object_get_array_member (r, "video_metadata");
    fail_unless (vm == nullptr || json_array_get_length (vm) == 0,
        "videoMetadata on an audio part");
    JsonObject *m = json_array_get_object_element (json_object_get_array_member (r, "media"), 0);
    fail_unless_equals_string (json_object_get_string_member (m, "mime"), "audio/ogg");
  }
  check_windows_tile (windows_in_words (generates), PANEL_SECONDS);

  /* every line once, at its time */
  for (const auto &line : lines) {
    guint found = 0;
    for (const Cue &c : run.cues) {
      if (c.text.find (line.text) == std::string::npos)
        continue;
      found++;
      fail_unless (std::fabs ((double) c.pts / GST_SECOND - line.start) <= 0.501,
          "\"%s\" at %.3f s, script says %.3f s", line.text, (double) c.pts / GST_SECOND,
          line.start);
    }
    fail_unless (found == 1, "\"%s\" (%.1f s) in %u cues", line.text, line.start, found);
  }
}
GST_END_TEST;

/* Stopped while the upload is being fed: nothing is requested, nothing
 * leaks (the leaks tracer runs this file), and the stop is prompt. */
GST_START_TEST (test_whole_file_stop_mid_stream)
{
  const auto lines = panel_lines ();
  Emulator emu (panel_script (lines, ""));
  GstElement *pipeline = panel_pipeline (emu, "mode=whole");
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  g_usleep (G_USEC_PER_SEC);
  const gint64 t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 < 5 * G_USEC_PER_SEC);
  gst_object_unref (pipeline);

  GPtr<JsonNode> log = emu.log ();
  fail_unless_equals_int (log_entries (log.get (), "upload_start").size (), 1);
  fail_unless_equals_int (log_entries (log.get (), "generate").size (), 0);
}
GST_END_TEST;

/* A live source cannot wait for its end: mode=whole says so and streams. */
GST_START_TEST (test_whole_mode_on_live_input_streams)
{
  Emulator emu (interview_script (interview_lines ()));
  gchar *desc = g_strdup_printf ("audiotestsrc is-live=true num-buffers=40 "
      "samplesperbuffer=1600 wave=ticks ! audio/x-raw,rate=16000,channels=1 ! "
      "geminitranscriber api-key=test-key api-endpoint=%s mode=whole "
      "segment-duration=2000 latency=3000 ! appsink name=out sync=false",
      emu.url ().c_str ());
  GstElement *pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  CueCollector collector (pipeline);
  Run run;
  std::string error = run_to_eos (pipeline, 60, &run.messages);
  fail_unless (error.empty (), "%s", error.c_str ());
  gst_object_unref (pipeline);

  bool warned = false;
  guint segments = 0;
  for (GstStructure *s : run.messages) {
    if (gst_structure_has_name (s, "warning"))
      warned = warned || strstr (gst_structure_get_string (s, "text"), "mode=whole");
    if (gst_structure_has_name (s, "gemini-segment")) {
      segments++;
      fail_unless_equals_string (gst_structure_get_string (s, "mode"), "streaming");
    }
  }
  fail_unless (warned, "no warning about mode=whole on a live source");
  fail_unless (segments >= 2, "%u segments", segments);
  GPtr<JsonNode> log = emu.log ();
  fail_unless_equals_int (log_entries (log.get (), "upload_start").size (), 0);
}
GST_END_TEST;


/* Not live, the audio may not run more than a few seconds ahead of a video
 * stream that is still flowing: in whole mode the encoder lives as long as
 * the input, and audio packets would pile up in front of its muxer. */
struct Lead {
  std::mutex lock;
  GstClockTime video = GST_CLOCK_TIME_NONE;
  GstClockTimeDiff max_lead = 0;
  bool delay_first_frame = false;
};

/* With `delay_first_frame`, the first frame reaches the element's chain
 * only after a pause shorter than a stall, its caps before it: a video
 * pipeline still starting. */
static GstPadProbeReturn
record_video (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto lead = static_cast<Lead *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  bool delay;
  {
    std::lock_guard<std::mutex> lk (lead->lock);
    lead->video = GST_BUFFER_PTS (buf);
    delay = std::exchange (lead->delay_first_frame, false);
  }
  if (delay)
    g_usleep (G_USEC_PER_SEC / 2);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
record_audio (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto lead = static_cast<Lead *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  std::lock_guard<std::mutex> lk (lead->lock);
  if (GST_CLOCK_TIME_IS_VALID (lead->video))
    lead->max_lead = std::max (lead->max_lead,
        GST_CLOCK_DIFF (lead->video, GST_BUFFER_PTS (buf)));
  return GST_PAD_PROBE_OK;
}

/* 120 s of audio against 10-fps video slowed by `identity`; the largest
 * lead the audio took over the video, seen at the element's pads. */
static GstClockTimeDiff
whole_audio_lead (bool video_starts_late)
{
  Emulator emu (interview_script (interview_lines ()));
  gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=1200 samplesperbuffer=1600 "
      "wave=ticks ! audio/x-raw,rate=16000,channels=1 ! t.audio_sink "
      "videotestsrc num-buffers=1200 ! video/x-raw,width=160,height=120,framerate=10/1 ! "
      "identity sleep-time=2000 ! t.video_sink "
      "geminitranscriber name=t api-key=test-key api-endpoint=%s mode=whole ! "
      "fakesink sync=false", emu.url ().c_str ());
  GstElement *pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  GstElement *t = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  Lead lead;
  GstPad *audio = gst_element_get_static_pad (t, "audio_sink");
  GstPad *video = gst_element_get_static_pad (t, "video_sink");
  fail_unless (audio != nullptr && video != nullptr);
  lead.delay_first_frame = video_starts_late;
  gst_pad_add_probe (audio, GST_PAD_PROBE_TYPE_BUFFER, record_audio, &lead, nullptr);
  gst_pad_add_probe (video, GST_PAD_PROBE_TYPE_BUFFER, record_video, &lead, nullptr);
  gst_object_unref (audio);
  gst_object_unref (video);
  gst_object_unref (t);

  Run run;
  std::string error = run_to_eos (pipeline, 120, &run.messages);
  fail_unless (error.empty (), "%s", error.c_str ());
  gst_object_unref (pipeline);
  return lead.max_lead;
}

/* The limit is 5 s; a buffer is checked before it waits. */
constexpr GstClockTimeDiff kMaxLead = 6 * GST_SECOND;

GST_START_TEST (test_whole_audio_waits_for_slow_video)
{
  const GstClockTimeDiff lead = whole_audio_lead (false);
  fail_unless (lead <= kMaxLead, "the audio ran %.1f s ahead of the video",
      (double) lead / GST_SECOND);
}
GST_END_TEST;

GST_START_TEST (test_whole_audio_waits_for_video_to_start)
{
  const GstClockTimeDiff lead = whole_audio_lead (true);
  fail_unless (lead <= kMaxLead, "the audio ran %.1f s ahead of the video",
      (double) lead / GST_SECOND);
}
GST_END_TEST;


/* Stopped while the upload's last chunk is on its way (the service is
 * slow to take it): the stop cancels it instead of waiting for it. */
GST_START_TEST (test_whole_file_stop_during_upload_tail)
{
  Emulator emu (panel_script (panel_lines (),
          R"("faults": [{"match": "upload_chunk", "type": "delay", "ms": 30000}])"));
  gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=200 samplesperbuffer=1600 "
      "wave=ticks ! audio/x-raw,rate=16000,channels=1 ! "
      "geminitranscriber api-key=test-key api-endpoint=%s mode=whole ! "
      "fakesink sync=false", emu.url ().c_str ());
  GstElement *pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  /* 20 s of audio encode in well under a second: wait for the chunk. */
  for (int i = 0; i < 100; i++) {
    GPtr<JsonNode> log = emu.log ();
    if (!log_entries (log.get (), "upload_chunk").empty ())
      break;
    g_usleep (50 * 1000);
  }
  const gint64 t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  const gint64 took = g_get_monotonic_time () - t0;
  gst_object_unref (pipeline);
  fail_unless (took < 5 * G_USEC_PER_SEC, "the stop took %.1f s", took / 1e6);
  GPtr<JsonNode> log = emu.log ();
  fail_unless_equals_int (log_entries (log.get (), "upload_chunk").size (), 1);
  fail_unless_equals_int (log_entries (log.get (), "generate").size (), 0);
}
GST_END_TEST;

static Suite *
geminitranscriber_whole_suite (void)
{
  Suite *s = suite_create ("geminitranscriber-whole");
  TCase *tc = tcase_create ("whole");
  tcase_set_timeout (tc, TIMEOUT_S);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_whole_file_one_request_names_everyone);
  tcase_add_test (tc, test_whole_file_windows_share_a_cache);
  tcase_add_test (tc, test_whole_file_cache_failure_falls_back);
  tcase_add_test (tc, test_whole_file_audio_windows_in_words);
  tcase_add_test (tc, test_whole_file_upload_sized_at_end);
  tcase_add_test (tc, test_whole_file_windows_follow_model_limits);
  tcase_add_test (tc, test_whole_file_stop_mid_stream);
  tcase_add_test (tc, test_whole_file_stop_during_upload_tail);
  tcase_add_test (tc, test_whole_mode_on_live_input_streams);
  tcase_add_test (tc, test_whole_audio_waits_for_slow_video);
  tcase_add_test (tc, test_whole_audio_waits_for_video_to_start);
  return s;
}

GST_CHECK_MAIN (geminitranscriber_whole);
