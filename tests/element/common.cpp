/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common.h"

#include <algorithm>
#include <cmath>

namespace gemini::test {

const std::vector<ScriptLine> &
interview_lines ()
{
  static const std::vector<ScriptLine> lines = {
    {0.5, 2.0, "alice", "Welcome to the show, I am Alice."},
    {2.6, 3.4, "bob", "Thanks, glad to be here."},
    {4.6, 6.2, "alice", "Tell us about streaming."},
    {6.9, 8.1, "bob", "Pipelines move media in real time."},
    {9.0, 10.4, "alice", "And captions?"},
    {11.0, 12.6, "bob", "Captions need careful timing."},
    {13.0, 13.6, "alice", "Thank you."},
  };
  return lines;
}

std::string
interview_script (const std::vector<ScriptLine> &lines, const std::string &extra)
{
  std::string s = R"({"transcript": {"shuffle_voices": true, "speakers": [
      {"id": "alice", "name": "Alice Martin", "company": "Acme Media",
       "position": "Editor in chief", "role_in_video": "host"},
      {"id": "bob", "name": "Bob Chen", "company": "Globex",
       "position": "Streaming engineer", "role_in_video": "guest"}],
    "utterances": [)";
  bool first = true;
  for (const auto &l : lines) {
    gchar *row = g_strdup_printf (
        R"(%s{"start": %.3f, "end": %.3f, "speaker": "%s", "text": "%s"})",
        first ? "" : ",", l.start, l.end, l.speaker, l.text);
    s += row;
    g_free (row);
    first = false;
  }
  s += "]}";
  if (!extra.empty ())
    s += ", " + extra;
  s += "}";
  return s;
}

GstBuffer *
speech_buffer (const std::vector<ScriptLine> &lines, GstClockTime pts,
    GstClockTime duration)
{
  constexpr int rate = 16000;
  const gsize samples = gst_util_uint64_scale (duration, rate, GST_SECOND);
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, samples * 2, nullptr);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  auto *s = reinterpret_cast<gint16 *> (map.data);
  for (gsize i = 0; i < samples; i++) {
    const double t = (double) pts / GST_SECOND + (double) i / rate;
    bool speaking = false;
    for (const auto &l : lines)
      speaking = speaking || (t >= l.start && t < l.end);
    s[i] = speaking ? (gint16) (12000 * std::sin (2 * G_PI * 440 * t)) : 0;
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = duration;
  return buf;
}

std::vector<JsonObject *>
generate_requests (JsonNode *log)
{
  std::vector<JsonObject *> out;
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (log),
      "requests");
  for (guint i = 0; i < json_array_get_length (reqs); i++) {
    JsonObject *r = json_array_get_object_element (reqs, i);
    const gchar *kind = json_object_get_string_member_with_default (r, "kind", "");
    if (g_str_equal (kind, "generate") || g_str_equal (kind, "stream"))
      out.push_back (r);
  }
  return out;
}

std::string
run_to_eos (GstElement *pipeline, guint timeout_s,
    std::vector<GstStructure *> *messages)
{
  GPtr<GstBus> bus (gst_element_get_bus (pipeline));
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    return "state change to PLAYING failed";

  const gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  std::string error;
  while (true) {
    const gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0) {
      error = "timeout";
      break;
    }
    GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus.get (),
            left * GST_USECOND, (GstMessageType) (GST_MESSAGE_EOS |
                GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT | GST_MESSAGE_WARNING)));
    if (!msg) {
      error = "timeout";
      break;
    }
    if (GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_EOS)
      break;
    if (GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gchar *dbg = nullptr;
      gst_message_parse_error (msg.get (), &err, &dbg);
      error = std::string (err->message) + " (" + (dbg ? dbg : "") + ")";
      g_error_free (err);
      g_free (dbg);
      break;
    }
    if (GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_WARNING) {
      GError *err = nullptr;
      gst_message_parse_warning (msg.get (), &err, nullptr);
      if (messages)
        messages->push_back (gst_structure_new ("warning", "text", G_TYPE_STRING,
                err->message, NULL));
      g_error_free (err);
      continue;
    }
    const GstStructure *s = gst_message_get_structure (msg.get ());
    if (messages && s && g_str_has_prefix (gst_structure_get_name (s), "gemini-"))
      messages->push_back (gst_structure_copy (s));
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return error;
}

GstFlowReturn
CueCollector::on_sample (GstAppSink *sink, gpointer data)
{
  auto *self = static_cast<CueCollector *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_READ);
  /* A two-line cue is one sentence to compare with the script. */
  std::string text ((const char *) map.data, map.size);
  std::replace (text.begin (), text.end (), '\n', ' ');
  Cue c{GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf), std::move (text), ""};
  gst_buffer_unmap (buf, &map);
  if (GstCustomMeta *meta = gst_buffer_get_custom_meta (buf, "GeminiTranscriptMeta")) {
    const gchar *name = gst_structure_get_string (gst_custom_meta_get_structure (meta), "name");
    c.name = name ? name : "";
  }
  gst_sample_unref (sample);
  std::lock_guard<std::mutex> lk (self->lock_);
  self->cues_.push_back (std::move (c));
  return GST_FLOW_OK;
}

CueCollector::CueCollector (GstElement *pipeline)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GstAppSinkCallbacks cb = {};
  cb.new_sample = on_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, this, nullptr);
  gst_object_unref (sink);
}

std::vector<Cue>
CueCollector::take ()
{
  std::lock_guard<std::mutex> lk (lock_);
  return std::move (cues_);
}

}  // namespace gemini::test
