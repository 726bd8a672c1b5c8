/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "faults_common.h"

#include <algorithm>
#include <cmath>

namespace gemini::test {

const std::vector<ScriptLine> &
fault_lines ()
{
  static const std::vector<ScriptLine> lines = {
    {0.2, 0.6, "alice", "Good morning."},
    {0.8, 1.1, "bob", "Hello Alice."},
    {1.3, 1.6, "alice", "Shall we begin?"},
    {1.7, 1.9, "bob", "Yes please."},
    {2.6, 3.2, "alice", "Pipelines move media."},
    {3.4, 3.8, "bob", "In real time."},
    {4.6, 5.2, "alice", "Captions need timing."},
    {5.4, 5.8, "bob", "Thank you."},
  };
  return lines;
}

std::string
fault_script (const std::string &extra)
{
  std::string more = R"("timecode_format": "mm:ss.mmm")";
  if (!extra.empty ())
    more += ", " + extra;
  return interview_script (fault_lines (), more);
}

std::string
json_quote (const std::string &text)
{
  GPtr<JsonNode> node (json_node_new (JSON_NODE_VALUE));
  json_node_set_string (node.get (), text.c_str ());
  gchar *s = json_to_string (node.get (), FALSE);
  std::string out (s);
  g_free (s);
  return out;
}

GstBuffer *
tone_buffer (const std::vector<ScriptLine> &lines, GstClockTime pts,
    GstClockTime duration, int rate, int channels)
{
  const gsize frames = gst_util_uint64_scale (duration, rate, GST_SECOND);
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, frames * 2 * channels, nullptr);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  auto *s = reinterpret_cast<gint16 *> (map.data);
  for (gsize i = 0; i < frames; i++) {
    const double t = (double) pts / GST_SECOND + (double) i / rate;
    bool speaking = false;
    for (const auto &l : lines)
      speaking = speaking || (t >= l.start && t < l.end);
    const gint16 v = speaking ? (gint16) (12000 * std::sin (2 * G_PI * 440 * t)) : 0;
    for (int c = 0; c < channels; c++)
      s[i * channels + c] = v;
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = duration;
  return buf;
}

void
push_fault_speech (GstAppSrc *src)
{
  for (GstClockTime t = 0; t < FAULT_SECONDS * GST_SECOND; t += 100 * GST_MSECOND)
    gst_app_src_push_buffer (src, speech_buffer (fault_lines (), t));
  gst_app_src_end_of_stream (src);
}

guint
RunResult::generate_count () const
{
  return log ? generate_requests (log.get ()).size () : 0;
}

const GstStructure *
RunResult::segment (guint64 index) const
{
  for (const auto &s : segments) {
    guint64 i;
    if (gst_structure_get_uint64 (s.get (), "segment", &i) && i == index)
      return s.get ();
  }
  return nullptr;
}

std::string
RunResult::status (guint64 index) const
{
  const GstStructure *s = segment (index);
  return s ? gst_structure_get_string (s, "status") : "(none)";
}

std::pair<double, double>
RunResult::span (guint64 index) const
{
  const GstStructure *s = segment (index);
  guint64 start = 0, duration = 0;
  if (s) {
    gst_structure_get_uint64 (s, "running-time", &start);
    gst_structure_get_uint64 (s, "duration", &duration);
  }
  return {(double) start / GST_SECOND, (double) (start + duration) / GST_SECOND};
}

bool
RunResult::has_cue_with (const std::string &text) const
{
  return std::any_of (cues.begin (), cues.end (), [&](const RecordedCue &c) {
        return c.text.find (text) != std::string::npos;});
}

bool
RunResult::gap_covers (double start, double end) const
{
  return std::any_of (gaps.begin (), gaps.end (), [&](const RecordedGap &g) {
        const double gs = (double) g.start / GST_SECOND;
        const double ge = (double) (g.start + g.duration) / GST_SECOND;
        return gs <= start + 1e-6 && ge >= end - 1e-6;});
}

bool
RunResult::covered (double start, double end) const
{
  std::vector<std::pair<double, double>> spans;
  for (const auto &c : cues)
    spans.emplace_back ((double) c.pts / GST_SECOND,
        (double) (c.pts + c.duration) / GST_SECOND);
  for (const auto &g : gaps)
    spans.emplace_back ((double) g.start / GST_SECOND,
        (double) (g.start + g.duration) / GST_SECOND);
  std::sort (spans.begin (), spans.end ());
  double reached = start;
  for (const auto &[s, e] : spans) {
    if (s > reached + 1e-6)
      break;
    reached = std::max (reached, e);
  }
  return reached >= end - 1e-6;
}

std::vector<std::string>
RunResult::transcriber_errors () const
{
  std::vector<std::string> out;
  for (const auto &e : errors)
    if (e.find ("GstGeminiTranscriber:t") != std::string::npos)
      out.push_back (e);
  return out;
}

namespace {

struct Recorder {
  std::mutex lock;
  std::vector<RecordedCue> cues;
  std::vector<RecordedGap> gaps;
  bool eos = false;

  static GstPadProbeReturn probe (GstPad *, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<Recorder *> (data);
    std::lock_guard<std::mutex> lk (self->lock);
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
      GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
      GstMapInfo map;
      gst_buffer_map (buf, &map, GST_MAP_READ);
      std::string text ((const char *) map.data, map.size);
      gst_buffer_unmap (buf, &map);
      std::replace (text.begin (), text.end (), '\n', ' ');
      RecordedCue c{GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf), std::move (text),
        "", ""};
      if (GstCustomMeta *meta = gst_buffer_get_custom_meta (buf, "GeminiTranscriptMeta")) {
        const GstStructure *s = gst_custom_meta_get_structure (meta);
        const gchar *name = gst_structure_get_string (s, "name");
        const gchar *id = gst_structure_get_string (s, "speaker-id");
        c.name = name ? name : "";
        c.speaker_id = id ? id : "";
      }
      self->cues.push_back (std::move (c));
    } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
      if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP) {
        GstClockTime ts, dur;
        gst_event_parse_gap (ev, &ts, &dur);
        self->gaps.push_back ({ts, dur});
      } else if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS) {
        self->eos = true;
      }
    }
    return GST_PAD_PROBE_OK;
  }
};

std::string
describe_gerror_message (GstMessage *msg)
{
  GError *err = nullptr;
  gchar *dbg = nullptr;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &err, &dbg);
  else
    gst_message_parse_warning (msg, &err, &dbg);
  std::string out = std::string (err->message) + " | " + (dbg ? dbg : "");
  const GstStructure *details = nullptr;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error_details (msg, &details);
  if (details) {
    gchar *fields = gst_structure_to_string (details);
    out += std::string (" | ") + fields;
    g_free (fields);
  }
  g_error_free (err);
  g_free (dbg);
  return out;
}

/* What a run produced, for the person reading a failure (test -d). */
void
dump (const RunResult &r)
{
  g_printerr ("ending %s after %.2f s, %u generate requests\n", r.ending.c_str (),
      r.seconds, r.generate_count ());
  for (const auto &s : r.segments) {
    gchar *str = gst_structure_to_string (s.get ());
    g_printerr ("  %.400s\n", str);
    g_free (str);
  }
  for (const auto &c : r.cues)
    g_printerr ("  cue %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT " [%s] %s\n",
        GST_TIME_ARGS (c.pts), GST_TIME_ARGS (c.duration), c.name.c_str (), c.text.c_str ());
  for (const auto &g : r.gaps)
    g_printerr ("  gap %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT "\n",
        GST_TIME_ARGS (g.start), GST_TIME_ARGS (g.duration));
  for (const auto &w : r.warnings)
    g_printerr ("  warning: %s\n", w.c_str ());
  for (const auto &e : r.errors)
    g_printerr ("  error: %s\n", e.c_str ());
}

}  // namespace

RunResult
run_transcriber (Emulator &emu, const RunSpec &spec)
{
  RunResult r;
  std::string sources = spec.sources.empty () ?
      std::string ("appsrc name=audio format=time max-bytes=0 caps=") + SPEECH_CAPS +
      " ! t.audio_sink " : spec.sources;
  gchar *desc = g_strdup_printf ("%s geminitranscriber name=t api-endpoint=%s "
      "mode=streaming segment-duration=2000 max-concurrent-requests=1 max-retries=0 "
      "request-timeout=5000 %s ! fakesink name=out sync=false async=false",
      sources.c_str (), emu.url ().c_str (), spec.props.c_str ());
  GError *err = nullptr;
  GPtr<GstElement> pipeline (gst_parse_launch (desc, &err));
  g_free (desc);
  g_assert_no_error (err);
  gst_object_ref_sink (pipeline.get ());

  Recorder rec;
  {
    GPtr<GstElement> t (gst_bin_get_by_name (GST_BIN (pipeline.get ()), "t"));
    /* As an application does: a launch line would put the key in the
     * parser's debug log. */
    if (!spec.api_key.empty ())
      g_object_set (t.get (), "api-key", spec.api_key.c_str (), NULL);
    GPtr<GstPad> src (gst_element_get_static_pad (t.get (), "src"));
    gst_pad_add_probe (src.get (), (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER |
            GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), Recorder::probe, &rec, nullptr);
  }
  if (GstElement *audio = gst_bin_get_by_name (GST_BIN (pipeline.get ()), "audio")) {
    if (spec.feed)
      spec.feed (GST_APP_SRC (audio));
    else
      push_fault_speech (GST_APP_SRC (audio));
    gst_object_unref (audio);
  }

  const gint64 t0 = g_get_monotonic_time ();
  GPtr<GstBus> bus (gst_element_get_bus (pipeline.get ()));
  gint64 deadline = t0 + spec.timeout_s * G_USEC_PER_SEC;
  if (gst_element_set_state (pipeline.get (), GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    r.ending = "state-change";
    deadline = g_get_monotonic_time () + spec.error_grace_ms * 1000;
  }

  /* After the first error, keep listening for a while: a second one is a
   * bug these tests look for. */
  while (r.ending != "eos") {
    const gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0) {
      if (r.ending.empty ())
        r.ending = "timeout";
      break;
    }
    GPtr<GstMessage> msg (gst_bus_timed_pop (bus.get (), left * GST_USECOND));
    if (!msg)
      continue;
    if (const GstStructure *s = gst_message_get_structure (msg.get ())) {
      gchar *str = gst_structure_to_string (s);
      r.all_messages.push_back (str);
      g_free (str);
    }
    switch (GST_MESSAGE_TYPE (msg.get ())) {
      case GST_MESSAGE_EOS:
        if (r.ending.empty ())
          r.ending = "eos";
        break;
      case GST_MESSAGE_ERROR:
        r.errors.push_back (describe_gerror_message (msg.get ()));
        r.all_messages.push_back (r.errors.back ());
        if (r.ending.empty ()) {
          r.ending = "error";
          deadline = g_get_monotonic_time () + spec.error_grace_ms * 1000;
        }
        break;
      case GST_MESSAGE_WARNING:
        r.warnings.push_back (describe_gerror_message (msg.get ()));
        r.all_messages.push_back (r.warnings.back ());
        break;
      case GST_MESSAGE_ELEMENT:{
        const GstStructure *s = gst_message_get_structure (msg.get ());
        if (s && gst_structure_has_name (s, "gemini-segment"))
          r.segments.emplace_back (gst_structure_copy (s));
        break;
      }
      default:
        break;
    }
  }
  r.seconds = (g_get_monotonic_time () - t0) / 1e6;
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);

  std::lock_guard<std::mutex> lk (rec.lock);
  r.cues = std::move (rec.cues);
  r.gaps = std::move (rec.gaps);
  r.eos_event = rec.eos;
  r.log = emu.log ();
  if (g_getenv ("GEMINI_FAULTS_DUMP"))
    dump (r);
  return r;
}

}  // namespace gemini::test
