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

#include "gstgeminitranscriber.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gst/audio/audio.h>
#include <gst/tag/tag.h>
#include <gst/video/video.h>

#include "client.h"
#include "clip_transcription.h"
#include "cue_builder.h"
#include "glib_ptr.h"
#include "gstgeminimeta.h"
#include "model_family.h"
#include "prompt.h"
#include "frame_scaler.h"
#include "segment_encoder.h"
#include "segmenter.h"
#include "speaker_registry.h"
#include "transcript_parser.h"
#include "whole_file.h"

GST_DEBUG_CATEGORY_STATIC (gst_gemini_transcriber_debug);
#define GST_CAT_DEFAULT gst_gemini_transcriber_debug

using gemini::GPtr;

namespace {

constexpr const char *DEFAULT_MODEL = "gemini-3.8-flash";
constexpr guint DEFAULT_SEGMENT_DURATION = 0;
constexpr guint AUTO_SEGMENT_DURATION_FILE = 120000;
constexpr guint AUTO_SEGMENT_DURATION_LIVE = 10000;
constexpr gdouble DEFAULT_FPS = 1.0;
constexpr guint DEFAULT_MAX_CONCURRENT = 4;
constexpr gdouble DEFAULT_TEMPERATURE = -1.0;   /* the model family's */
constexpr gint DEFAULT_SEED = 42;
constexpr guint DEFAULT_LATENCY = 8000;
constexpr guint DEFAULT_LATENESS = 0;
constexpr guint DEFAULT_MAX_RETRIES = 4;
constexpr guint DEFAULT_REQUEST_TIMEOUT = 120000;
constexpr guint DEFAULT_MAX_VIDEO_SIDE = 768;
constexpr const char *DEFAULT_LOCATION = "";
constexpr gboolean DEFAULT_STREAM_CUES = FALSE;

/* Encoded media bytes above which a segment goes through the Files API:
 * base64 grows it by 4/3 and the whole request must stay under 20 MB. */
constexpr guint DEFAULT_MAX_INLINE_BYTES = 14 * 1024 * 1024;
constexpr GstGeminiTranscriberMode DEFAULT_MODE = GST_GEMINI_TRANSCRIBER_MODE_AUTO;
constexpr guint DEFAULT_WINDOW_DURATION = 0;
/* A whole-mode segment is cut only by EOS (or a caps change). */
constexpr GstClockTime WHOLE_SEGMENT_TARGET = G_MAXUINT64 / 4;
/* Live: how long a cut segment may wait for a lagging video stream to pass
 * its end before it is sent without the missing frames. Not live, video
 * always comes (or ends), so the segment waits for it. */
constexpr GstClockTime VIDEO_LAG_LIMIT = 5 * GST_SECOND;
/* Not live: how far the video may run ahead of the audio, which decides
 * the cuts. Further ahead, its sampled frames would pile up raw while the
 * audio waits for room among the requests in flight. */
constexpr GstClockTime VIDEO_LEAD_LIMIT = 5 * GST_SECOND;
/* Not live: how far the audio may run ahead of a video stream that is
 * still flowing. Further ahead, its encoded packets pile up in front of the
 * muxer, which interleaves by time: a whole-mode encoder lives as long as
 * the input, so that would grow with it. */
constexpr GstClockTime AUDIO_LEAD_LIMIT = 5 * GST_SECOND;
/* Video that delivered nothing for this long (wall time) is sparse (a still
 * picture, a slide deck) or waits on the audio upstream: the audio stops
 * waiting for it rather than deadlock. */
constexpr gint64 VIDEO_STALL_US = G_USEC_PER_SEC;
/* How long the first segment waits for the video pad's caps once its
 * stream has started, and for its stream to start at all: a pad linked to
 * a branch that will never carry anything (a recipe's video branch on an
 * audio-only file) must not cost the whole wait. */
constexpr auto VIDEO_CAPS_WAIT = std::chrono::seconds (5);
constexpr auto VIDEO_START_WAIT = std::chrono::seconds (1);
/* A linked sink pad that received nothing (not even a stream start) while
 * the other delivered this much is taken for absent: demuxers start all
 * their streams together, so it has no stream behind it. */
constexpr GstClockTime ABSENT_AFTER = 2 * GST_SECOND;
constexpr auto SRC_LOOP_GRANULARITY = std::chrono::milliseconds (100);
/* Live: how far past its time a cue may leave and still count as on time:
 * a frame at 25 fps, well above the wake-up of a thread a sink held. */
constexpr GstClockTime LATE_TOLERANCE = 40 * GST_MSECOND;

struct Settings {
  std::string api_endpoint;
  std::string api_key;
  bool vertex = false;
  bool vertex_set = false;            /* else $GOOGLE_GENAI_USE_VERTEXAI decides */
  std::string project;
  std::string location = DEFAULT_LOCATION;
  std::string access_token;
  std::string model = DEFAULT_MODEL;
  guint segment_duration = DEFAULT_SEGMENT_DURATION;
  gdouble fps = DEFAULT_FPS;
  GstGeminiMediaResolution media_resolution = GST_GEMINI_MEDIA_RESOLUTION_AUTO;
  guint max_concurrent = DEFAULT_MAX_CONCURRENT;
  std::string context;
  std::string language;
  gdouble temperature = DEFAULT_TEMPERATURE;
  gint seed = DEFAULT_SEED;
  guint latency = DEFAULT_LATENCY;
  guint lateness = DEFAULT_LATENESS;
  guint max_retries = DEFAULT_MAX_RETRIES;
  guint request_timeout = DEFAULT_REQUEST_TIMEOUT;
  guint max_video_side = DEFAULT_MAX_VIDEO_SIDE;
  guint max_inline_bytes = DEFAULT_MAX_INLINE_BYTES;
  GstGeminiTranscriberMode mode = DEFAULT_MODE;
  guint window_duration = DEFAULT_WINDOW_DURATION;
  bool stream_cues = DEFAULT_STREAM_CUES;
};

/* A stretch of input, in running time, that becomes one request. */
struct Segment {
  guint64 seq = 0;
  GstClockTime start = 0;
  GstClockTime end = GST_CLOCK_TIME_NONE;
  /* Whole mode: the encoder writes into the upload, so it is declared
   * after it and destroyed first. */
  std::unique_ptr<gemini::UploadStream> upload;
  gemini::QuietPoints quiet;         /* whole mode: where windows may be cut */
  bool whole = false;
  std::unique_ptr<gemini::SegmentEncoder> encoder;
  bool had_sound = false;
  bool has_video = false;
  bool fed = false;                  /* the encoder got at least one buffer */
  bool video_fed = false;            /* ... and at least one video frame */
  Settings settings;                 /* as they were when the segment opened */
};

enum class Status { Ok, Silent, Failed, Blocked, Late };

const char *
status_name (Status s)
{
  switch (s) {
    case Status::Ok: return "ok";
    case Status::Silent: return "silent";
    case Status::Failed: return "failed";
    case Status::Blocked: return "blocked";
    case Status::Late: return "late";
  }
  return "failed";
}

/* What a finished segment job hands to the src task. */
struct Outcome {
  guint64 seq = 0;
  GstClockTime start = 0;
  GstClockTime end = 0;
  Status status = Status::Failed;
  std::string error;
  std::optional<gemini::Error> failure;  /* what made it fail, as the engine typed it */
  gemini::SegmentTranscript transcript;
  std::string raw_text;
  gemini::UsageMetadata usage;
  GstClockTime request_time = 0;     /* wall time from dispatch to answer */
  std::optional<gemini::Error> fatal;  /* nothing will work until a person acts */
  gsize media_bytes = 0;
  bool uploaded = false;
  /* How the Files API got the bytes: "" (inline), "sized" (one known size),
   * "while-encoding" (a session of unknown size), "after-encoding" (the
   * service refused that, so the size was given at the end). */
  const char *upload_path = "";
  std::string model_version;         /* the serving model, as the answer names it */
  bool whole = false;
  guint requests = 0;
  guint windows = 0;
};

/* A video frame kept at the sampling rate, already at the size it is sent. */
struct SampledFrame {
  GstClockTime rt;
  GPtr<GstBuffer> frame;
  GPtr<GstCaps> caps;
};

struct State {
  std::unique_ptr<gemini::Client> client;
  GPtr<GCancellable> cancellable;
  std::vector<std::thread> workers;
  bool stopping = false;
  bool flushing = false;
  bool fatal = false;
  guint64 epoch = 0;                 /* bumped by every flush: late jobs are dropped */

  /* input */
  GstAudioInfo audio_info;
  bool audio_info_valid = false;
  GPtr<GstCaps> audio_caps;
  GPtr<GstCaps> video_caps;
  /* From the video's image-orientation tag: how its frames are turned
   * upright before they are sent. */
  GstVideoOrientationMethod video_orientation = GST_VIDEO_ORIENTATION_IDENTITY;
  bool caps_changed = false;
  /* A pad has started once anything (event or buffer) reached it; one
   * that never did is declared absent (ABSENT_AFTER). */
  bool audio_started = false;
  bool video_started = false;
  bool audio_absent = false;
  bool video_absent = false;
  GstClockTime first_audio_rt = GST_CLOCK_TIME_NONE;
  GstClockTime first_video_rt = GST_CLOCK_TIME_NONE;
  GstSegment in_segment;
  bool have_segment = false;
  GstSegment video_segment;
  bool have_video_segment = false;
  guint32 video_segment_seqnum = GST_SEQNUM_INVALID;
  std::string upstream_stream_id;
  guint group_id = 0;
  bool have_group_id = false;
  guint32 segment_seqnum = GST_SEQNUM_INVALID;
  bool latency_known = false;
  bool live = false;
  bool mode_warned = false;          /* mode=whole that cannot be: said once */
  GstClockTime upstream_min = 0;

  /* segmentation */
  gemini::Segmenter segmenter;
  std::optional<Segment> current;
  std::deque<Segment> closing;       /* cut, waiting for video to pass their end */
  std::deque<Segment> jobs;          /* ready, waiting for a worker */
  std::deque<SampledFrame> pending_video;
  /* For video_caps; shared so that the video thread scales without the lock. */
  std::shared_ptr<gemini::FrameScaler> scaler;
  GstClockTime audio_position = GST_CLOCK_TIME_NONE;
  GstClockTime video_position = GST_CLOCK_TIME_NONE;
  GstClockTime video_end = GST_CLOCK_TIME_NONE;   /* set at video EOS */
  GstClockTime next_video_sample = 0;
  bool ever_audio = false;
  bool audio_eos = false;
  bool video_eos = false;
  bool video_waiting = false;        /* not live: the video ran ahead of the audio */
  bool audio_waiting = false;        /* not live: the audio ran ahead of the video */
  gint64 video_arrival_us = 0;       /* monotonic time of the last video buffer */
  guint64 next_seq = 0;
  guint in_flight = 0;               /* cut but not yet output */

  /* output */
  std::map<guint64, Outcome> done;
  /* stream-cues: rows read from answers still streaming, not yet output */
  std::map<guint64, std::vector<gemini::Utterance>> streamed;
  /* [start, end) of cut segments not yet output, for live deadlines */
  std::map<guint64, std::pair<GstClockTime, GstClockTime>> cut_segments;
  guint64 next_out = 0;
  bool eos_pending = false;
  std::vector<gemini::KnownSpeaker> known_speakers;
};

/* Only touched by the src pad task (and reset while it is stopped). */
struct OutputState {
  bool sticky_sent = false;
  bool markup = false;
  bool discont = true;
  GstClockTime position = 0;         /* input running time up to which src is covered */
  GstClockTime lateness = 0;
  GstSegment segment;                /* input segment, base moved by lateness */
  gemini::SpeakerRegistry registry;
  gemini::CueBuilder cues;
  std::string current_speaker;
  std::string spoken_language;       /* as the model reported it */
  guint64 streamed_seq = 0;          /* segment whose first rows were output early */
  gsize streamed_rows = 0;           /* how many, 0 = none */
  /* Cues that ran past the end of the input segment since the last
   * gemini-segment message: cut to fit, or dropped when nothing was left. */
  guint past_end_cut = 0;
  guint past_end_dropped = 0;
  /* Live: the latency the element reported (upstream's and its own); NONE
   * when not live. Cues that missed their time since the last
   * gemini-segment message. */
  GstClockTime live_budget = GST_CLOCK_TIME_NONE;
  guint late_cues = 0;
};

struct Private {
  std::mutex settings_lock;
  Settings settings;                 /* guarded by settings_lock */

  std::mutex state_lock;
  std::condition_variable cond;      /* any change of `state` */
  std::condition_variable video_cond;  /* the audio moved on (or see cond) */
  std::condition_variable audio_cond;  /* the video moved on (or see cond) */
  State state;                       /* guarded by state_lock */

  OutputState out;                   /* src pad task only */
  std::atomic<GstFlowReturn> src_flow{GST_FLOW_OK};
  /* The latency the pipeline configured (its LATENCY event), which sinks
   * add to every running time; NONE until it comes. */
  std::atomic<GstClockTime> pipeline_latency{GST_CLOCK_TIME_NONE};
};

}  // namespace

/* Lives in the instance's private area (G_ADD_PRIVATE): constructed with
 * placement new in _init, destroyed in _finalize. */
typedef Private GstGeminiTranscriberPrivate;

struct _GstGeminiTranscriber {
  GstElement parent;
  GstPad *audio_sink;
  GstPad *video_sink;
  GstPad *src;
  Private *priv;
};

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

#define gst_gemini_transcriber_parent_class parent_class
G_DEFINE_TYPE_WITH_PRIVATE (GstGeminiTranscriber, gst_gemini_transcriber,
    GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (geminitranscriber, "geminitranscriber",
    GST_RANK_NONE, GST_TYPE_GEMINI_TRANSCRIBER);

/* ---------------------------------------------------------------------- */
/* helpers                                                                */

static GstClockTime
segment_target (const Settings & s, bool live, bool whole)
{
  if (whole)
    return WHOLE_SEGMENT_TARGET;
  guint ms = s.segment_duration;
  if (ms == 0)
    ms = live ? AUTO_SEGMENT_DURATION_LIVE : AUTO_SEGMENT_DURATION_FILE;
  return ms * GST_MSECOND;
}

/* What a live segment adds to upstream's latency: its longest cut, then
 * the allowance for the request. A cue at the segment's start waits all of
 * it. */
static GstClockTime
live_latency (const Settings & s)
{
  const gemini::SegmenterSettings seg { segment_target (s, true, false) };
  return seg.longest () + s.latency * GST_MSECOND;
}

/* The ISO-639 code matroskamux and friends understand, from a BCP-47 tag. */
static std::string
iso639_from_language (const std::string & language)
{
  std::string primary = language.substr (0, language.find_first_of ("-_"));
  for (auto & c : primary)
    c = g_ascii_tolower (c);
  if (primary.size () < 2 || primary.size () > 3)
    return {};
  if (primary.size () == 2 ? gst_tag_get_language_code_iso_639_2T (primary.c_str ())
      : gst_tag_get_language_code_iso_639_1 (primary.c_str ()))
    return primary;
  return {};
}

static gemini::MediaResolution
resolve_media_resolution (GstGeminiMediaResolution r, GstClockTime duration)
{
  switch (r) {
    case GST_GEMINI_MEDIA_RESOLUTION_LOW:
      return gemini::MediaResolution::Low;
    case GST_GEMINI_MEDIA_RESOLUTION_MEDIUM:
      return gemini::MediaResolution::Medium;
    case GST_GEMINI_MEDIA_RESOLUTION_HIGH:
      return gemini::MediaResolution::High;
    case GST_GEMINI_MEDIA_RESOLUTION_AUTO:
      break;
  }
  return gemini::auto_media_resolution (duration);
}

static gemini::ClientConfig
client_config_from_settings (const Settings & s)
{
  gemini::ClientConfig cfg;
  cfg.backend = s.vertex ? gemini::Backend::Vertex : gemini::Backend::Developer;
  cfg.endpoint = s.api_endpoint;
  cfg.api_key = s.api_key;
  cfg.project = s.project;
  cfg.location = s.location;
  cfg.access_token = s.access_token;
  cfg.request_timeout = s.request_timeout * GST_MSECOND;
  cfg.retry.max_attempts = s.max_retries + 1;
  cfg.resolve_from_environment ();
  return cfg;
}

/* The buffer with its PTS moved into the segment's own timeline, which
 * starts at 0 in the encoded file. A buffer nobody else holds is retimed in
 * place; a shared one costs a shallow copy, its memory still shared. */
static GPtr<GstBuffer>
retimed (GPtr<GstBuffer> buf, GstClockTime pts)
{
  GPtr<GstBuffer> own (gst_buffer_make_writable (buf.release ()));
  GST_BUFFER_PTS (own.get ()) = pts;
  GST_BUFFER_DTS (own.get ()) = GST_CLOCK_TIME_NONE;
  return own;
}

/* ---------------------------------------------------------------------- */
/* segmentation (streaming threads, state lock held)                      */

static void
dispatch_ready_segments (GstGeminiTranscriber * self, State & st)
{
  const bool expect_video = self->video_sink != nullptr && st.video_caps
      && !st.video_eos;
  bool dispatched = false;

  while (!st.closing.empty ()) {
    Segment & seg = st.closing.front ();
    const bool video_passed = !expect_video || !seg.has_video
        || (GST_CLOCK_TIME_IS_VALID (st.video_position)
        && st.video_position >= seg.end)
        || (st.live && GST_CLOCK_TIME_IS_VALID (st.audio_position)
        && st.audio_position >= seg.end + VIDEO_LAG_LIMIT);
    if (!video_passed)
      break;
    GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " [%" GST_TIME_FORMAT
        " - %" GST_TIME_FORMAT "] ready", seg.seq, GST_TIME_ARGS (seg.start),
        GST_TIME_ARGS (seg.end));
    st.jobs.push_back (std::move (seg));
    st.closing.pop_front ();
    dispatched = true;
  }
  if (dispatched)
    self->priv->cond.notify_all ();
}

static Settings
settings_snapshot (GstGeminiTranscriber * self)
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

/* Shrinks a frame to the size it is sent as soon as it is sampled: what
 * then waits for an encoder, or for the cut, is a sixth of a 1080p frame,
 * and the full frame goes back to its producer at once. Caps the scaler
 * cannot handle reach the encoder as they are; it scales them itself. */
static std::shared_ptr<gemini::FrameScaler>
frame_scaler (State & st, guint max_side)
{
  if (!st.scaler || !st.scaler->matches (st.video_caps.get (), max_side))
    st.scaler = gemini::FrameScaler::create (st.video_caps.get (), max_side);
  return st.scaler;
}

/* The conversion runs without the state lock (a 4K frame takes several
 * ms, which the audio thread and the src task need not wait for); the
 * caller checks for a flush or stop that came meanwhile. */
static SampledFrame
sample_frame (State & st, GstClockTime rt, GPtr<GstBuffer> frame, guint max_side,
    std::unique_lock < std::mutex > &lk)
{
  if (std::shared_ptr<gemini::FrameScaler> scaler = frame_scaler (st, max_side)) {
    lk.unlock ();
    GPtr<GstBuffer> small = scaler->scale (frame.get ());
    lk.lock ();
    if (small)
      return {rt, std::move (small), gemini::ref_ptr (scaler->caps ())};
  }
  return {rt, std::move (frame), gemini::ref_ptr (st.video_caps.get ())};
}

/* Not live, the first segment needs the video caps too; they may still be
 * on their way through the other streaming thread. */
static void
wait_for_video_caps (GstGeminiTranscriber * self, State & st,
    std::unique_lock < std::mutex > &lk)
{
  if (!self->video_sink || !gst_pad_is_linked (self->video_sink) || st.video_caps
      || st.video_eos || st.video_absent || st.live)
    return;
  auto done = [&] {
    return st.video_caps || st.video_eos || st.flushing || st.stopping;
  };
  if (!st.video_started)
    self->priv->cond.wait_for (lk, VIDEO_START_WAIT, [&] {
          return st.video_started || done ();});
  if (st.video_started)
    self->priv->cond.wait_for (lk, VIDEO_CAPS_WAIT, done);
}

/* A linked pad with nothing behind it stops being waited for, and the
 * application is told: a transcript without sound, or without pictures,
 * is not what it may have expected. */
static void
declare_absent (GstGeminiTranscriber * self, State & st, bool audio,
    GstClockTime delivered, std::unique_lock < std::mutex > &lk)
{
  bool &absent = audio ? st.audio_absent : st.video_absent;
  if (absent)
    return;
  absent = true;
  self->priv->cond.notify_all ();
  lk.unlock ();
  if (audio)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No audio reached audio_sink while the video delivered %.1f s: "
            "transcribing the pictures only.", (double) delivered / GST_SECOND),
        ("audio_sink is linked but received no stream"));
  else
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No video reached video_sink while the audio delivered %.1f s: "
            "transcribing the audio only.", (double) delivered / GST_SECOND),
        ("video_sink is linked but received no stream"));
  lk.lock ();
}

/* Called for each span of the running stream (`audio` tells which) that
 * starts at `rt`: the other pad, if it has received nothing by the time
 * this one delivered ABSENT_AFTER, is absent. */
static void
check_other_pad (GstGeminiTranscriber * self, State & st, bool audio, GstClockTime rt,
    std::unique_lock < std::mutex > &lk)
{
  GstClockTime &first = audio ? st.first_audio_rt : st.first_video_rt;
  if (!GST_CLOCK_TIME_IS_VALID (first))
    first = rt;
  GstPad *other = audio ? self->video_sink : self->audio_sink;
  const bool started = audio ? st.video_started : st.audio_started;
  if (other && gst_pad_is_linked (other) && !started && rt >= first + ABSENT_AFTER)
    declare_absent (self, st, !audio, rt - first, lk);
}

/* auto: the whole input for a file, segments for a live source (whose
 * viewers cannot wait for the end). Vertex AI has no Files API to upload to. */
static bool
use_whole_mode (const Settings & s, bool live)
{
  if (s.mode == GST_GEMINI_TRANSCRIBER_MODE_STREAMING)
    return false;
  return !live && !s.vertex;
}

static bool
open_segment (GstGeminiTranscriber * self, State & st, GstClockTime start,
    std::unique_lock < std::mutex > &lk)
{
  Settings s = settings_snapshot (self);

  wait_for_video_caps (self, st, lk);

  const bool whole = use_whole_mode (s, st.live);
  if (s.mode == GST_GEMINI_TRANSCRIBER_MODE_WHOLE && !whole && !st.mode_warned) {
    st.mode_warned = true;
    const bool live = st.live;
    lk.unlock ();
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("mode=whole needs a file (not a live source) and the Gemini Developer API; "
            "transcribing in streaming mode."),
        ("live: %d, vertex: %d", live, s.vertex));
    lk.lock ();
  }

  gemini::EncoderSettings es;
  es.fps = s.fps;
  es.max_side = s.max_video_side;
  /* Video that ran ahead and ended still has frames for this segment. */
  const bool video_left = !st.video_eos || (GST_CLOCK_TIME_IS_VALID (st.video_end)
      && st.video_end > start);
  GstCaps *vcaps = nullptr;
  if (video_left && st.video_caps) {
    std::shared_ptr<gemini::FrameScaler> scaler = frame_scaler (st, es.max_side);
    vcaps = scaler ? scaler->caps () : st.video_caps.get ();
  }

  std::unique_ptr<gemini::UploadStream> upload;
  gemini::Result<std::unique_ptr<gemini::SegmentEncoder>> enc =
      gemini::Error::make (gemini::Error::Kind::Media, "no encoder");
  if (whole) {
    upload = st.client->open_upload (gemini::SegmentEncoder::mime_type (vcaps != nullptr),
        "gst-gemini whole input");
    gemini::UploadStream *sink = upload.get ();
    enc = gemini::SegmentEncoder::create_streaming (es, st.audio_caps.get (), vcaps,
        [sink] (GBytes * bytes) { sink->write (bytes); });
  } else {
    enc = gemini::SegmentEncoder::create (es, st.audio_caps.get (), vcaps);
  }
  if (!enc) {
    lk.unlock ();
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Cannot encode the input for Gemini."),
        ("%s", enc.error ().describe ().c_str ()));
    lk.lock ();
    st.fatal = true;
    return false;
  }

  Segment seg;
  seg.seq = st.next_seq++;
  seg.start = start;
  seg.whole = whole;
  seg.upload = std::move (upload);
  seg.encoder = std::move (enc.value ());
  seg.has_video = vcaps != nullptr;
  seg.settings = std::move (s);
  st.segmenter = gemini::Segmenter (gemini::SegmenterSettings {
        segment_target (seg.settings, st.live, seg.whole)});
  st.segmenter.begin (start);
  GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " opens at %"
      GST_TIME_FORMAT, seg.seq, GST_TIME_ARGS (start));
  st.current = std::move (seg);
  return true;
}

static void
close_segment (GstGeminiTranscriber * self, State & st, GstClockTime end)
{
  Segment seg = std::move (*st.current);
  st.current.reset ();
  seg.end = std::max (end, seg.start);
  /* Without audio there is no level to judge: the pictures are sent. */
  seg.had_sound = st.ever_audio ? st.segmenter.had_sound () : true;
  GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " cut at %"
      GST_TIME_FORMAT " (sound: %d)", seg.seq, GST_TIME_ARGS (seg.end),
      seg.had_sound);
  st.cut_segments[seg.seq] = {seg.start, seg.end};
  st.in_flight++;
  st.closing.push_back (std::move (seg));
}

/* Sends a sampled video frame to the segment that covers it, or keeps it
 * while the audio has not yet decided where the current segment ends. */
static bool
route_video_frame (State & st, SampledFrame & f, bool video_driven)
{
  const GstClockTime rt = f.rt;
  auto feed = [&f, &st] (Segment & seg) {
    if (seg.has_video) {
      /* The orientation tag comes after the caps, maybe after the segment
       * opened: it is applied with the segment's first frame. */
      if (!seg.video_fed)
        seg.encoder->orient (st.video_orientation);
      seg.video_fed = true;
      f.frame = retimed (std::move (f.frame), f.rt - seg.start);
      seg.encoder->push_video (f.frame.get (), f.caps.get ());
      seg.fed = true;
    }
    f.frame.reset ();
  };
  for (auto & seg : st.closing) {
    if (rt >= seg.start && rt < seg.end) {
      feed (seg);
      return true;
    }
  }
  if (!st.current || rt < st.current->start)
    return false;

  Segment & cur = *st.current;
  const GstClockTime target = segment_target (cur.settings, st.live, cur.whole);
  const GstClockTime undecided_from = cur.start + target - std::min<GstClockTime> (target / 4,
      3 * GST_SECOND);
  const bool decided = video_driven
      || (GST_CLOCK_TIME_IS_VALID (st.audio_position) && rt < st.audio_position)
      || rt < undecided_from;
  if (!decided)
    return false;
  feed (cur);
  return true;
}

static void
drain_pending_video (State & st, bool video_driven)
{
  while (!st.pending_video.empty ()) {
    SampledFrame & f = st.pending_video.front ();
    if (!route_video_frame (st, f, video_driven)) {
      /* Frames older than every open segment belong nowhere. */
      if (st.current && f.rt < st.current->start) {
        st.pending_video.pop_front ();
        continue;
      }
      break;
    }
    st.pending_video.pop_front ();
  }
}

/* Non-live: wait while max-concurrent-requests segments are in flight, so
 * upstream is paced by Gemini instead of filling memory. */
static bool
wait_for_room (GstGeminiTranscriber * self, State & st,
    std::unique_lock < std::mutex > &lk, guint max_concurrent)
{
  if (st.live)
    return true;
  self->priv->cond.wait (lk, [&] {
        return st.in_flight < std::max (max_concurrent, 1u) || st.flushing
        || st.stopping || st.fatal;});
  return !st.flushing && !st.stopping && !st.fatal;
}

/* Upstream's latency over the linked sink pads: live if either is, the
 * larger minimum, the smaller maximum. A video-only input is as live as
 * its video. */
static bool
upstream_latency (GstGeminiTranscriber * self, gboolean * live, GstClockTime * min,
    GstClockTime * max)
{
  *live = FALSE;
  *min = 0;
  *max = GST_CLOCK_TIME_NONE;
  bool answered = false;
  for (GstPad *pad : {self->audio_sink, self->video_sink}) {
    if (!pad || !gst_pad_is_linked (pad))
      continue;
    GPtr<GstQuery> q (gst_query_new_latency ());
    if (!gst_pad_peer_query (pad, q.get ()))
      continue;
    gboolean pad_live;
    GstClockTime pad_min, pad_max;
    gst_query_parse_latency (q.get (), &pad_live, &pad_min, &pad_max);
    answered = true;
    *live = *live || pad_live;
    *min = std::max (*min, pad_min);
    if (GST_CLOCK_TIME_IS_VALID (pad_max))
      *max = GST_CLOCK_TIME_IS_VALID (*max) ? std::min (*max, pad_max) : pad_max;
  }
  return answered;
}

static void
query_upstream_latency (GstGeminiTranscriber * self, State & st,
    std::unique_lock < std::mutex > &lk)
{
  if (st.latency_known)
    return;
  lk.unlock ();
  gboolean live;
  GstClockTime min, max;
  upstream_latency (self, &live, &min, &max);
  lk.lock ();
  st.latency_known = true;
  st.live = live;
  st.upstream_min = min;
  GST_INFO_OBJECT (self, "upstream is %slive, min latency %" GST_TIME_FORMAT,
      live ? "" : "not ", GST_TIME_ARGS (min));
}

static GstFlowReturn
input_flow (GstGeminiTranscriber * self, const State & st)
{
  if (st.flushing || st.stopping)
    return GST_FLOW_FLUSHING;
  if (st.fatal)
    return GST_FLOW_ERROR;
  GstFlowReturn ret = self->priv->src_flow.load ();
  /* Our own EOS went out: whatever still arrives has nowhere to go. */
  return ret == GST_FLOW_EOS ? GST_FLOW_OK : ret;
}

/* Before its first frame the video counts as at the start, delivering
 * since its caps came: otherwise a fast audio thread could run far ahead
 * while the video pipeline is still starting. */
static bool
audio_far_ahead (GstGeminiTranscriber * self, const State & st, GstClockTime rt)
{
  const GstClockTime video = GST_CLOCK_TIME_IS_VALID (st.video_position) ?
      st.video_position : 0;
  return self->video_sink && st.video_caps && !st.video_eos
      && rt >= video + AUDIO_LEAD_LIMIT
      && g_get_monotonic_time () - st.video_arrival_us < VIDEO_STALL_US;
}

/* Advances the audio side by one span [rt, rt + dur) with level `rms_db`;
 * `buf` is null for GAP events. */
static GstFlowReturn
handle_audio_span (GstGeminiTranscriber * self, GstClockTime rt,
    GstClockTime dur, double rms_db, GPtr<GstBuffer> buf)
{
  Private *priv = self->priv;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  GstFlowReturn ret = input_flow (self, st);
  if (ret != GST_FLOW_OK)
    return ret;

  /* The video already cuts the segments; two clocks would fight. */
  if (st.audio_absent) {
    GST_LOG_OBJECT (self, "audio after it was taken for absent: ignored");
    return GST_FLOW_OK;
  }
  query_upstream_latency (self, st, lk);
  st.ever_audio = true;
  check_other_pad (self, st, true, rt, lk);

  if (!st.live && audio_far_ahead (self, st, rt)) {
    st.audio_waiting = true;
    while (!st.flushing && !st.stopping && !st.fatal && audio_far_ahead (self, st, rt))
      priv->audio_cond.wait_for (lk, SRC_LOOP_GRANULARITY);
    st.audio_waiting = false;
    ret = input_flow (self, st);
    if (ret != GST_FLOW_OK)
      return ret;
  }

  if (st.current && (st.caps_changed || st.segmenter.observe (rt, dur, rms_db))) {
    const guint max_concurrent = st.current->settings.max_concurrent;
    close_segment (self, st, rt);
    drain_pending_video (st, false);
    dispatch_ready_segments (self, st);
    if (!wait_for_room (self, st, lk, max_concurrent))
      return input_flow (self, st);
  }
  if (!st.current) {
    st.caps_changed = false;
    if (!open_segment (self, st, rt, lk))
      return GST_FLOW_ERROR;
    st.segmenter.observe (rt, dur, rms_db);
  }

  if (buf) {
    st.current->encoder->push_audio (retimed (std::move (buf),
            rt - st.current->start).get ());
    st.current->fed = true;
  }
  if (st.current->whole)
    st.current->quiet.observe (rt - st.current->start, dur, rms_db);
  st.audio_position = rt + dur;
  drain_pending_video (st, false);
  dispatch_ready_segments (self, st);
  /* Only the video thread waits for the audio to move on, on its own
   * condition variable: waking every worker and the src task for each
   * audio buffer cost more CPU than anything else the element did. */
  if (st.video_waiting)
    priv->video_cond.notify_one ();
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_gemini_transcriber_audio_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  GPtr<GstBuffer> owned (buf);
  GstClockTime rt, dur;
  double rms;

  {
    std::unique_lock < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    if (!st.audio_info_valid || !st.have_segment) {
      lk.unlock ();
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
          ("audio buffer before caps and segment"));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    const gsize size = gst_buffer_get_size (buf);
    dur = GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) :
        gst_util_uint64_scale (size / GST_AUDIO_INFO_BPF (&st.audio_info),
        GST_SECOND, GST_AUDIO_INFO_RATE (&st.audio_info));
    /* Buffers without timestamps continue where the previous one ended. */
    if (GST_BUFFER_PTS_IS_VALID (buf))
      rt = gst_segment_to_running_time (&st.in_segment, GST_FORMAT_TIME,
          GST_BUFFER_PTS (buf));
    else
      rt = GST_CLOCK_TIME_IS_VALID (st.audio_position) ? st.audio_position : 0;
    if (!GST_CLOCK_TIME_IS_VALID (rt)) {
      GST_LOG_OBJECT (pad, "dropping audio outside the segment");
      return GST_FLOW_OK;
    }
    GstMapInfo map;
    if (!gst_buffer_map (buf, &map, GST_MAP_READ))
      return GST_FLOW_ERROR;
    rms = gemini::audio_rms_db (&st.audio_info, map.data, map.size);
    gst_buffer_unmap (buf, &map);
  }
  if (dur == 0)
    return GST_FLOW_OK;
  return handle_audio_span (self, rt, dur, rms, std::move (owned));
}

static GstFlowReturn
gst_gemini_transcriber_video_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  GPtr<GstBuffer> owned (buf);
  Private *priv = self->priv;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  GstFlowReturn ret = input_flow (self, st);
  if (ret != GST_FLOW_OK)
    return ret;
  if (!GST_BUFFER_PTS_IS_VALID (buf)) {
    GST_LOG_OBJECT (pad, "dropping video frame without timestamp");
    return GST_FLOW_OK;
  }
  GstClockTime rt = gst_segment_to_running_time (&st.video_segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return GST_FLOW_OK;

  if (!st.live) {
    /* Flush, stop and errors wake it too; anything else that ends the
     * wait is seen within SRC_LOOP_GRANULARITY. */
    st.video_waiting = true;
    while (!(st.flushing || st.stopping || st.fatal || st.audio_eos
            || !st.ever_audio || !GST_CLOCK_TIME_IS_VALID (st.audio_position)
            || rt < st.audio_position + VIDEO_LEAD_LIMIT))
      priv->video_cond.wait_for (lk, SRC_LOOP_GRANULARITY);
    st.video_waiting = false;
    ret = input_flow (self, st);
    if (ret != GST_FLOW_OK)
      return ret;
  }

  check_other_pad (self, st, false, rt, lk);
  /* Video-only input: the frames' own clock decides the cuts. */
  const bool video_driven = !gst_pad_is_linked (self->audio_sink) || st.audio_absent
      || (st.audio_eos && !st.ever_audio);
  if (video_driven) {
    query_upstream_latency (self, st, lk);
    if (st.current && st.segmenter.observe_time (rt)) {
      const guint max_concurrent = st.current->settings.max_concurrent;
      close_segment (self, st, rt);
      st.video_position = rt;
      dispatch_ready_segments (self, st);
      if (!wait_for_room (self, st, lk, max_concurrent))
        return input_flow (self, st);
    }
    /* Frames held while it was not yet known that no audio would come
     * start the first segment, so cuts do not depend on thread timing. */
    const GstClockTime start = st.pending_video.empty ()? rt :
        std::min (rt, st.pending_video.front ().rt);
    if (!st.current && !open_segment (self, st, start, lk))
      return GST_FLOW_ERROR;
    drain_pending_video (st, true);
  }

  /* Only frames the encoder will keep cross this point: the rest cost a
   * timestamp comparison, never a conversion. The sampling grid belongs to
   * the video stream alone: the audio thread may open segments far ahead. */
  const double fps = st.current ? st.current->settings.fps : DEFAULT_FPS;
  const GstClockTime period = (GstClockTime) (GST_SECOND / fps);
  const GstClockTime end = rt + (GST_BUFFER_DURATION_IS_VALID (buf) ?
      GST_BUFFER_DURATION (buf) : 0);
  if (rt >= st.next_video_sample || end > st.next_video_sample) {
    st.next_video_sample = (std::max (rt, st.next_video_sample) / period + 1) *
        period;
    const guint max_side = st.current ? st.current->settings.max_video_side :
        settings_snapshot (self).max_video_side;
    SampledFrame f = sample_frame (st, rt, std::move (owned), max_side, lk);
    if ((ret = input_flow (self, st)) != GST_FLOW_OK)
      return ret;
    const bool routed = route_video_frame (st, f, video_driven);
    GST_LOG_OBJECT (pad, "frame at %" GST_TIME_FORMAT " %s", GST_TIME_ARGS (rt),
        routed ? "sent" : "held until the cut is known");
    if (!routed)
      st.pending_video.push_back (std::move (f));
  }
  st.video_position = end;
  st.video_arrival_us = g_get_monotonic_time ();
  dispatch_ready_segments (self, st);
  if (st.audio_waiting)
    priv->audio_cond.notify_one ();
  return GST_FLOW_OK;
}

/* ---------------------------------------------------------------------- */
/* segment jobs (worker threads)                                          */

/* The fields of an error message's details (gst_message_parse_error_details),
 * named as in gemini-segment: applications choose what to do from them,
 * never from the text. `kind` is Error::kind_id(), or "no-credentials". */
#define GEMINI_ERROR_DETAILS(kind, e) ("kind", G_TYPE_STRING, (kind), \
    "http-status", G_TYPE_UINT, (e).http_status, \
    "api-status", G_TYPE_STRING, (e).status.c_str (), \
    "reason", G_TYPE_STRING, (e).reason.c_str (), NULL)

static void
post_fatal_error (GstGeminiTranscriber * self, const gemini::Error & e,
    const std::string & model)
{
  if (e.redirect) {
    /* Not a refusal: the endpoint (or what answers in its name) is not the
     * Gemini API a person configured. */
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_READ_WRITE,
        ("%s", e.message.c_str ()), ("%s", e.describe ().c_str ()),
        GEMINI_ERROR_DETAILS (e.kind_id (), e));
    return;
  }
  std::string hint;
  if (e.http_status == 401 || e.http_status == 403
      || e.status == "PERMISSION_DENIED" || e.status == "UNAUTHENTICATED"
      || e.message.find ("API key") != std::string::npos)
    hint = "Gemini refused the credentials: check the api-key property or the "
        "GEMINI_API_KEY / GOOGLE_API_KEY environment variable.";
  else if (e.http_status == 404)
    hint = "Gemini does not know the model \"" + model + "\": set the model "
        "property to an available model such as " + DEFAULT_MODEL + ".";
  else
    hint = "Gemini rejected the request.";
  GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED, ("%s", hint.c_str ()),
      ("%s", e.describe ().c_str ()), GEMINI_ERROR_DETAILS (e.kind_id (), e));
}

/* Uploaded media is only needed for its one request; files would
 * otherwise count against the project's storage for 48 hours. Not
 * cancellable: it must happen even when the request was cancelled. */
static void
delete_uploaded_file (GstGeminiTranscriber * self, gemini::Client & client,
    const std::string & name)
{
  auto del = client.delete_file_sync (name, nullptr);
  if (!del)
    GST_INFO_OBJECT (self, "could not delete %s: %s", name.c_str (),
        del.error ().describe ().c_str ());
}

/* Where a segment's media is, inline bytes or an uploaded file; every
 * request for the segment refers to it. */
struct SegmentMedia {
  std::string mime_type;
  double fps = DEFAULT_FPS;
  bool has_video = false;
  GPtr<GBytes> inline_data;
  std::string file_uri;

  gemini::MediaInput input () const
  {
    gemini::MediaInput m;
    m.mime_type = mime_type;
    m.fps = fps;
    m.inline_data = gemini::ref_ptr (inline_data.get ());
    m.file_uri = file_uri;
    return m;
  }
};

/* An upload's outcome -> an ACTIVE file (true), or the error in `out` and
 * nothing left behind on the service (false). */
static bool
wait_until_usable (GstGeminiTranscriber * self, gemini::Client & client,
    GCancellable * cancellable, gemini::Result<gemini::FileInfo> &file,
    Outcome & out, std::string & uploaded_name)
{
  if (file) {
    uploaded_name = file->name;
    out.uploaded = true;
    GST_DEBUG_OBJECT (self, "uploaded %s (%" G_GSIZE_FORMAT " bytes)",
        uploaded_name.c_str (), out.media_bytes);
    file = client.wait_until_active_sync (uploaded_name, cancellable);
  }
  if (file)
    return true;
  if (!uploaded_name.empty ())
    delete_uploaded_file (self, client, uploaded_name);
  if (file.error ().fatal ())
    out.fatal = file.error ();
  out.failure = file.error ();
  out.error = file.error ().describe ();
  return false;
}

static Status
status_of (gemini::ClipStatus s)
{
  switch (s) {
    case gemini::ClipStatus::Ok: return Status::Ok;
    case gemini::ClipStatus::Blocked: return Status::Blocked;
    case gemini::ClipStatus::Failed: break;
  }
  return Status::Failed;
}

static void
take_clip_result (Outcome & out, gemini::ClipResult && r)
{
  out.status = status_of (r.status);
  out.transcript = std::move (r.transcript);
  out.raw_text = std::move (r.raw_text);
  out.error = std::move (r.error);
  out.failure = std::move (r.failure);
  out.usage = r.usage;
  out.fatal = std::move (r.fatal);
  out.requests = r.requests;
  out.model_version = std::move (r.model_version);
}

static gemini::GenerationSettings
generation_settings (const Settings & s, GstClockTime duration)
{
  gemini::GenerationSettings gen;
  const gemini::Sampling sampling = gemini::sampling_for (s.model,
      s.temperature < 0 ? std::nullopt : std::optional<double> (s.temperature));
  gen.temperature = sampling.temperature;
  gen.top_p = sampling.top_p;
  gen.seed = s.seed;
  gen.media_resolution = resolve_media_resolution (s.media_resolution, duration);
  return gen;
}

using gemini::RowsCallback;

static void
request_transcript (Outcome & out, const SegmentMedia & media,
    const Settings & s, GstClockTime duration, gemini::Client & client,
    GCancellable * cancellable, const std::vector<gemini::KnownSpeaker> &known,
    const RowsCallback & on_rows)
{
  gemini::ClipRequest req;
  req.model = s.model;
  req.media = media.input ();
  req.prompt.clip_start = out.start;
  req.prompt.clip_duration = duration;
  req.prompt.has_video = media.has_video;
  req.prompt.context = s.context;
  req.prompt.language = s.language;
  req.prompt.known_speakers = known;
  req.generation = generation_settings (s, duration);
  req.parse.duration = duration;
  req.parse.clip_offset = out.start;
  req.on_rows = on_rows;
  take_clip_result (out, gemini::transcribe_clip (client, req, cancellable));
}

/* Whole mode: the encoder has been writing into the upload all along, so
 * only its tail is left to send; then the file is transcribed in one
 * request or in windows (gst/whole_file.h). */
static Outcome
transcribe_whole (GstGeminiTranscriber * self, Segment & seg,
    gemini::Client & client, GCancellable * cancellable, Outcome out)
{
  const GstClockTime duration = seg.end - seg.start;
  const Settings & s = seg.settings;
  out.whole = true;

  const gint64 t0 = g_get_monotonic_time ();
  auto encoded = seg.encoder->finish (duration);
  seg.encoder.reset ();
  if (!encoded) {
    seg.upload->cancel ();
    out.failure = encoded.error ();
    out.error = encoded.error ().describe ();
    return out;
  }
  out.media_bytes = encoded->size;
  seg.upload->finish ();
  /* A flush or stop must not wait for the upload's tail to go out. */
  const gulong cancel_id = g_cancellable_connect (cancellable,
      G_CALLBACK (+[](GCancellable *, gpointer upload) {
          static_cast<gemini::UploadStream *> (upload)->cancel ();
        }), seg.upload.get (), nullptr);
  auto file = seg.upload->wait ();
  g_cancellable_disconnect (cancellable, cancel_id);
  out.upload_path = seg.upload->sized_at_end () ? "after-encoding" : "while-encoding";
  seg.upload.reset ();
  std::string uploaded_name;
  if (!wait_until_usable (self, client, cancellable, file, out, uploaded_name))
    return out;

  gemini::WholeFileJob job;
  job.model = s.model;
  job.media.mime_type = encoded->mime_type;
  job.media.file_uri = file->uri;
  job.media.fps = s.fps;
  job.duration = duration;
  job.has_video = encoded->has_video;
  job.prompt.context = s.context;
  job.prompt.language = s.language;
  job.generation = generation_settings (s, duration);
  job.window = s.window_duration * GST_SECOND;
  job.parallel = s.max_concurrent;
  job.request_timeout = s.request_timeout * GST_MSECOND;
  job.quiet_points = seg.quiet.points ();
  job.limits = gemini::model_limits (client, s.model, cancellable);

  gemini::WholeFileResult r = gemini::transcribe_whole_file (client, job, cancellable);
  out.windows = r.windows.size ();
  if (!r.cache_error.empty ())
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Gemini could not cache the media; each window is sent with the file "
            "instead."),
        ("%s", r.cache_error.c_str ()));
  take_clip_result (out, std::move (r.clip));
  out.request_time = (g_get_monotonic_time () - t0) * GST_USECOND;
  delete_uploaded_file (self, client, uploaded_name);
  return out;
}

static Outcome
transcribe_segment (GstGeminiTranscriber * self, Segment & seg,
    gemini::Client & client, GCancellable * cancellable,
    const std::vector<gemini::KnownSpeaker> &known, const RowsCallback & on_rows)
{
  Outcome out;
  out.seq = seg.seq;
  out.start = seg.start;
  out.end = seg.end;
  const GstClockTime duration = seg.end - seg.start;
  const Settings & s = seg.settings;

  if (!seg.had_sound || !seg.fed || duration < 100 * GST_MSECOND) {
    seg.encoder->cancel ();
    if (seg.upload)
      seg.upload->cancel ();
    out.status = Status::Silent;
    return out;
  }
  if (seg.whole)
    return transcribe_whole (self, seg, client, cancellable, std::move (out));

  const gint64 t0 = g_get_monotonic_time ();
  auto encoded = seg.encoder->finish (duration);
  seg.encoder.reset ();
  if (!encoded) {
    out.failure = encoded.error ();
    out.error = encoded.error ().describe ();
    return out;
  }
  out.media_bytes = encoded->size;

  SegmentMedia media;
  media.mime_type = encoded->mime_type;
  media.fps = s.fps;
  media.has_video = encoded->has_video;
  std::string uploaded_name;
  if (out.media_bytes <= s.max_inline_bytes) {
    media.inline_data = std::move (encoded->data);
  } else {
    GPtr<gchar> display (g_strdup_printf ("gst-gemini segment %" G_GUINT64_FORMAT,
            seg.seq));
    auto file = client.upload_file_sync (encoded->data.get (),
        encoded->mime_type, display.get (), cancellable);
    out.upload_path = "sized";
    if (!wait_until_usable (self, client, cancellable, file, out, uploaded_name))
      return out;
    media.file_uri = file->uri;
  }

  request_transcript (out, media, s, duration, client, cancellable, known,
      on_rows);
  out.request_time = (g_get_monotonic_time () - t0) * GST_USECOND;
  if (!uploaded_name.empty ())
    delete_uploaded_file (self, client, uploaded_name);
  return out;
}

/* stream-cues: hands rows read so far to the src task, unless the segment
 * was flushed away or already given up. */
static void
publish_streamed_rows (GstGeminiTranscriber * self, guint64 seq, guint64 epoch,
    std::vector<gemini::Utterance> rows)
{
  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  if (epoch != st.epoch || seq < st.next_out)
    return;
  auto & pending = st.streamed[seq];
  std::move (rows.begin (), rows.end (), std::back_inserter (pending));
  self->priv->cond.notify_all ();
}

static void
worker_loop (GstGeminiTranscriber * self)
{
  Private *priv = self->priv;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  while (true) {
    priv->cond.wait (lk, [&] {
          return st.stopping || !st.jobs.empty ();});
    if (st.stopping)
      return;

    Segment seg = std::move (st.jobs.front ());
    st.jobs.pop_front ();
    /* Live: a segment whose deadline already passed is a gap downstream;
     * its answer would be dropped, so it is not worth a request. */
    if (seg.seq < st.next_out) {
      GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " given up before "
          "its request", seg.seq);
      seg.encoder->cancel ();
      continue;
    }
    const guint64 epoch = st.epoch;
    GPtr<GCancellable> cancellable = gemini::ref_ptr (st.cancellable.get ());
    std::vector<gemini::KnownSpeaker> known = st.known_speakers;
    gemini::Client & client = *st.client;
    lk.unlock ();

    const std::string model = seg.settings.model;
    RowsCallback on_rows;
    if (seg.settings.stream_cues)
      on_rows = [self, seq = seg.seq, epoch](std::vector<gemini::Utterance> rows) {
        publish_streamed_rows (self, seq, epoch, std::move (rows));
      };
    Outcome out = transcribe_segment (self, seg, client, cancellable.get (),
        known, on_rows);
    seg.encoder.reset ();

    lk.lock ();
    if (epoch != st.epoch || g_cancellable_is_cancelled (cancellable.get ()))
      continue;
    if (out.fatal) {
      /* Every request in flight fails the same way: one error is enough. */
      const bool first = !st.fatal;
      st.fatal = true;
      priv->cond.notify_all ();
      if (first) {
        lk.unlock ();
        post_fatal_error (self, *out.fatal, model);
        lk.lock ();
      }
      continue;
    }
    if (out.seq >= st.next_out)
      st.done.emplace (out.seq, std::move (out));
    priv->cond.notify_all ();
  }
}

/* ---------------------------------------------------------------------- */
/* output (src pad task)                                                  */

static bool
negotiate_src (GstGeminiTranscriber * self, OutputState & out)
{
  GPtr<GstCaps> templ (gst_pad_get_pad_template_caps (self->src));
  GPtr<GstCaps> peer (gst_pad_peer_query_caps (self->src, templ.get ()));
  GPtr<GstCaps> caps (gst_caps_intersect_full (templ.get (), peer.get (),
          GST_CAPS_INTERSECT_FIRST));
  if (gst_caps_is_empty (caps.get ())) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("downstream accepts neither utf8 nor pango-markup text: %"
            GST_PTR_FORMAT, peer.get ()));
    return false;
  }
  caps.reset (gst_caps_fixate (caps.release ()));
  const gchar *format = gst_structure_get_string (gst_caps_get_structure
      (caps.get (), 0), "format");
  out.markup = g_strcmp0 (format, "pango-markup") == 0;
  return gst_pad_push_event (self->src, gst_event_new_caps (caps.get ()));
}

static GstTagList *
make_tag_list (const std::string & language, const gemini::RegisteredSpeaker *
    speaker)
{
  GstTagList *tags = gst_tag_list_new (GST_TAG_TITLE, "Transcript", NULL);
  std::string iso = iso639_from_language (language);
  if (!iso.empty ())
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_LANGUAGE_CODE,
        iso.c_str (), NULL);
  if (speaker) {
    const gemini::Speaker & i = speaker->info;
    const std::string label = i.identified ()? i.name : speaker->id;
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE,
        GST_TAG_PERFORMER, label.c_str (),
        GST_GEMINI_TAG_SPEAKER_ID, speaker->id.c_str (),
        GST_GEMINI_TAG_SPEAKER_NAME, i.name.empty ()? "?" : i.name.c_str (),
        GST_GEMINI_TAG_SPEAKER_COMPANY, i.company.empty ()? "?" : i.company.c_str (),
        GST_GEMINI_TAG_SPEAKER_POSITION, i.position.empty ()? "?" : i.position.c_str (),
        GST_GEMINI_TAG_SPEAKER_ROLE, i.role_in_video.empty ()? "?" :
        i.role_in_video.c_str (), NULL);
  }
  return tags;
}

/* The `language` property when set (the transcript is written in it),
 * else the language the model heard. */
static std::string
output_language (GstGeminiTranscriber * self, const OutputState & out)
{
  std::string language = settings_snapshot (self).language;
  return language.empty ()? out.spoken_language : language;
}

/* The input's segment moved so that a position in it is the stream time:
 * demuxers start their segments where the file's own timeline starts
 * (after an edit list, an encoder's priming samples), and writers that read
 * the PTS alone (srtenc, webvttenc) would otherwise be that far off. The
 * running time of every position is unchanged. */
static GstSegment
in_stream_time (const GstSegment & in)
{
  GstSegment out = in;
  if (in.rate < 0 || !GST_CLOCK_TIME_IS_VALID (in.time) || in.time == in.start)
    return out;
  out.start = in.time;
  if (GST_CLOCK_TIME_IS_VALID (in.stop))
    out.stop = in.stop >= in.start ? in.stop - in.start + in.time : in.time;
  out.position = in.position >= in.start ? in.position - in.start + in.time : in.time;
  return out;
}

static bool
send_sticky_events (GstGeminiTranscriber * self, OutputState & out)
{
  std::string stream_id, language;
  guint group_id = 0;
  bool have_group = false;
  guint32 seqnum;
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    const State & st = self->priv->state;
    stream_id = st.upstream_stream_id;
    group_id = st.group_id;
    have_group = st.have_group_id;
    /* Video-only input: the cues live in the video's timeline. */
    const bool from_video = !st.have_segment && st.have_video_segment;
    out.segment = in_stream_time (from_video ? st.video_segment : st.in_segment);
    seqnum = from_video ? st.video_segment_seqnum : st.segment_seqnum;
  }
  language = output_language (self, out);

  /* A derived id, as a demuxer would make: one upstream stream split in
   * two. With two sink pads GStreamer cannot derive one for us. */
  gchar *id = stream_id.empty ()?
      g_strdup_printf ("%08x%08x%08x%08x/transcript", g_random_int (),
      g_random_int (), g_random_int (), g_random_int ()) :
      g_strdup_printf ("%s/transcript", stream_id.c_str ());
  GstEvent *ev = gst_event_new_stream_start (id);
  g_free (id);
  gst_event_set_stream_flags (ev, GST_STREAM_FLAG_SPARSE);
  if (have_group)
    gst_event_set_group_id (ev, group_id);
  gst_pad_push_event (self->src, ev);

  if (!negotiate_src (self, out))
    return false;

  out.lateness = settings_snapshot (self).lateness * GST_MSECOND;
  out.segment.base += out.lateness;
  ev = gst_event_new_segment (&out.segment);
  if (seqnum != GST_SEQNUM_INVALID)
    gst_event_set_seqnum (ev, seqnum);
  gst_pad_push_event (self->src, ev);
  gst_pad_push_event (self->src, gst_event_new_tag (make_tag_list (language,
              nullptr)));
  out.sticky_sent = true;
  return true;
}

/* Input running time to a position in the output segment, whose base was
 * moved by `lateness`: the PTS stays that of the input, the running time
 * (what sinks synchronise on) moves. */
static GstClockTime
to_position (const OutputState & out, GstClockTime rt)
{
  return gst_segment_position_from_running_time (&out.segment, GST_FORMAT_TIME,
      rt + out.lateness);
}

/* The input running time of the segment's stop; NONE when open-ended. */
static GstClockTime
stream_end (const OutputState & out)
{
  GstClockTime rt = gst_segment_to_running_time (&out.segment, GST_FORMAT_TIME,
      out.segment.stop);
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return GST_CLOCK_TIME_NONE;
  return rt > out.lateness ? rt - out.lateness : 0;
}

static void
push_gap (GstGeminiTranscriber * self, OutputState & out, GstClockTime until)
{
  if (!GST_CLOCK_TIME_IS_VALID (until) || until <= out.position)
    return;
  GstClockTime from = to_position (out, out.position);
  GstClockTime to = to_position (out, until);
  if (GST_CLOCK_TIME_IS_VALID (from) && GST_CLOCK_TIME_IS_VALID (to) && to > from)
    gst_pad_push_event (self->src, gst_event_new_gap (from, to - from));
  out.position = until;
}

static std::string
transcript_json (const Outcome & o, const std::map<std::string, std::string> &ids,
    const gemini::SpeakerRegistry & registry)
{
  GPtr<JsonBuilder> b (json_builder_new ());
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "transcripts");
  json_builder_begin_array (b.get ());
  for (const auto & u : o.transcript.utterances) {
    json_builder_begin_object (b.get ());
    json_builder_set_member_name (b.get (), "start");
    json_builder_add_int_value (b.get (), (gint64) (o.start + u.start));
    json_builder_set_member_name (b.get (), "end");
    if (GST_CLOCK_TIME_IS_VALID (u.end))
      json_builder_add_int_value (b.get (), (gint64) (o.start + u.end));
    else
      json_builder_add_null_value (b.get ());
    json_builder_set_member_name (b.get (), "text");
    json_builder_add_string_value (b.get (), u.text.c_str ());
    json_builder_set_member_name (b.get (), "voice");
    json_builder_add_string_value (b.get (), u.voice.c_str ());
    auto it = ids.find (u.voice);
    json_builder_set_member_name (b.get (), "speaker");
    json_builder_add_string_value (b.get (), it != ids.end ()? it->second.c_str () : "");
    json_builder_end_object (b.get ());
  }
  json_builder_end_array (b.get ());
  json_builder_set_member_name (b.get (), "speakers");
  json_builder_begin_array (b.get ());
  for (const auto & sp : o.transcript.speakers) {
    auto it = ids.find (sp.voice);
    const gemini::RegisteredSpeaker *reg = it != ids.end ()?
        registry.find (it->second) : nullptr;
    json_builder_begin_object (b.get ());
    json_builder_set_member_name (b.get (), "voice");
    json_builder_add_string_value (b.get (), sp.voice.c_str ());
    json_builder_set_member_name (b.get (), "speaker");
    json_builder_add_string_value (b.get (), reg ? reg->id.c_str () : "");
    const char *fields[][2] = { {"name", sp.name.c_str ()},
    {"company", sp.company.c_str ()}, {"position", sp.position.c_str ()},
    {"role_in_video", sp.role_in_video.c_str ()}
    };
    for (auto & f : fields) {
      json_builder_set_member_name (b.get (), f[0]);
      json_builder_add_string_value (b.get (), f[1]);
    }
    json_builder_end_object (b.get ());
  }
  json_builder_end_array (b.get ());
  json_builder_end_object (b.get ());

  GPtr<JsonNode> root (json_builder_get_root (b.get ()));
  gchar *s = json_to_string (root.get (), FALSE);
  std::string r (s);
  g_free (s);
  return r;
}

static void
post_segment_message (GstGeminiTranscriber * self, const Outcome & o,
    OutputState & out, const std::string & transcript, guint n_cues)
{
  std::vector<std::string> lines = o.transcript.repairs;
  if (out.past_end_cut + out.past_end_dropped > 0) {
    GPtr<gchar> line (g_strdup_printf ("%u cues past the end of the stream (%"
        GST_TIME_FORMAT "): %u cut to end there, %u dropped",
        out.past_end_cut + out.past_end_dropped,
        GST_TIME_ARGS (out.segment.stop), out.past_end_cut, out.past_end_dropped));
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("The model placed speech after the end of the stream."), ("%s", line.get ()));
    lines.emplace_back (line.get ());
    out.past_end_cut = out.past_end_dropped = 0;
  }
  GValue repairs = G_VALUE_INIT;
  gst_value_array_init (&repairs, lines.size ());
  for (const auto & r : lines) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, r.c_str ());
    gst_value_array_append_and_take_value (&repairs, &v);
  }

  GstStructure *s = gst_structure_new ("gemini-segment",
      "segment", G_TYPE_UINT64, o.seq,
      "status", G_TYPE_STRING, status_name (o.status),
      "running-time", G_TYPE_UINT64, o.start,
      "duration", G_TYPE_UINT64, o.end - o.start,
      "stream-time", G_TYPE_UINT64, gst_segment_to_stream_time (&out.segment,
          GST_FORMAT_TIME, to_position (out, o.start)),
      "error", G_TYPE_STRING, o.error.c_str (),
      "error-kind", G_TYPE_STRING, o.failure ? o.failure->kind_id () : "",
      "http-status", G_TYPE_UINT, o.failure ? o.failure->http_status : 0u,
      "api-status", G_TYPE_STRING, o.failure ? o.failure->status.c_str () : "",
      "error-reason", G_TYPE_STRING, o.failure ? o.failure->reason.c_str () : "",
      "transcript", G_TYPE_STRING, transcript.c_str (),
      "raw-response", G_TYPE_STRING, o.raw_text.c_str (),
      "utterances", G_TYPE_UINT, (guint) o.transcript.utterances.size (),
      "cues", G_TYPE_UINT, n_cues,
      "late-cues", G_TYPE_UINT, out.late_cues,
      "truncated", G_TYPE_BOOLEAN, o.transcript.truncated,
      "language", G_TYPE_STRING, o.transcript.language.c_str (),
      "prompt-tokens", G_TYPE_INT64, o.usage.prompt_tokens,
      "candidates-tokens", G_TYPE_INT64, o.usage.candidates_tokens,
      "cached-tokens", G_TYPE_INT64, o.usage.cached_tokens,
      "total-tokens", G_TYPE_INT64, o.usage.total_tokens,
      "request-time", G_TYPE_UINT64, o.request_time,
      "media-bytes", G_TYPE_UINT64, (guint64) o.media_bytes,
      "uploaded", G_TYPE_BOOLEAN, o.uploaded,
      "upload-path", G_TYPE_STRING, o.uploaded ? o.upload_path : "",
      "model-version", G_TYPE_STRING, o.model_version.c_str (),
      "mode", G_TYPE_STRING, o.whole ? "whole" : "streaming",
      "requests", G_TYPE_UINT, o.requests,
      "windows", G_TYPE_UINT, o.windows, NULL);
  gst_structure_take_value (s, "repairs", &repairs);
  out.late_cues = 0;
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
post_speakers_message (GstGeminiTranscriber * self,
    const gemini::SpeakerRegistry & registry)
{
  GValue list = G_VALUE_INIT;
  gst_value_array_init (&list, registry.speakers ().size ());
  for (const auto & sp : registry.speakers ()) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    GstStructure *entry = gst_structure_new ("speaker",
        "id", G_TYPE_STRING, sp.id.c_str (),
        "name", G_TYPE_STRING, sp.info.name.c_str (),
        "company", G_TYPE_STRING, sp.info.company.c_str (),
        "position", G_TYPE_STRING, sp.info.position.c_str (),
        "role", G_TYPE_STRING, sp.info.role_in_video.c_str (),
        "identified", G_TYPE_BOOLEAN, sp.info.identified (),
        "segments", G_TYPE_UINT, sp.segments, NULL);
    g_value_take_boxed (&v, entry);
    gst_value_array_append_and_take_value (&list, &v);
  }
  GstStructure *s = gst_structure_new_empty ("gemini-speakers");
  gst_structure_take_value (s, "speakers", &list);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* A live cue that leaves after its running time plus the reported latency
 * reaches the sink too late to be shown on time: counted, not hidden. */
static void
count_if_late (GstGeminiTranscriber * self, OutputState & out, GstClockTime start)
{
  if (!GST_CLOCK_TIME_IS_VALID (out.live_budget))
    return;
  GPtr<GstClock> clock (gst_element_get_clock (GST_ELEMENT (self)));
  if (!clock)
    return;
  const GstClockTime now = gst_clock_get_time (clock.get ())
      - gst_element_get_base_time (GST_ELEMENT (self));
  /* Sinks add their processing deadline: the pipeline's latency, once
   * configured, is what they render at. It may come while a push blocks. */
  const GstClockTime configured = self->priv->pipeline_latency;
  const GstClockTime budget = GST_CLOCK_TIME_IS_VALID (configured) ?
      std::max (out.live_budget, configured) : out.live_budget;
  const GstClockTime due = start + out.lateness + budget + LATE_TOLERANCE;
  if (now > due) {
    out.late_cues++;
    GST_WARNING_OBJECT (self, "cue at %" GST_TIME_FORMAT " left %" GST_TIME_FORMAT
        " after its time", GST_TIME_ARGS (start), GST_TIME_ARGS (now - due));
  }
}

static GstFlowReturn
push_cue (GstGeminiTranscriber * self, OutputState & out,
    const gemini::Cue & cue, guint64 seq)
{
  /* The previous segment's last cue may run into this one: a cue starts
   * once it is gone, and one that would vanish entirely keeps its length
   * rather than its time. Text is never dropped. */
  GstClockTime start = std::max (cue.pts, out.position);
  GstClockTime end = cue.pts + cue.duration;
  if (end <= start)
    end = start + cue.duration;

  /* Nothing exists past the segment's stop (a position there is NONE), yet
   * the model may place rows there: such a cue ends at the stop, starting
   * earlier if it must to be seen, and is dropped when no time is left. */
  const GstClockTime stop = stream_end (out);
  if (GST_CLOCK_TIME_IS_VALID (stop) && end > stop) {
    end = stop;
    start = std::max (out.position, end > cue.duration ? end - cue.duration : 0);
    if (start >= end) {
      out.past_end_dropped++;
      GST_DEBUG_OBJECT (self, "cue past the stream's end dropped: %s", cue.text.c_str ());
      return GST_FLOW_OK;
    }
    out.past_end_cut++;
  }

  /* Before the gap: a synchronising sink holds that push until the gap's
   * own time, which may be a moment before this cue's. */
  count_if_late (self, out, start);
  push_gap (self, out, start);

  const gemini::RegisteredSpeaker *sp = out.registry.find (cue.speaker_id);
  if (cue.speaker_id != out.current_speaker && sp) {
    out.current_speaker = cue.speaker_id;
    const std::string label = sp->info.identified ()? sp->info.name : sp->id;
    gst_pad_push_event (self->src, gst_event_new_tag (make_tag_list
            (output_language (self, out), sp)));
    gst_pad_push_event (self->src,
        gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
            gst_structure_new ("rstranscribe/speaker-change",
                "speaker", G_TYPE_STRING, label.c_str (), NULL)));
  }

  const std::string & text = out.markup ? cue.markup : cue.text;
  GstBuffer *buf = gst_buffer_new_memdup (text.data (), text.size ());
  GstClockTime pos = to_position (out, start);
  GST_BUFFER_PTS (buf) = pos;
  GST_BUFFER_DURATION (buf) = to_position (out, end) - pos;
  if (out.discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    out.discont = false;
  }

  GstCustomMeta *meta = gst_buffer_add_custom_meta (buf,
      GST_GEMINI_TRANSCRIPT_META_NAME);
  GstStructure *ms = gst_custom_meta_get_structure (meta);
  const gemini::Speaker empty;
  const gemini::Speaker & info = sp ? sp->info : empty;
  auto or_unknown = [](const std::string & v) {
    return v.empty ()? "?" : v.c_str ();
  };
  gst_structure_set (ms,
      "voice", G_TYPE_STRING, cue.voice.c_str (),
      "speaker-id", G_TYPE_STRING, cue.speaker_id.c_str (),
      "name", G_TYPE_STRING, or_unknown (info.name),
      "company", G_TYPE_STRING, or_unknown (info.company),
      "position", G_TYPE_STRING, or_unknown (info.position),
      "role", G_TYPE_STRING, or_unknown (info.role_in_video),
      "segment", G_TYPE_UINT64, seq,
      "text", G_TYPE_STRING, cue.text.c_str (), NULL);

  out.position = end;
  GST_LOG_OBJECT (self, "cue %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT ": %s",
      GST_TIME_ARGS (pos), GST_TIME_ARGS (GST_BUFFER_DURATION (buf)),
      cue.text.c_str ());
  return gst_pad_push (self->src, buf);
}

/* stream-cues: cues for rows of segment `seq` [start, end) whose answer is
 * still streaming. The speakers table comes after the rows, so these cues
 * carry no speaker yet; the segment's message names them once it is done. */
static GstFlowReturn
output_streamed_rows (GstGeminiTranscriber * self, OutputState & out,
    guint64 seq, GstClockTime start, GstClockTime end,
    const std::vector<gemini::Utterance> &rows)
{
  if (out.streamed_seq != seq || out.streamed_rows == 0) {
    out.streamed_seq = seq;
    out.streamed_rows = 0;
  }
  out.streamed_rows += rows.size ();

  std::vector<gemini::TimedUtterance> timed;
  for (const auto & u : rows) {
    gemini::TimedUtterance t;
    t.start = start + u.start;
    t.end = GST_CLOCK_TIME_IS_VALID (u.end) ? start + u.end : GST_CLOCK_TIME_NONE;
    t.text = u.text;
    t.voice = u.voice;
    timed.push_back (std::move (t));
  }
  GstFlowReturn ret = GST_FLOW_OK;
  for (const auto & cue : out.cues.build (timed, end)) {
    ret = push_cue (self, out, cue, seq);
    if (ret != GST_FLOW_OK)
      break;
  }
  return ret;
}

static GstFlowReturn
output_outcome (GstGeminiTranscriber * self, OutputState & out, Outcome & o)
{
  GstFlowReturn ret = GST_FLOW_OK;
  std::map<std::string, std::string> ids;
  std::vector<gemini::Cue> cues;

  if (o.status == Status::Ok) {
    if (!o.transcript.language.empty ()
        && o.transcript.language != out.spoken_language) {
      out.spoken_language = o.transcript.language;
      const gemini::RegisteredSpeaker *sp =
          out.registry.find (out.current_speaker);
      gst_pad_push_event (self->src,
          gst_event_new_tag (make_tag_list (output_language (self, out), sp)));
    }
    const size_t known_before = out.registry.known ().size ();
    ids = out.registry.resolve (o.transcript);

    std::vector<gemini::TimedUtterance> timed =
        out.registry.place (o.transcript, o.start, ids);
    /* Rows already pushed while the answer streamed are not cued twice. */
    if (out.streamed_seq == o.seq)
      timed.erase (timed.begin (), timed.begin () + std::min (out.streamed_rows,
              timed.size ()));
    cues = out.cues.build (timed, o.end);

    auto known = out.registry.known ();
    {
      std::lock_guard < std::mutex > lk (self->priv->state_lock);
      self->priv->state.known_speakers = known;
    }
    if (known.size () != known_before || !o.transcript.speakers.empty ())
      post_speakers_message (self, out.registry);
  } else if (o.status == Status::Failed || o.status == Status::Blocked) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Segment %" G_GUINT64_FORMAT " could not be transcribed; its time is "
            "covered by a gap.", o.seq), ("%s", o.error.c_str ()));
  } else if (o.status == Status::Late) {
    GST_INFO_OBJECT (self, "segment %" G_GUINT64_FORMAT " missed its deadline",
        o.seq);
  }

  const guint dropped_before = out.past_end_dropped;
  for (const auto & cue : cues) {
    ret = push_cue (self, out, cue, o.seq);
    if (ret != GST_FLOW_OK)
      break;
  }
  if (ret == GST_FLOW_OK)
    push_gap (self, out, o.end);

  post_segment_message (self, o, out, o.status == Status::Ok ?
      transcript_json (o, ids, out.registry) : std::string ("{}"),
      (guint) cues.size () - (out.past_end_dropped - dropped_before));
  return ret;
}

static void
gst_gemini_transcriber_src_loop (GstGeminiTranscriber * self)
{
  Private *priv = self->priv;
  OutputState & out = priv->out;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  if (st.flushing || st.stopping) {
    gst_pad_pause_task (self->src);
    return;
  }

  auto it = st.done.find (st.next_out);
  std::optional<Outcome> outcome;
  bool eos = false;
  if (it != st.done.end ()) {
    outcome = std::move (it->second);
    st.done.erase (it);
  } else if (st.eos_pending && st.next_out == st.next_seq && !st.current) {
    eos = true;
  } else if (st.live && st.cut_segments.count (st.next_out)) {
    /* Past the deadline the segment's time is given up as a gap so that
     * everything downstream keeps flowing; its answer is dropped. */
    GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
    if (clock) {
      GstClockTime now = gst_clock_get_time (clock) -
          gst_element_get_base_time (GST_ELEMENT (self));
      gst_object_unref (clock);
      const auto [start, end] = st.cut_segments[st.next_out];
      /* The reported latency, counted from the segment's start: a cue at
       * its very start is then still in time. */
      const GstClockTime deadline = start + st.upstream_min +
          live_latency (settings_snapshot (self));
      if (now >= deadline) {
        Outcome late;
        late.seq = st.next_out;
        late.start = start;
        late.end = end;
        late.status = Status::Late;
        late.error = "no answer before the live deadline";
        outcome = std::move (late);
      }
    }
  }

  std::vector<gemini::Utterance> streamed;
  const guint64 streamed_seq = st.next_out;
  std::pair<GstClockTime, GstClockTime> streamed_span;
  if (!outcome && !eos && st.streamed.count (streamed_seq)
      && st.cut_segments.count (streamed_seq)) {
    streamed = std::move (st.streamed[streamed_seq]);
    st.streamed.erase (streamed_seq);
    streamed_span = st.cut_segments[streamed_seq];
  }

  /* Caps and segment go out as soon as the input has a segment, not with
   * the first cue: muxers write their headers (and prerolling sinks
   * complete) only once every stream has caps. */
  const bool announce = !out.sticky_sent && (st.have_segment
      || st.have_video_segment);
  if (!outcome && !eos && !announce && streamed.empty ()) {
    priv->cond.wait_for (lk, SRC_LOOP_GRANULARITY);
    return;
  }
  out.live_budget = st.live ? st.upstream_min + live_latency (settings_snapshot (self)) :
      GST_CLOCK_TIME_NONE;
  lk.unlock ();

  GstFlowReturn ret = GST_FLOW_OK;
  if (!out.sticky_sent && !send_sticky_events (self, out))
    ret = GST_FLOW_NOT_NEGOTIATED;
  if (ret == GST_FLOW_OK && !streamed.empty ())
    ret = output_streamed_rows (self, out, streamed_seq, streamed_span.first,
        streamed_span.second, streamed);
  if (ret == GST_FLOW_OK && outcome)
    ret = output_outcome (self, out, *outcome);
  if (ret == GST_FLOW_OK && eos) {
    GstEvent *ev = gst_event_new_eos ();
    lk.lock ();
    if (st.segment_seqnum != GST_SEQNUM_INVALID)
      gst_event_set_seqnum (ev, st.segment_seqnum);
    lk.unlock ();
    /* An EOS nobody receives would leave the pipeline waiting for ever. */
    const bool linked = gst_pad_is_linked (self->src);
    gst_pad_push_event (self->src, ev);
    ret = linked ? GST_FLOW_EOS : GST_FLOW_NOT_LINKED;
  }

  lk.lock ();
  if (outcome) {
    st.cut_segments.erase (outcome->seq);
    st.next_out = outcome->seq + 1;
    st.done.erase (st.done.begin (), st.done.lower_bound (st.next_out));
    st.streamed.erase (st.streamed.begin (), st.streamed.lower_bound (st.next_out));
    if (st.in_flight > 0)
      st.in_flight--;
  }
  /* A downstream that has finished does not stop the messages:
   * applications may only want those (they link a fakesink). An unlinked
   * src pad is the usual not-linked error. */
  if (ret == GST_FLOW_EOS && !eos)
    ret = GST_FLOW_OK;
  priv->src_flow = ret;
  priv->cond.notify_all ();
  if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (self, "pausing src task: %s", gst_flow_get_name (ret));
    if (ret == GST_FLOW_NOT_LINKED || ret == GST_FLOW_NOT_NEGOTIATED || ret < GST_FLOW_EOS)
      GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_pad_pause_task (self->src);
  }
}

/* ---------------------------------------------------------------------- */
/* lifecycle                                                              */

static void
reset_stream_state (State & st)
{
  auto cancel = [] (Segment & seg) {
    if (seg.encoder)
      seg.encoder->cancel ();
    if (seg.upload)
      seg.upload->cancel ();
  };
  for (auto & seg : st.closing)
    cancel (seg);
  for (auto & seg : st.jobs)
    cancel (seg);
  if (st.current)
    cancel (*st.current);
  st.current.reset ();
  st.closing.clear ();
  st.jobs.clear ();
  st.pending_video.clear ();
  st.done.clear ();
  st.streamed.clear ();
  st.cut_segments.clear ();
  st.audio_position = GST_CLOCK_TIME_NONE;
  st.video_position = GST_CLOCK_TIME_NONE;
  st.video_end = GST_CLOCK_TIME_NONE;
  st.next_video_sample = 0;
  st.audio_eos = false;
  st.video_eos = false;
  st.ever_audio = false;
  st.eos_pending = false;
  st.next_seq = 0;
  st.next_out = 0;
  st.in_flight = 0;
  st.fatal = false;
  st.caps_changed = false;
  st.mode_warned = false;
}

static void
reset_output (OutputState & out)
{
  out.sticky_sent = false;
  out.discont = true;
  out.position = 0;
  out.registry.reset ();
  out.cues.reset ();
  out.current_speaker.clear ();
  out.spoken_language.clear ();
  out.streamed_rows = 0;
}

static bool
start_stream (GstGeminiTranscriber * self)
{
  Settings s = settings_snapshot (self);
  gemini::ClientConfig cfg = client_config_from_settings (s);
  if (!cfg.has_credentials ()) {
    const gemini::Error none;
    if (s.vertex)
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
          ("No Vertex AI credentials: set the project and access-token "
              "properties (an OAuth2 token, e.g. from `gcloud auth "
              "print-access-token`)."), (NULL),
          GEMINI_ERROR_DETAILS ("no-credentials", none));
    else
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
          ("No Gemini API key: set the api-key property or the GEMINI_API_KEY "
              "environment variable (get a key at https://aistudio.google.com/apikey)."),
          (NULL), GEMINI_ERROR_DETAILS ("no-credentials", none));
    return false;
  }

  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  st.client = std::make_unique<gemini::Client> (std::move (cfg));
  st.cancellable.reset (g_cancellable_new ());
  st.stopping = false;
  st.flushing = false;
  st.latency_known = false;
  reset_stream_state (st);
  for (guint i = 0; i < std::max (s.max_concurrent, 1u); i++)
    st.workers.emplace_back (worker_loop, self);
  self->priv->src_flow = GST_FLOW_OK;
  return true;
}

static void
stop_stream (GstGeminiTranscriber * self)
{
  std::vector<std::thread> workers;
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    st.stopping = true;
    if (st.cancellable)
      g_cancellable_cancel (st.cancellable.get ());
    workers.swap (st.workers);
    self->priv->cond.notify_all ();
    self->priv->video_cond.notify_all ();
    self->priv->audio_cond.notify_all ();
  }
  for (auto & t : workers)
    t.join ();

  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  reset_stream_state (st);
  st.client.reset ();
  st.have_segment = false;
  st.have_video_segment = false;
  st.audio_info_valid = false;
  st.audio_caps.reset ();
  st.video_caps.reset ();
  st.video_orientation = GST_VIDEO_ORIENTATION_IDENTITY;
  st.audio_started = st.video_started = false;
  st.audio_absent = st.video_absent = false;
  st.first_audio_rt = st.first_video_rt = GST_CLOCK_TIME_NONE;
  st.scaler.reset ();
  st.upstream_stream_id.clear ();
  st.have_group_id = false;
  st.known_speakers.clear ();
  self->priv->pipeline_latency = GST_CLOCK_TIME_NONE;
}

static void
start_flush (GstGeminiTranscriber * self)
{
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    if (st.flushing)
      return;
    st.flushing = true;
    if (st.cancellable)
      g_cancellable_cancel (st.cancellable.get ());
    self->priv->cond.notify_all ();
    self->priv->video_cond.notify_all ();
    self->priv->audio_cond.notify_all ();
  }
  gst_pad_push_event (self->src, gst_event_new_flush_start ());
  gst_pad_stop_task (self->src);
}

static void
stop_flush (GstGeminiTranscriber * self, bool reset_time)
{
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    if (!st.flushing)
      return;
    st.epoch++;
    reset_stream_state (st);
    st.cancellable.reset (g_cancellable_new ());
    st.flushing = false;
  }
  reset_output (self->priv->out);
  self->priv->src_flow = GST_FLOW_OK;
  gst_pad_push_event (self->src, gst_event_new_flush_stop (reset_time));
  gst_pad_start_task (self->src,
      (GstTaskFunction) gst_gemini_transcriber_src_loop, self, NULL);
}

static void
mark_input_eos (GstGeminiTranscriber * self, bool audio)
{
  std::unique_lock < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  if (audio) {
    st.audio_eos = true;
    self->priv->video_cond.notify_all ();
    /* The whole audio has come, and the video not even started: the first
     * segment gave it its time. A started one may still bring its caps (a
     * short or empty audio track). */
    if (self->video_sink && gst_pad_is_linked (self->video_sink) && !st.video_started
        && !st.live && GST_CLOCK_TIME_IS_VALID (st.first_audio_rt))
      declare_absent (self, st, false, (GST_CLOCK_TIME_IS_VALID (st.audio_position) ?
              st.audio_position : st.first_audio_rt) - st.first_audio_rt, lk);
    wait_for_video_caps (self, st, lk);
  } else {
    st.video_eos = true;
    st.video_end = st.video_position;
    st.video_position = GST_CLOCK_TIME_NONE;
    self->priv->audio_cond.notify_all ();
    /* A short video-only input ends before ABSENT_AFTER: its frames, held
     * for the audio, make the segment. */
    if (gst_pad_is_linked (self->audio_sink) && !st.audio_started) {
      const GstClockTime delivered = GST_CLOCK_TIME_IS_VALID (st.video_end)
          && GST_CLOCK_TIME_IS_VALID (st.first_video_rt) ?
          st.video_end - st.first_video_rt : 0;
      declare_absent (self, st, true, delivered, lk);
      if (!st.current && !st.pending_video.empty ()
          && !open_segment (self, st, st.pending_video.front ().rt, lk))
        return;
      drain_pending_video (st, true);
    }
  }

  const bool audio_done = st.audio_eos || !gst_pad_is_linked (self->audio_sink)
      || st.audio_absent;
  /* A video pad that never got caps carries nothing worth waiting for. */
  const bool video_done = !self->video_sink || st.video_eos
      || !gst_pad_is_linked (self->video_sink) || (audio && !st.video_caps);
  /* An audio track that ended before its first buffer cuts nothing: the
   * video may already be feeding the current segment, and from now on its
   * frames decide the cuts. */
  if (audio && st.current && st.ever_audio) {
    GstClockTime end = GST_CLOCK_TIME_IS_VALID (st.audio_position) ?
        st.audio_position : st.current->start;
    close_segment (self, st, end);
  }
  if (audio_done && video_done) {
    if (st.current) {
      GstClockTime end = GST_CLOCK_TIME_IS_VALID (st.video_end) ?
          st.video_end : st.current->start;
      close_segment (self, st, end);
    }
    st.pending_video.clear ();
    st.eos_pending = true;
  }
  drain_pending_video (st, false);
  dispatch_ready_segments (self, st);
  self->priv->cond.notify_all ();
}

static gboolean
gst_gemini_transcriber_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  const bool audio = pad == self->audio_sink;
  State & st = self->priv->state;

  if (GST_EVENT_TYPE (event) != GST_EVENT_FLUSH_START
      && GST_EVENT_TYPE (event) != GST_EVENT_FLUSH_STOP) {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    bool &started = audio ? st.audio_started : st.video_started;
    if (!started) {
      started = true;
      self->priv->cond.notify_all ();
    }
  }

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:{
      const gchar *id = nullptr;
      guint group;
      gst_event_parse_stream_start (event, &id);
      std::lock_guard < std::mutex > lk (self->priv->state_lock);
      /* The transcript derives from the audio; the video's stream names it
       * only when there is no audio. */
      if (audio || st.upstream_stream_id.empty ()) {
        st.upstream_stream_id = id ? id : "";
        st.have_group_id = gst_event_parse_group_id (event, &group);
        st.group_id = group;
      }
      break;
    }
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      std::lock_guard < std::mutex > lk (self->priv->state_lock);
      if (audio) {
        GstAudioInfo info;
        if (!gst_audio_info_from_caps (&info, caps)) {
          gst_event_unref (event);
          return FALSE;
        }
        if (st.audio_caps && !gst_caps_is_equal (st.audio_caps.get (), caps))
          st.caps_changed = true;
        st.audio_info = info;
        st.audio_info_valid = true;
        st.audio_caps = gemini::ref_ptr (caps);
      } else {
        if (st.video_caps && !gst_caps_is_equal (st.video_caps.get (), caps))
          st.caps_changed = true;
        if (!st.video_caps)
          st.video_arrival_us = g_get_monotonic_time ();
        st.video_caps = gemini::ref_ptr (caps);
      }
      self->priv->cond.notify_all ();
      break;
    }
    case GST_EVENT_SEGMENT:{
      const GstSegment *segment;
      gst_event_parse_segment (event, &segment);
      if (segment->format != GST_FORMAT_TIME) {
        /* The sticky event comes back with every buffer: say it once. */
        bool first;
        {
          std::lock_guard < std::mutex > lk (self->priv->state_lock);
          first = !st.fatal;
          st.fatal = true;
        }
        if (first)
          GST_ELEMENT_ERROR (self, STREAM, FORMAT,
              ("The transcriber needs timestamped input (a TIME segment)."),
              ("got a %s segment", gst_format_get_name (segment->format)));
        gst_event_unref (event);
        return FALSE;
      }
      std::lock_guard < std::mutex > lk (self->priv->state_lock);
      if (audio) {
        st.in_segment = *segment;
        st.have_segment = true;
        st.segment_seqnum = gst_event_get_seqnum (event);
        self->priv->cond.notify_all ();
      } else {
        st.video_segment = *segment;
        st.have_video_segment = true;
        st.video_segment_seqnum = gst_event_get_seqnum (event);
        self->priv->cond.notify_all ();
      }
      break;
    }
    case GST_EVENT_GAP:{
      GstClockTime ts, dur;
      gst_event_parse_gap (event, &ts, &dur);
      if (audio && GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (dur)) {
        GstClockTime rt;
        {
          std::lock_guard < std::mutex > lk (self->priv->state_lock);
          rt = gst_segment_to_running_time (&st.in_segment, GST_FORMAT_TIME, ts);
        }
        if (GST_CLOCK_TIME_IS_VALID (rt))
          handle_audio_span (self, rt, dur, -120.0, {});
      } else if (!audio && GST_CLOCK_TIME_IS_VALID (ts)) {
        std::lock_guard < std::mutex > lk (self->priv->state_lock);
        GstClockTime rt = gst_segment_to_running_time (&st.video_segment,
            GST_FORMAT_TIME, ts);
        if (GST_CLOCK_TIME_IS_VALID (rt)) {
          st.video_position = rt + (GST_CLOCK_TIME_IS_VALID (dur) ? dur : 0);
          st.video_arrival_us = g_get_monotonic_time ();
        }
        dispatch_ready_segments (self, st);
        if (st.audio_waiting)
          self->priv->audio_cond.notify_one ();
      }
      break;
    }
    case GST_EVENT_TAG:{
      GstTagList *tags;
      GstVideoOrientationMethod method;
      gst_event_parse_tag (event, &tags);
      if (!audio && gst_video_orientation_from_tag (tags, &method)) {
        std::lock_guard < std::mutex > lk (self->priv->state_lock);
        GST_DEBUG_OBJECT (self, "video orientation %d", method);
        st.video_orientation = method;
      }
      break;
    }
    case GST_EVENT_EOS:
      mark_input_eos (self, audio);
      break;
    case GST_EVENT_FLUSH_START:
      start_flush (self);
      break;
    case GST_EVENT_FLUSH_STOP:{
      gboolean reset_time;
      gst_event_parse_flush_stop (event, &reset_time);
      stop_flush (self, reset_time);
      break;
    }
    default:
      /* Audio/video events (tags, segment-done...) do not describe the
       * text stream; only the ones above are translated to src. */
      break;
  }
  gst_event_unref (event);
  return TRUE;
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
      if (!upstream_latency (self, &live, &min, &max))
        return FALSE;
      Settings s = settings_snapshot (self);
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
        GstClockTime ours = live_latency (s);
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
          && !self->priv->state.audio_absent);
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
    reset_output (self->priv->out);
    return gst_pad_start_task (pad,
        (GstTaskFunction) gst_gemini_transcriber_src_loop, self, NULL);
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

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start_stream (self))
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
    stop_stream (self);
  return ret;
}

/* ---------------------------------------------------------------------- */
/* pads and properties                                                    */

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
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_video_chain));
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_gemini_transcriber_finalize (GObject * object)
{
  auto self = GST_GEMINI_TRANSCRIBER (object);
  self->priv->~Private ();
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_gemini_transcriber_init (GstGeminiTranscriber * self)
{
  self->priv = new (gst_gemini_transcriber_get_instance_private (self)) Private ();
  gst_segment_init (&self->priv->state.in_segment, GST_FORMAT_TIME);
  gst_segment_init (&self->priv->state.video_segment, GST_FORMAT_TIME);
  gst_segment_init (&self->priv->out.segment, GST_FORMAT_TIME);

  self->audio_sink = gst_pad_new_from_static_template (&audio_sink_template,
      "audio_sink");
  gst_pad_set_chain_function (self->audio_sink,
      GST_DEBUG_FUNCPTR (gst_gemini_transcriber_audio_chain));
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
          "(Vertex: $GOOGLE_VERTEX_BASE_URL), else the public endpoint "
          "(https://generativelanguage.googleapis.com, Vertex: chosen from location)",
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
          "empty = $GOOGLE_CLOUD_LOCATION, else global", DEFAULT_LOCATION, rw_ready));
  g_object_class_install_property (gobject_class, PROP_ACCESS_TOKEN,
      g_param_spec_string ("access-token", "Vertex access token",
          "OAuth2 bearer token for Vertex AI (write-only, never logged)", "",
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Gemini model id, e.g. gemini-3.8-flash or gemini-2.5-pro; applies "
          "from the next segment", DEFAULT_MODEL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SEGMENT_DURATION,
      g_param_spec_uint ("segment-duration", "Segment duration",
          "Streaming mode: milliseconds of media per request, cut at a quiet point within a "
          "few seconds of it; 0 = automatic (120000 for files, 10000 for live "
          "sources)", 0, 3600000, DEFAULT_SEGMENT_DURATION, rw_playing));
  g_object_class_install_property (gobject_class, PROP_FPS,
      g_param_spec_double ("fps", "Sampling frame rate",
          "Video frames per second sent to the model (videoMetadata.fps)",
          0.01, 24.0, DEFAULT_FPS, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MEDIA_RESOLUTION,
      g_param_spec_enum ("media-resolution", "Media resolution",
          "Tokens per video frame the model spends; auto = medium below 5 "
          "minutes of media per request, low above",
          GST_TYPE_GEMINI_MEDIA_RESOLUTION, GST_GEMINI_MEDIA_RESOLUTION_AUTO,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_CONCURRENT_REQUESTS,
      g_param_spec_uint ("max-concurrent-requests", "Max concurrent requests",
          "Segments transcribed at once; when not live, upstream waits while "
          "this many are in flight", 1, 64, DEFAULT_MAX_CONCURRENT, rw_ready));
  g_object_class_install_property (gobject_class, PROP_CONTEXT,
      g_param_spec_string ("context", "Context",
          "Free text added to every prompt: speaker names, vocabulary, a "
          "description of the programme (fixes the spelling of proper nouns)",
          "", rw_playing));
  g_object_class_install_property (gobject_class, PROP_LANGUAGE,
      g_param_spec_string ("language", "Language",
          "BCP-47 language of the transcript (e.g. en, fr-FR); empty = as "
          "spoken. Its ISO-639 part is sent downstream as the language tag",
          "", rw_playing));
  g_object_class_install_property (gobject_class, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "Sampling temperature; -1 = the model family's: 0 (with topP 0) for "
          "Gemini 2.x, the most repeatable transcript; none for Gemini 3, whose "
          "guidance is to keep its default", -1.0, 2.0, DEFAULT_TEMPERATURE, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_int ("seed", "Seed",
          "Fixed sampling seed, for repeatable answers", G_MININT, G_MAXINT,
          DEFAULT_SEED, rw_playing));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "Milliseconds allowed for a request on top of the longest segment "
          "(segment-duration + a quarter of it, at most 3 s) when live; the "
          "element reports the sum as its latency, and past it the segment "
          "becomes a gap", 0, G_MAXUINT,
          DEFAULT_LATENCY, rw_ready));
  g_object_class_install_property (gobject_class, PROP_LATENESS,
      g_param_spec_uint ("lateness", "Lateness",
          "Milliseconds by which to shift the output forward in time", 0,
          G_MAXUINT, DEFAULT_LATENESS, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_RETRIES,
      g_param_spec_uint ("max-retries", "Max retries",
          "Retries of a failed request (429, 5xx, timeouts, network errors) "
          "with exponential backoff before the segment becomes a gap", 0, 20,
          DEFAULT_MAX_RETRIES, rw_ready));
  g_object_class_install_property (gobject_class, PROP_REQUEST_TIMEOUT,
      g_param_spec_uint ("request-timeout", "Request timeout",
          "Milliseconds one attempt of a request may take, plus a tenth of the "
          "duration of the media it is about", 1000, 3600000,
          DEFAULT_REQUEST_TIMEOUT, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_VIDEO_SIDE,
      g_param_spec_uint ("max-video-side", "Max video side",
          "Long side in pixels of the pictures sent (smaller input is not "
          "upscaled)", 64, 4096, DEFAULT_MAX_VIDEO_SIDE, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_INLINE_BYTES,
      g_param_spec_uint ("max-inline-bytes", "Max inline bytes",
          "Largest encoded segment sent inside the request (base64); larger "
          "ones are uploaded with the Files API first and deleted after use. "
          "0 = always upload", 0, DEFAULT_MAX_INLINE_BYTES, DEFAULT_MAX_INLINE_BYTES,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "streaming: a request per segment, cues while the input plays; whole: "
          "the input is encoded and uploaded while it plays and transcribed as "
          "one video at the end, so a name shown once names its voice "
          "everywhere (cues come after EOS); auto = whole for files, streaming "
          "for live sources",
          GST_TYPE_GEMINI_TRANSCRIBER_MODE, DEFAULT_MODE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_WINDOW_DURATION,
      g_param_spec_uint ("window-duration", "Window duration",
          "Whole mode: longest stretch of the file per request, in seconds; a "
          "longer file is transcribed in windows of the same upload after a "
          "request for its speakers table. 0 = one request whenever the model's "
          "input and output limits allow it", 0, 86400, DEFAULT_WINDOW_DURATION,
          rw_ready));
  g_object_class_install_property (gobject_class, PROP_STREAM_CUES,
      g_param_spec_boolean ("stream-cues", "Stream cues",
          "Use streamGenerateContent and output each cue as soon as its row of "
          "the answer is complete, before the rest of the answer arrives "
          "(lower latency on live input). These early cues carry no speaker "
          "label or speaker events: the model names the speakers after the "
          "rows; the gemini-segment message still has them. Applies to "
          "segments opened after a change", DEFAULT_STREAM_CUES, rw_playing));

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
  GST_DEBUG_CATEGORY_INIT (gst_gemini_transcriber_debug, "geminitranscriber",
      0, "Gemini multimodal transcriber");
}
