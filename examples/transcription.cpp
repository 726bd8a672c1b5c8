/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "transcription.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include <gst/app/gstappsink.h>
#include <gst/pbutils/missing-plugins.h>

#include "defaults.h"
#include "glib_ptr.h"
#include "interrupt.h"
#include "memory.h"
#include "transcript_json.h"

#define GST_CAT_DEFAULT gemini_transcribe_debug

namespace transcribe {

using gemini::GPtr;

namespace {

constexpr guint PROGRESS_INTERVAL_MS = 250;

struct Run {
  const ElementSettings &settings;
  Progress &progress;
  Transcript &t;

  GstElement *pipeline = nullptr;
  GstElement *decoder = nullptr;
  GstElement *transcriber = nullptr;
  GMainLoop *loop = nullptr;

  /* Streaming threads: pad-added and the appsink. */
  std::mutex lock;
  std::vector<Cue> cues;
  std::atomic<GstClockTime> sent{0};
  std::atomic<bool> input_done{false};

  /* Main loop only. */
  GstClockTime transcribed = 0;
  gint64 tokens = 0;
  /* Stream time - running time, from the segment messages: evidence in
   * gemini-speakers is in running time. */
  GstClockTimeDiff stream_offset = 0;
  std::optional<Failure> failure;

  void fail (ExitCode code, std::string message) {
    if (!failure)
      failure = Failure{code, std::move (message)};
    g_main_loop_quit (loop);
  }
};

GstPadProbeReturn
on_media_buffer (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *run = static_cast<Run *> (data);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
      run->input_done = true;
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return GST_PAD_PROBE_OK;
  GstClockTime end = GST_BUFFER_PTS (buf);
  if (GST_BUFFER_DURATION_IS_VALID (buf))
    end += GST_BUFFER_DURATION (buf);
  GstClockTime prev = run->sent.load ();
  while (end > prev && !run->sent.compare_exchange_weak (prev, end)) {
  }
  return GST_PAD_PROBE_OK;
}

/* Links one decoded stream: the first audio and the first video go to the
 * transcriber, anything else is discarded. */
void
on_pad_added (GstElement *, GstPad *pad, gpointer data)
{
  auto *run = static_cast<Run *> (data);
  GPtr<GstCaps> caps (gst_pad_get_current_caps (pad));
  if (!caps)
    caps.reset (gst_pad_query_caps (pad, nullptr));
  const gchar *media = gst_structure_get_name (gst_caps_get_structure (caps.get (), 0));

  std::lock_guard<std::mutex> lk (run->lock);
  const char *desc = "fakesink sync=false async=false";
  GPtr<GstPad> target;
  if (g_str_has_prefix (media, "audio/") && !run->t.has_audio) {
    desc = "queue ! audioconvert ! audioresample";
    target.reset (gst_element_get_static_pad (run->transcriber, "audio_sink"));
    run->t.has_audio = true;
  } else if (g_str_has_prefix (media, "video/") && !run->t.has_video) {
    desc = "queue ! videoconvert";
    target.reset (gst_element_request_pad_simple (run->transcriber, "video_sink"));
    run->t.has_video = true;
  }

  GError *err = nullptr;
  GstElement *branch = gst_parse_bin_from_description (desc, TRUE, &err);
  if (!branch) {
    GST_ERROR ("cannot build %s: %s", desc, err->message);
    g_error_free (err);
    return;
  }
  gst_bin_add (GST_BIN (run->pipeline), branch);
  if (target) {
    GPtr<GstPad> out (gst_element_get_static_pad (branch, "src"));
    gst_pad_link (out.get (), target.get ());
    gst_pad_add_probe (out.get (), (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER
            | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), on_media_buffer, run, nullptr);
  }
  gst_element_sync_state_with_parent (branch);
  GPtr<GstPad> in (gst_element_get_static_pad (branch, "sink"));
  if (GST_PAD_LINK_FAILED (gst_pad_link (pad, in.get ())))
    GST_WARNING ("cannot link a %s stream", media);
}

std::string
mapped_string (GstBuffer *buf)
{
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return {};
  std::string s (reinterpret_cast<const char *> (map.data), map.size);
  gst_buffer_unmap (buf, &map);
  return s;
}

/* appsink holds its EOS until every sample is pulled, so cues are taken as
 * they come rather than after the EOS message. */
GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer data)
{
  auto *run = static_cast<Run *> (data);
  GPtr<GstSample> sample (gst_app_sink_pull_sample (sink));
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample.get ());
  Cue cue;
  cue.start = GST_BUFFER_PTS (buf);
  cue.duration = GST_BUFFER_DURATION (buf);
  cue.markup = mapped_string (buf);
  if (GstCustomMeta *meta = gst_buffer_get_custom_meta (buf, "GeminiTranscriptMeta")) {
    const GstStructure *s = gst_custom_meta_get_structure (meta);
    auto field = [s](const char *name) {
      const gchar *v = gst_structure_get_string (s, name);
      return std::string (v ? v : "");
    };
    cue.text = field ("text");
    cue.speaker_id = field ("speaker-id");
    cue.name = field ("name");
  }
  std::lock_guard<std::mutex> lk (run->lock);
  run->cues.push_back (std::move (cue));
  return GST_FLOW_OK;
}

/* From the fields the element gives (gemini-segment, error details),
 * never from its text. */
bool
is_quota_error (const GstStructure *s)
{
  guint http_status = 0;
  gst_structure_get_uint (s, "http-status", &http_status);
  return http_status == 429
      || g_strcmp0 (gst_structure_get_string (s, "api-status"), "RESOURCE_EXHAUSTED") == 0;
}

void
read_utterances (Run *run, const std::string &json, guint64 segment,
    GstClockTimeDiff stream_offset)
{
  auto shift = [stream_offset] (GstClockTime t) {
    return (GstClockTime) std::max<GstClockTimeDiff> (0, (GstClockTimeDiff) t + stream_offset);
  };
  for (auto &row : gemini::read_segment_transcript (json)) {
    Utterance u;
    u.segment = segment;
    u.start = shift (row.start);
    if (GST_CLOCK_TIME_IS_VALID (row.end))
      u.end = shift (row.end);
    if (GST_CLOCK_TIME_IS_VALID (row.model_start))
      u.model_start = shift (row.model_start);
    if (GST_CLOCK_TIME_IS_VALID (row.model_end))
      u.model_end = shift (row.model_end);
    u.text = std::move (row.text);
    u.voice = std::move (row.voice);
    u.speaker_id = std::move (row.speaker_id);
    run->t.utterances.push_back (std::move (u));
  }
}

void
on_segment_message (Run *run, const GstStructure *s)
{
  /* The segment's encoder threads have ended: what they freed goes back. */
  release_freed_memory ();
  SegmentReport r;
  guint64 running_time = 0, stream_time = 0;
  gst_structure_get_uint64 (s, "segment", &r.index);
  gst_structure_get_uint64 (s, "running-time", &running_time);
  gst_structure_get_uint64 (s, "stream-time", &stream_time);
  gst_structure_get_uint64 (s, "duration", &r.duration);
  gst_structure_get_int64 (s, "prompt-tokens", &r.prompt_tokens);
  gst_structure_get_int64 (s, "candidates-tokens", &r.candidates_tokens);
  gst_structure_get_int64 (s, "cached-tokens", &r.cached_tokens);
  gst_structure_get_int64 (s, "total-tokens", &r.total_tokens);
  gst_structure_get_uint64 (s, "request-time", &r.request_time);
  gst_structure_get_uint64 (s, "media-bytes", &r.media_bytes);
  gboolean truncated = FALSE;
  gst_structure_get_boolean (s, "truncated", &truncated);
  r.truncated = truncated;
  if (const GValue *repairs = gst_structure_get_value (s, "repairs");
      repairs && GST_VALUE_HOLDS_ARRAY (repairs)) {
    for (guint i = 0; i < gst_value_array_get_size (repairs); i++) {
      const GValue *v = gst_value_array_get_value (repairs, i);
      if (G_VALUE_HOLDS_STRING (v))
        r.repairs.emplace_back (g_value_get_string (v));
    }
  }
  const gchar *status = gst_structure_get_string (s, "status");
  const gchar *error = gst_structure_get_string (s, "error");
  r.status = status ? status : "";
  r.error = error ? error : "";
  r.start = stream_time;

  /* The transcript is in running time; outputs speak the input's time. */
  const GstClockTimeDiff offset = GST_CLOCK_DIFF (running_time, stream_time);
  run->stream_offset = offset;
  if (const gchar *json = gst_structure_get_string (s, "transcript"))
    read_utterances (run, json, r.index, offset);

  run->transcribed = std::max (run->transcribed, r.start + r.duration);
  run->tokens += r.total_tokens;
  GST_INFO ("segment %" G_GUINT64_FORMAT " %s at %" GST_TIME_FORMAT,
      r.index, r.status.c_str (), GST_TIME_ARGS (r.start));
  const bool quota = r.status == "failed" && is_quota_error (s);
  const std::string error_text = r.error;
  run->t.segments.push_back (std::move (r));
  if (quota)
    run->fail (EXIT_REFUSED, "Gemini quota exhausted (" + error_text + "). Wait for "
        "the quota to reset or use a key from a project with more quota; "
        "--concurrency 1 helps with per-minute limits.");
}

/* A speaker's `evidence` list, its times still running times. */
std::vector<gemini::Evidence>
read_evidence (const GstStructure *speaker)
{
  std::vector<gemini::Evidence> out;
  const GValue *list = gst_structure_get_value (speaker, "evidence");
  for (guint i = 0; list && GST_VALUE_HOLDS_ARRAY (list)
           && i < gst_value_array_get_size (list); i++) {
    const GValue *v = gst_value_array_get_value (list, i);
    if (!GST_VALUE_HOLDS_STRUCTURE (v))
      continue;
    const GstStructure *s = gst_value_get_structure (v);
    auto text = [s] (const char *name) {
      const gchar *t = gst_structure_get_string (s, name);
      return std::string (t ? t : "");
    };
    gemini::Evidence e;
    e.field = text ("field");
    e.source = text ("source");
    e.text = text ("text");
    guint64 time = GST_CLOCK_TIME_NONE;
    gst_structure_get_uint64 (s, "time", &time);
    e.time = time;
    out.push_back (std::move (e));
  }
  return out;
}

void
on_speakers_message (Run *run, const GstStructure *s)
{
  const GValue *list = gst_structure_get_value (s, "speakers");
  if (!list || !GST_VALUE_HOLDS_ARRAY (list))
    return;
  std::vector<Speaker> speakers;
  for (guint i = 0; i < gst_value_array_get_size (list); i++) {
    const GstStructure *e = gst_value_get_structure (gst_value_array_get_value (list, i));
    auto field = [e](const char *name) {
      const gchar *v = gst_structure_get_string (e, name);
      return gemini::or_unknown (v ? v : "");
    };
    Speaker sp;
    sp.id = field ("id");
    sp.info.name = field ("name");
    sp.info.company = field ("company");
    sp.info.position = field ("position");
    sp.info.role_in_video = field ("role");
    sp.info.evidence = read_evidence (e);
    gst_structure_get_uint (e, "segments", &sp.segments);
    speakers.push_back (std::move (sp));
  }
  run->t.speakers = std::move (speakers);
}

void
on_error (Run *run, GstMessage *msg)
{
  GError *err = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error (msg, &err, &debug);
  GST_WARNING ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg), err->message,
      debug ? debug : "");
  const std::string text = err->message;
  GstObject *src = GST_MESSAGE_SRC (msg);
  const GstStructure *details = nullptr;
  gst_message_parse_error_details (msg, &details);
  const gchar *kind = details ? gst_structure_get_string (details, "kind") : nullptr;
  if (src == GST_OBJECT (run->transcriber)) {
    if (g_strcmp0 (kind, "no-credentials") == 0)
      run->fail (EXIT_NO_KEY, "no Gemini API key: export GEMINI_API_KEY=... (get one at "
          "https://aistudio.google.com/apikey), or try an offline dry run with --emulator.");
    else if (g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED))
      run->fail (EXIT_REFUSED, text);
    else
      run->fail (EXIT_OTHER, "transcription failed: " + text);
  } else if (src == GST_OBJECT (run->decoder)
      || gst_object_has_as_ancestor (src, GST_OBJECT (run->decoder))) {
    run->fail (EXIT_INPUT, "cannot read " + run->t.input + ": " + text);
  } else {
    run->fail (EXIT_OTHER, text);
  }
  g_error_free (err);
  g_free (debug);
}

/* uridecodebin leaves out a stream it has no decoder for and goes on:
 * without a word, an H.264 video would silently become an audio-only
 * transcript. Said even with -q, since it changes the result. */
void
report_missing_decoder (GstMessage *msg)
{
  GPtr<gchar> what (gst_missing_plugin_message_get_description (msg));
  g_printerr ("gemini-transcribe: a stream of the input needs a GStreamer element that is "
      "not installed, %s (on Debian: gstreamer1.0-libav); it is left out of the transcript "
      "and the outputs.\n", what.get ());
}

gboolean
on_bus_message (GstBus *, GstMessage *msg, gpointer data)
{
  auto *run = static_cast<Run *> (data);
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      g_main_loop_quit (run->loop);
      break;
    case GST_MESSAGE_ERROR:
      on_error (run, msg);
      break;
    case GST_MESSAGE_WARNING:{
      GError *err = nullptr;
      gst_message_parse_warning (msg, &err, nullptr);
      GST_WARNING ("warning from %s: %s", GST_MESSAGE_SRC_NAME (msg), err->message);
      g_error_free (err);
      break;
    }
    case GST_MESSAGE_ELEMENT:
      if (gst_is_missing_plugin_message (msg)) {
        report_missing_decoder (msg);
        break;
      }
      if (GST_MESSAGE_SRC (msg) != GST_OBJECT (run->transcriber))
        break;
      if (gst_message_has_name (msg, "gemini-segment"))
        on_segment_message (run, gst_message_get_structure (msg));
      else if (gst_message_has_name (msg, "gemini-speakers"))
        on_speakers_message (run, gst_message_get_structure (msg));
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

void
show_progress (Run *run, bool last)
{
  if (!GST_CLOCK_TIME_IS_VALID (run->t.duration)) {
    gint64 duration = -1;
    if (gst_element_query_duration (run->pipeline, GST_FORMAT_TIME, &duration)
        && duration > 0)
      run->t.duration = duration;
  }

  ProgressSnapshot s;
  s.duration = run->t.duration;
  s.sent = run->sent.load ();
  s.transcribed = run->transcribed;
  s.tokens = run->tokens;
  /* The element does not report dispatches. Streaming: whole segments
   * between what was answered and what was sent are in flight, plus the last
   * partial one once the input has ended. */
  const guint segment_ms = run->settings.segment_duration_ms ?
      run->settings.segment_duration_ms : gemini::defaults::SEGMENT_MS_FILE;
  const guint limit = run->settings.concurrency ?
      run->settings.concurrency : gemini::defaults::MAX_CONCURRENT;
  const bool whole = run->settings.mode != "streaming";
  if (whole) {
    /* The whole file is one job, sent once the input has ended. */
    s.in_flight = run->input_done && s.sent > s.transcribed ? 1 : 0;
  } else if (s.sent > s.transcribed) {
    const double pending = (double) (s.sent - s.transcribed) / (segment_ms * GST_MSECOND);
    const double n = run->input_done ? std::ceil (pending) : std::floor (pending);
    s.in_flight = std::min<guint> ((guint) n, limit);
  }
  run->progress.transcription (s, last);
}

gboolean
on_progress_tick (gpointer data)
{
  show_progress (static_cast<Run *> (data), false);
  return G_SOURCE_CONTINUE;
}

void
apply_settings (GstElement *t, const ElementSettings &s)
{
  auto set_string = [t](const char *prop, const std::string &v) {
    if (!v.empty ())
      g_object_set (t, prop, v.c_str (), nullptr);
  };
  set_string ("model", s.model);
  set_string ("context", s.context);
  set_string ("language", s.language);
  set_string ("api-endpoint", s.api_endpoint);
  set_string ("api-key", s.api_key);
  if (!s.media_resolution.empty ())
    gst_util_set_object_arg (G_OBJECT (t), "media-resolution", s.media_resolution.c_str ());
  if (!s.timing.empty ())
    gst_util_set_object_arg (G_OBJECT (t), "timing", s.timing.c_str ());
  if (s.evidence)
    g_object_set (t, "evidence", TRUE, nullptr);
  if (s.segment_duration_ms)
    g_object_set (t, "segment-duration", s.segment_duration_ms, nullptr);
  if (!s.mode.empty ())
    gst_util_set_object_arg (G_OBJECT (t), "mode", s.mode.c_str ());
  if (s.window_s)
    g_object_set (t, "window-duration", s.window_s, nullptr);
  if (s.fps > 0)
    g_object_set (t, "fps", s.fps, nullptr);
  if (s.concurrency)
    g_object_set (t, "max-concurrent-requests", s.concurrency, nullptr);
  if (s.request_timeout_ms)
    g_object_set (t, "request-timeout", s.request_timeout_ms, nullptr);
  if (s.max_retries >= 0)
    g_object_set (t, "max-retries", (guint) s.max_retries, nullptr);
}

}  // namespace

bool
have_element (const char *factory)
{
  GstElementFactory *f = gst_element_factory_find (factory);
  if (!f)
    return false;
  gst_object_unref (f);
  return true;
}

std::optional<Failure>
transcribe_input (const std::string &uri, const ElementSettings &settings,
    Progress &progress, Transcript &out)
{
  if (!have_element ("geminitranscriber"))
    return Failure{EXIT_OTHER, "the geminitranscriber element is not installed: run "
          "`meson install -C build`, or set GST_PLUGIN_PATH to the build's plugin directory."};
  for (const char *name : {"uridecodebin", "appsink", "audioconvert", "videoconvert"})
    if (!have_element (name))
      return Failure{EXIT_OTHER, std::string ("the GStreamer element ") + name +
            " is missing: install gstreamer1.0-plugins-base."};

  Run run{settings, progress, out};
  GPtr<GstElement> pipeline (gst_pipeline_new ("transcribe"));
  run.pipeline = pipeline.get ();
  run.decoder = gst_element_factory_make ("uridecodebin", "decoder");
  run.transcriber = gst_element_factory_make ("geminitranscriber", "transcriber");
  GstElement *capsfilter = gst_element_factory_make ("capsfilter", nullptr);
  GstElement *sink = gst_element_factory_make ("appsink", "cues");

  g_object_set (run.decoder, "uri", uri.c_str (), nullptr);
  apply_settings (run.transcriber, settings);
  {
    gchar *model = nullptr;
    g_object_get (run.transcriber, "model", &model, nullptr);
    out.model = model ? model : "";
    g_free (model);
  }
  /* Markup for the burned-in captions; the meta carries the plain text. */
  GPtr<GstCaps> caps (gst_caps_from_string ("text/x-raw, format=pango-markup"));
  g_object_set (capsfilter, "caps", caps.get (), nullptr);
  g_object_set (sink, "sync", FALSE, nullptr);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_new_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, &run, nullptr);

  gst_bin_add_many (GST_BIN (run.pipeline), run.decoder, run.transcriber, capsfilter,
      sink, nullptr);
  gst_element_link_many (run.transcriber, capsfilter, sink, nullptr);
  g_signal_connect (run.decoder, "pad-added", G_CALLBACK (on_pad_added), &run);

  GPtr<GMainLoop> loop (g_main_loop_new (nullptr, FALSE));
  run.loop = loop.get ();
  GPtr<GstBus> bus (gst_pipeline_get_bus (GST_PIPELINE (run.pipeline)));
  const guint bus_watch = gst_bus_add_watch (bus.get (), on_bus_message, &run);
  const guint tick = g_timeout_add (PROGRESS_INTERVAL_MS, on_progress_tick, &run);

  InterruptWatch interrupt ([&run] {
    run.fail (EXIT_INTERRUPTED, "interrupted: the requests were cancelled and the upload "
        "deleted; nothing was written");
  });
  if (gst_element_set_state (run.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The reason is on the bus. */
    GPtr<GstMessage> msg (gst_bus_pop_filtered (bus.get (), GST_MESSAGE_ERROR));
    if (msg)
      on_error (&run, msg.get ());
    else
      run.fail (EXIT_INPUT, "cannot read " + out.input);
  } else {
    g_main_loop_run (run.loop);
  }

  g_source_remove (tick);
  g_source_remove (bus_watch);
  if (!run.failure)
    show_progress (&run, true);
  gst_element_set_state (run.pipeline, GST_STATE_NULL);
  progress.finish_line ();

  std::lock_guard<std::mutex> lk (run.lock);
  out.cues = std::move (run.cues);
  for (auto &sp : out.speakers)
    for (auto &e : sp.info.evidence)
      if (GST_CLOCK_TIME_IS_VALID (e.time))
        e.time = (GstClockTime) std::max<GstClockTimeDiff> (0,
            (GstClockTimeDiff) e.time + run.stream_offset);
  std::stable_sort (out.utterances.begin (), out.utterances.end (),
      [](const Utterance &a, const Utterance &b) { return a.start < b.start; });
  if (!GST_CLOCK_TIME_IS_VALID (out.duration))
    out.duration = run.sent.load ();
  return run.failure;
}

}  // namespace transcribe
