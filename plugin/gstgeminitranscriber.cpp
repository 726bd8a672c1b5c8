/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-geminitranscriber
 * @title: geminitranscriber
 *
 * Turns an audio (and optionally video) stream into timed subtitle cues with
 * named speakers, using Google Gemini. The input is cut into segments (at a
 * quiet point near `segment-duration`), each segment is encoded into a small
 * WebM (VP8 at the sampling `fps`, Opus 16 kHz mono) and sent with the
 * tabular-extraction prompt; the answer (a transcripts table and a speakers
 * table) becomes text buffers on `src`, speaker TAG and
 * `rstranscribe/speaker-change` events, a `GeminiTranscriptMeta` on every
 * cue, and `gemini-segment` / `gemini-speakers` element messages.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 uridecodebin uri=file:///talk.mp4 name=d \
 *   d. ! queue ! audioconvert ! t.audio_sink \
 *   d. ! queue ! videoconvert ! t.video_sink \
 *   geminitranscriber name=t ! srtenc ! filesink location=talk.srt
 * ]| Transcribes a file to SRT, names read from the pictures too.
 * |[
 * gst-launch-1.0 filesrc location=podcast.ogg ! decodebin ! audioconvert ! \
 *   geminitranscriber context="Hosts: Ana Ruiz, Tom Berg" ! webvttenc ! \
 *   filesink location=podcast.vtt
 * ]| Audio only, with names given as context.
 *
 * Since: 0.1
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgeminitranscriber-private.h"

#include <algorithm>
#include <memory>

#include "client.h"

GST_DEBUG_CATEGORY (gst_gemini_transcriber_debug);

using gemini::GPtr;
using transcriber::Settings;
using transcriber::State;

enum {
  PROP_0,
  PROP_API_ENDPOINT,
  PROP_API_KEY,
  PROP_VERTEX,
  PROP_PROJECT,
  PROP_LOCATION,
  PROP_ACCESS_TOKEN,
  PROP_MODEL,
  PROP_SEGMENT_DURATION,
  PROP_FPS,
  PROP_MEDIA_RESOLUTION,
  PROP_MAX_CONCURRENT_REQUESTS,
  PROP_CONTEXT,
  PROP_LANGUAGE,
  PROP_TEMPERATURE,
  PROP_SEED,
  PROP_LATENCY,
  PROP_LATENESS,
  PROP_MAX_RETRIES,
  PROP_REQUEST_TIMEOUT,
  PROP_MAX_VIDEO_SIDE,
  PROP_MAX_INLINE_BYTES,
  PROP_MODE,
  PROP_WINDOW_DURATION,
  PROP_STREAM_CUES,
  PROP_TIMING,
  PROP_EVIDENCE,
};

static GstStaticPadTemplate audio_sink_template =
GST_STATIC_PAD_TEMPLATE ("audio_sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, layout = (string) interleaved"));

/* Any raw video, 8-bit 4:2:0 first (one structure each: caps keep the
 * order of structures, not of the values in a list). The pictures become
 * I420, and an upstream that can make several formats makes the first one
 * it shares with us: videotestsrc would otherwise make 64-bit ABGR, 16 MB
 * per 1080p frame. See gst_gemini_transcriber_video_query. */
static GstStaticPadTemplate video_sink_template =
GST_STATIC_PAD_TEMPLATE ("video_sink", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS ("video/x-raw, format = (string) I420; "
        "video/x-raw, format = (string) NV12; video/x-raw"));

/* utf8 first: it is what muxers and subtitle encoders render faithfully;
 * downstream that only takes markup (or a capsfilter) gets coloured labels. */
static GstStaticPadTemplate src_template =
GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("text/x-raw, format = (string) { utf8, pango-markup }"));

#define gst_gemini_transcriber_parent_class parent_class
G_DEFINE_TYPE_WITH_PRIVATE (GstGeminiTranscriber, gst_gemini_transcriber,
    GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (geminitranscriber, "geminitranscriber",
    GST_RANK_NONE, GST_TYPE_GEMINI_TRANSCRIBER);

GType
gst_gemini_media_resolution_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_GEMINI_MEDIA_RESOLUTION_AUTO,
        "Medium below 5 minutes of media per request, low above", "auto"},
    {GST_GEMINI_MEDIA_RESOLUTION_LOW,
        "Low: fewest tokens per frame, for long or static video", "low"},
    {GST_GEMINI_MEDIA_RESOLUTION_MEDIUM,
        "Medium: the model's default detail", "medium"},
    {GST_GEMINI_MEDIA_RESOLUTION_HIGH,
        "High: small on-screen text, most tokens per frame", "high"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstGeminiMediaResolution", values));
  return type;
}

GType
gst_gemini_timing_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_GEMINI_TIMING_AUDIO,
        "Audio: each cue moved onto the speech the model's time points at",
        "audio"},
    {GST_GEMINI_TIMING_MODEL,
        "Model: the times the model wrote (whole seconds), shared between cues",
        "model"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstGeminiTiming", values));
  return type;
}

GType
gst_gemini_transcriber_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_GEMINI_TRANSCRIBER_MODE_AUTO,
        "Whole for files (not live), streaming for live sources", "auto"},
    {GST_GEMINI_TRANSCRIBER_MODE_STREAMING,
        "Streaming: one request per segment, cues while the input plays",
        "streaming"},
    {GST_GEMINI_TRANSCRIBER_MODE_WHOLE,
        "Whole: the model sees the whole input (uploaded once), cues at the end",
        "whole"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstGeminiTranscriberMode", values));
  return type;
}

GstClockTime
transcriber::segment_target (const Settings & s, bool live, bool whole)
{
  if (whole)
    return WHOLE_SEGMENT_TARGET;
  guint ms = s.segment_duration;
  if (ms == 0)
    ms = live ? gemini::defaults::SEGMENT_MS_LIVE : gemini::defaults::SEGMENT_MS_FILE;
  return ms * GST_MSECOND;
}

/* What a live segment adds to upstream's latency: its longest cut, then
 * the allowance for the request. A cue at the segment's start waits all of
 * it. */
GstClockTime
transcriber::live_latency (const Settings & s)
{
  const gemini::SegmenterSettings seg { segment_target (s, true, false) };
  return seg.longest () + s.latency * GST_MSECOND;
}

transcriber::Settings
transcriber::settings_snapshot (GstGeminiTranscriber * self)
{
  Settings s;
  {
    std::lock_guard < std::mutex > lk (self->priv->settings_lock);
    s = self->priv->settings;
  }
  /* Like the SDKs: the environment chooses only what the user did not. */
  if (!s.vertex_set)
    s.vertex = gemini::vertex_from_environment ();
  return s;
}

static gboolean
gst_gemini_transcriber_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  const bool audio = pad == self->audio_sink;
  bool ok = true;

  if (GST_EVENT_TYPE (event) != GST_EVENT_FLUSH_START
      && GST_EVENT_TYPE (event) != GST_EVENT_FLUSH_STOP)
    transcriber::note_pad_started (self, audio);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:
      transcriber::on_stream_start (self, audio, event);
      break;
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      ok = transcriber::on_caps (self, audio, caps);
      break;
    }
    case GST_EVENT_SEGMENT:
      ok = transcriber::on_segment (self, audio, event);
      break;
    case GST_EVENT_GAP:
      transcriber::on_gap (self, audio, event);
      break;
    case GST_EVENT_TAG:
      transcriber::on_tags (self, audio, event);
      break;
    case GST_EVENT_EOS:
      transcriber::on_eos (self, audio);
      break;
    case GST_EVENT_FLUSH_START:
      transcriber::start_flush (self);
      break;
    case GST_EVENT_FLUSH_STOP:{
      gboolean reset_time;
      gst_event_parse_flush_stop (event, &reset_time);
      transcriber::stop_flush (self, reset_time);
      break;
    }
    default:
      /* Audio/video events (tags, segment-done...) do not describe the
       * text stream; only the ones above are translated to src. */
      break;
  }
  gst_event_unref (event);
  return ok;
}

/* The default answer orders the caps as the caller's filter does, which
 * would let upstream's first choice win over the template's order. */
static gboolean
gst_gemini_transcriber_video_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  if (GST_QUERY_TYPE (query) != GST_QUERY_CAPS)
    return gst_pad_query_default (pad, parent, query);
  GstCaps *filter;
  gst_query_parse_caps (query, &filter);
  GPtr<GstCaps> ours (gst_pad_get_pad_template_caps (pad));
  GPtr<GstCaps> result (filter ? gst_caps_intersect_full (ours.get (), filter,
          GST_CAPS_INTERSECT_FIRST) : gst_caps_ref (ours.get ()));
  gst_query_set_caps_result (query, result.get ());
  return TRUE;
}

static gboolean
gst_gemini_transcriber_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_LATENCY:{
      gboolean live;
      GstClockTime min, max;
      if (!transcriber::upstream_latency (self, &live, &min, &max))
        return FALSE;
      Settings s = transcriber::settings_snapshot (self);
      {
        std::lock_guard < std::mutex > lk (self->priv->state_lock);
        State & st = self->priv->state;
        st.latency_known = true;
        st.live = live;
        st.upstream_min = min;
      }
      /* A cue can only leave once its whole segment has been cut, sent and
       * answered: one segment plus the allowance for the request. */
      if (live) {
        GstClockTime ours = transcriber::live_latency (s);
        min += ours;
        if (GST_CLOCK_TIME_IS_VALID (max))
          max += ours;
      }
      GST_DEBUG_OBJECT (self, "latency: live %d min %" GST_TIME_FORMAT, live,
          GST_TIME_ARGS (min));
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_gemini_transcriber_src_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);

  /* Both sink pads usually come from one demuxer: seeking it once is
   * enough, through the pad that has a stream behind it. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_SEEK) {
    bool audio;
    {
      std::lock_guard < std::mutex > lk (self->priv->state_lock);
      audio = !self->video_sink || (gst_pad_is_linked (self->audio_sink)
          && !self->priv->state.input.audio_absent);
    }
    return gst_pad_push_event (audio ? self->audio_sink : self->video_sink, event);
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_LATENCY) {
    GstClockTime latency;
    gst_event_parse_latency (event, &latency);
    GST_DEBUG_OBJECT (self, "pipeline latency %" GST_TIME_FORMAT, GST_TIME_ARGS (latency));
    self->priv->pipeline_latency = latency;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_gemini_transcriber_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (active) {
    self->priv->out = transcriber::OutputState ();
    return gst_pad_start_task (pad,
        (GstTaskFunction) transcriber::src_loop, self, NULL);
  }
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    self->priv->state.stopping = true;
    self->priv->cond.notify_all ();
  }
  return gst_pad_stop_task (pad);
}

static GstStateChangeReturn
gst_gemini_transcriber_change_state (GstElement * element,
    GstStateChange transition)
{
  auto self = GST_GEMINI_TRANSCRIBER (element);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !transcriber::start_stream (self))
    return GST_STATE_CHANGE_FAILURE;
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    self->priv->state.stopping = true;
    if (self->priv->state.cancellable)
      g_cancellable_cancel (self->priv->state.cancellable.get ());
    self->priv->cond.notify_all ();
  }

  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    transcriber::stop_stream (self);
  return ret;
}

static GstPad *
gst_gemini_transcriber_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar *, const GstCaps *)
{
  auto self = GST_GEMINI_TRANSCRIBER (element);

  GST_OBJECT_LOCK (self);
  if (self->video_sink) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "only one video_sink pad is supported");
    return NULL;
  }
  GstPad *pad = gst_pad_new_from_template (templ, "video_sink");
  self->video_sink = pad;
  GST_OBJECT_UNLOCK (self);

  gst_pad_set_chain_function (pad,
      GST_DEBUG_FUNCPTR (transcriber::video_chain));
  gst_pad_set_event_function (pad,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_sink_event));
  gst_pad_set_query_function (pad,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_video_query));
  gst_pad_set_active (pad, TRUE);
  gst_element_add_pad (element, pad);
  return pad;
}

static void
gst_gemini_transcriber_release_pad (GstElement * element, GstPad * pad)
{
  auto self = GST_GEMINI_TRANSCRIBER (element);

  GST_OBJECT_LOCK (self);
  if (pad == self->video_sink)
    self->video_sink = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_element_remove_pad (element, pad);
}

static void
gst_gemini_transcriber_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  auto self = GST_GEMINI_TRANSCRIBER (object);
  std::lock_guard < std::mutex > lk (self->priv->settings_lock);
  Settings & s = self->priv->settings;
  auto str = [value]() {
    const gchar *v = g_value_get_string (value);
    return std::string (v ? v : "");
  };

  switch (prop_id) {
    case PROP_API_ENDPOINT: s.api_endpoint = str (); break;
    case PROP_API_KEY: s.api_key = str (); break;
    case PROP_VERTEX:
      s.vertex = g_value_get_boolean (value);
      s.vertex_set = true;
      break;
    case PROP_PROJECT: s.project = str (); break;
    case PROP_LOCATION: s.location = str (); break;
    case PROP_ACCESS_TOKEN: s.access_token = str (); break;
    case PROP_MODEL: s.model = str (); break;
    case PROP_SEGMENT_DURATION: s.segment_duration = g_value_get_uint (value); break;
    case PROP_FPS: s.fps = g_value_get_double (value); break;
    case PROP_MEDIA_RESOLUTION:
      s.media_resolution = (GstGeminiMediaResolution) g_value_get_enum (value);
      break;
    case PROP_MAX_CONCURRENT_REQUESTS: s.max_concurrent = g_value_get_uint (value); break;
    case PROP_CONTEXT: s.context = str (); break;
    case PROP_LANGUAGE: s.language = str (); break;
    case PROP_TEMPERATURE: s.temperature = g_value_get_double (value); break;
    case PROP_SEED: s.seed = g_value_get_int (value); break;
    case PROP_LATENCY: s.latency = g_value_get_uint (value); break;
    case PROP_LATENESS: s.lateness = g_value_get_uint (value); break;
    case PROP_MAX_RETRIES: s.max_retries = g_value_get_uint (value); break;
    case PROP_REQUEST_TIMEOUT: s.request_timeout = g_value_get_uint (value); break;
    case PROP_MAX_VIDEO_SIDE: s.max_video_side = g_value_get_uint (value); break;
    case PROP_MAX_INLINE_BYTES: s.max_inline_bytes = g_value_get_uint (value); break;
    case PROP_MODE: s.mode = (GstGeminiTranscriberMode) g_value_get_enum (value); break;
    case PROP_WINDOW_DURATION: s.window_duration = g_value_get_uint (value); break;
    case PROP_STREAM_CUES: s.stream_cues = g_value_get_boolean (value); break;
    case PROP_TIMING: s.timing = (GstGeminiTiming) g_value_get_enum (value); break;
    case PROP_EVIDENCE: s.evidence = g_value_get_boolean (value); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_gemini_transcriber_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  auto self = GST_GEMINI_TRANSCRIBER (object);
  std::lock_guard < std::mutex > lk (self->priv->settings_lock);
  const Settings & s = self->priv->settings;

  switch (prop_id) {
    case PROP_API_ENDPOINT: g_value_set_string (value, s.api_endpoint.c_str ()); break;
    /* Write-only: a key must not be readable back through gst-inspect or
     * `gst-launch-1.0 -v`. */
    case PROP_VERTEX: g_value_set_boolean (value, s.vertex); break;
    case PROP_PROJECT: g_value_set_string (value, s.project.c_str ()); break;
    case PROP_LOCATION: g_value_set_string (value, s.location.c_str ()); break;
    case PROP_MODEL: g_value_set_string (value, s.model.c_str ()); break;
    case PROP_SEGMENT_DURATION: g_value_set_uint (value, s.segment_duration); break;
    case PROP_FPS: g_value_set_double (value, s.fps); break;
    case PROP_MEDIA_RESOLUTION: g_value_set_enum (value, s.media_resolution); break;
    case PROP_MAX_CONCURRENT_REQUESTS: g_value_set_uint (value, s.max_concurrent); break;
    case PROP_CONTEXT: g_value_set_string (value, s.context.c_str ()); break;
    case PROP_LANGUAGE: g_value_set_string (value, s.language.c_str ()); break;
    case PROP_TEMPERATURE: g_value_set_double (value, s.temperature); break;
    case PROP_SEED: g_value_set_int (value, s.seed); break;
    case PROP_LATENCY: g_value_set_uint (value, s.latency); break;
    case PROP_LATENESS: g_value_set_uint (value, s.lateness); break;
    case PROP_MAX_RETRIES: g_value_set_uint (value, s.max_retries); break;
    case PROP_REQUEST_TIMEOUT: g_value_set_uint (value, s.request_timeout); break;
    case PROP_MAX_VIDEO_SIDE: g_value_set_uint (value, s.max_video_side); break;
    case PROP_MAX_INLINE_BYTES: g_value_set_uint (value, s.max_inline_bytes); break;
    case PROP_MODE: g_value_set_enum (value, s.mode); break;
    case PROP_WINDOW_DURATION: g_value_set_uint (value, s.window_duration); break;
    case PROP_STREAM_CUES: g_value_set_boolean (value, s.stream_cues); break;
    case PROP_TIMING: g_value_set_enum (value, s.timing); break;
    case PROP_EVIDENCE: g_value_set_boolean (value, s.evidence); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_gemini_transcriber_finalize (GObject * object)
{
  auto self = GST_GEMINI_TRANSCRIBER (object);
  std::destroy_at (self->priv);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_gemini_transcriber_init (GstGeminiTranscriber * self)
{
  self->priv = std::construct_at (static_cast<transcriber::Private *>
      (gst_gemini_transcriber_get_instance_private (self)));

  self->audio_sink = gst_pad_new_from_static_template (&audio_sink_template,
      "audio_sink");
  gst_pad_set_chain_function (self->audio_sink,
      GST_DEBUG_FUNCPTR (transcriber::audio_chain));
  gst_pad_set_event_function (self->audio_sink,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->audio_sink);

  self->src = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->src,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_src_query));
  gst_pad_set_event_function (self->src,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_src_event));
  gst_pad_set_activatemode_function (self->src,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_src_activate_mode));
  gst_pad_use_fixed_caps (self->src);
  gst_element_add_pad (GST_ELEMENT (self), self->src);
}

static void
gst_gemini_transcriber_class_init (GstGeminiTranscriberClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  const Settings defaults;
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const auto rw_ready = (GParamFlags) (G_PARAM_READWRITE |
      G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto rw_playing = (GParamFlags) (G_PARAM_READWRITE |
      G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->set_property = gst_gemini_transcriber_set_property;
  gobject_class->get_property = gst_gemini_transcriber_get_property;
  gobject_class->finalize = gst_gemini_transcriber_finalize;

  g_object_class_install_property (gobject_class, PROP_API_ENDPOINT,
      g_param_spec_string ("api-endpoint", "API endpoint",
          "Base URL of the Gemini API; empty = $GOOGLE_GEMINI_BASE_URL "
          "($GOOGLE_VERTEX_BASE_URL with vertex), else the public endpoint",
          "", rw_ready));
  g_object_class_install_property (gobject_class, PROP_API_KEY,
      g_param_spec_string ("api-key", "API key",
          "Gemini API key (write-only, never logged); empty = $GOOGLE_API_KEY, "
          "else $GEMINI_API_KEY", "",
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_VERTEX,
      g_param_spec_boolean ("vertex", "Vertex AI",
          "Use Vertex AI (project, location, access-token) instead of the "
          "Gemini Developer API; unset = $GOOGLE_GENAI_USE_VERTEXAI (true or 1)",
          FALSE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_PROJECT,
      g_param_spec_string ("project", "Vertex project",
          "Google Cloud project for Vertex AI; empty = $GOOGLE_CLOUD_PROJECT",
          "", rw_ready));
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Vertex location",
          "Vertex AI location (global, us, eu or a region such as europe-west9); "
          "empty = $GOOGLE_CLOUD_LOCATION, else global", "", rw_ready));
  g_object_class_install_property (gobject_class, PROP_ACCESS_TOKEN,
      g_param_spec_string ("access-token", "Vertex access token",
          "OAuth2 bearer token for Vertex AI (write-only, never logged)", "",
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Gemini model id, e.g. gemini-3.8-flash or gemini-2.5-pro; applies "
          "from the next segment", defaults.model.c_str (), rw_playing));
  g_object_class_install_property (gobject_class, PROP_SEGMENT_DURATION,
      g_param_spec_uint ("segment-duration", "Segment duration",
          "Streaming mode: milliseconds of media per request, cut at a nearby "
          "quiet point; 0 = 120000 for files, 10000 for live sources", 0, 3600000,
          defaults.segment_duration, rw_playing));
  g_object_class_install_property (gobject_class, PROP_FPS,
      g_param_spec_double ("fps", "Sampling frame rate",
          "Video frames per second sent to the model (videoMetadata.fps)",
          0.01, 24.0, defaults.fps, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MEDIA_RESOLUTION,
      g_param_spec_enum ("media-resolution", "Media resolution",
          "Tokens per video frame the model spends; auto = medium below 5 "
          "minutes of media per request, low above",
          GST_TYPE_GEMINI_MEDIA_RESOLUTION, GST_GEMINI_MEDIA_RESOLUTION_AUTO,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_CONCURRENT_REQUESTS,
      g_param_spec_uint ("max-concurrent-requests", "Max concurrent requests",
          "Segments transcribed at once; when not live, upstream waits while "
          "this many are in flight", 1, 64, defaults.max_concurrent, rw_ready));
  g_object_class_install_property (gobject_class, PROP_CONTEXT,
      g_param_spec_string ("context", "Context",
          "Free text added to every prompt (speaker names, vocabulary) to fix "
          "the spelling of proper nouns",
          "", rw_playing));
  g_object_class_install_property (gobject_class, PROP_LANGUAGE,
      g_param_spec_string ("language", "Language",
          "BCP-47 language of the transcript (e.g. en, fr-FR); empty = as spoken",
          "", rw_playing));
  g_object_class_install_property (gobject_class, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "Sampling temperature; -1 = the model family's (0 with topP 0 for "
          "Gemini 2.x, the default for Gemini 3)", -1.0, 2.0, defaults.temperature, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_int ("seed", "Seed",
          "Fixed sampling seed, for repeatable answers", G_MININT, G_MAXINT,
          defaults.seed, rw_playing));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "Live: milliseconds allowed for a request on top of the longest "
          "segment; a segment with no answer by then becomes a gap", 0, G_MAXUINT,
          defaults.latency, rw_ready));
  g_object_class_install_property (gobject_class, PROP_LATENESS,
      g_param_spec_uint ("lateness", "Lateness",
          "Milliseconds by which to shift the output forward in time", 0,
          G_MAXUINT, defaults.lateness, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_RETRIES,
      g_param_spec_uint ("max-retries", "Max retries",
          "Retries of a failed request (429, 5xx, timeouts), with backoff, "
          "before the segment becomes a gap", 0, 20,
          defaults.max_retries, rw_ready));
  g_object_class_install_property (gobject_class, PROP_REQUEST_TIMEOUT,
      g_param_spec_uint ("request-timeout", "Request timeout",
          "Milliseconds one attempt of a request may take, plus a tenth of the "
          "duration of the media it is about", 1000, 3600000,
          defaults.request_timeout, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_VIDEO_SIDE,
      g_param_spec_uint ("max-video-side", "Max video side",
          "Long side in pixels of the pictures sent (smaller input is not "
          "upscaled)", 64, 4096, defaults.max_video_side, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_INLINE_BYTES,
      g_param_spec_uint ("max-inline-bytes", "Max inline bytes",
          "Largest encoded segment sent inside the request; larger ones go "
          "through the Files API (0 = always upload)", 0, defaults.max_inline_bytes,
          defaults.max_inline_bytes,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "whole: the input is uploaded while it plays and transcribed as one "
          "video at EOS; streaming: a request per segment, cues while it plays; "
          "auto = whole for files, streaming for live sources",
          GST_TYPE_GEMINI_TRANSCRIBER_MODE, defaults.mode, rw_ready));
  g_object_class_install_property (gobject_class, PROP_WINDOW_DURATION,
      g_param_spec_uint ("window-duration", "Window duration",
          "Whole mode: seconds of the file per request, longer files in windows "
          "of the same upload; 0 = as long as the model's limits allow", 0, 86400,
          defaults.window_duration,
          rw_ready));
  g_object_class_install_property (gobject_class, PROP_STREAM_CUES,
      g_param_spec_boolean ("stream-cues", "Stream cues",
          "Output each cue as soon as its row of a streamed answer is complete; "
          "such cues carry no speaker label (the speakers table comes last)",
          defaults.stream_cues, rw_playing));
  g_object_class_install_property (gobject_class, PROP_TIMING,
      g_param_spec_enum ("timing", "Timing",
          "Where cues start and end: on the speech found in the audio near the "
          "model's times, or at the model's times; from the next segment on",
          GST_TYPE_GEMINI_TIMING, defaults.timing, rw_playing));
  g_object_class_install_property (gobject_class, PROP_EVIDENCE,
      g_param_spec_boolean ("evidence", "Evidence",
          "Ask, for each speaker's name, company, position and role, what was shown "
          "or said and when; in gemini-speakers and gemini-segment",
          defaults.evidence, rw_playing));

  gst_element_class_add_static_pad_template (element_class,
      &audio_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &video_sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Gemini multimodal transcriber", "Filter/Audio/Video/Text",
      "Transcribes audio and video into timed subtitle cues with named "
      "speakers, read from the sound and the pictures, with Google Gemini",
      "gst-gemini developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_change_state);
  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_request_new_pad);
  element_class->release_pad =
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_release_pad);

  gst_type_mark_as_plugin_api (GST_TYPE_GEMINI_MEDIA_RESOLUTION,
      (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_GEMINI_TRANSCRIBER_MODE,
      (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_GEMINI_TIMING, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_gemini_transcriber_debug, "geminitranscriber",
      0, "Gemini multimodal transcriber");
}
