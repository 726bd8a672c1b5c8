/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the element's files share: its settings, the life of a segment
 * (current -> closing -> jobs -> done -> released on src), the state each
 * thread touches and under which lock, and the functions one file offers
 * the others. The element's own pieces:
 *
 *   gstgeminitranscriber.cpp           type, pads, properties, state
 *                                      changes, queries, event dispatch
 *   gstgeminitranscriber-input.cpp     sink pads: cuts, encoders, A/V pacing
 *   gstgeminitranscriber-workers.cpp   worker threads: one SegmentJob each
 *   gstgeminitranscriber-output.cpp    the src task: cues, gaps, EOS
 *   gstgeminitranscriber-messages.cpp  tags, bus messages, errors
 */
#pragma once

#include "gstgeminitranscriber.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "assembly.h"
#include "client.h"
#include "defaults.h"
#include "frame_scaler.h"
#include "glib_ptr.h"
#include "segment_encoder.h"
#include "segment_job.h"
#include "segmenter.h"
#include "whole_file.h"

GST_DEBUG_CATEGORY_EXTERN (gst_gemini_transcriber_debug);
#define GST_CAT_DEFAULT gst_gemini_transcriber_debug

namespace transcriber {

using gemini::GPtr;

/* A whole-mode segment is cut only by EOS (or a caps change). */
inline constexpr GstClockTime WHOLE_SEGMENT_TARGET = G_MAXUINT64 / 4;
/* Live: how long a cut segment may wait for a lagging video stream to pass
 * its end before it is sent without the missing frames. Not live, video
 * always comes (or ends), so the segment waits for it. */
inline constexpr GstClockTime VIDEO_LAG_LIMIT = 5 * GST_SECOND;
/* Not live: how far the video may run ahead of the audio, which decides
 * the cuts. Further ahead, its sampled frames would pile up raw while the
 * audio waits for room among the requests in flight. */
inline constexpr GstClockTime VIDEO_LEAD_LIMIT = 5 * GST_SECOND;
/* Not live: how far the audio may run ahead of a video stream that is
 * still flowing. Further ahead, its encoded packets pile up in front of the
 * muxer, which interleaves by time: a whole-mode encoder lives as long as
 * the input, so that would grow with it. */
inline constexpr GstClockTime AUDIO_LEAD_LIMIT = 5 * GST_SECOND;
/* Video that delivered nothing for this long (wall time) is sparse (a still
 * picture, a slide deck) or waits on the audio upstream: the audio stops
 * waiting for it rather than deadlock. */
inline constexpr gint64 VIDEO_STALL_US = G_USEC_PER_SEC;
/* How long the first segment waits for the video pad's caps once its
 * stream has started, and for its stream to start at all: a pad linked to
 * a branch that will never carry anything (a recipe's video branch on an
 * audio-only file) must not cost the whole wait. */
inline constexpr auto VIDEO_CAPS_WAIT = std::chrono::seconds (5);
inline constexpr auto VIDEO_START_WAIT = std::chrono::seconds (1);
/* A linked sink pad that received nothing (not even a stream start) while
 * the other delivered this much is taken for absent: demuxers start all
 * their streams together, so it has no stream behind it. */
inline constexpr GstClockTime ABSENT_AFTER = 2 * GST_SECOND;
inline constexpr auto SRC_LOOP_GRANULARITY = std::chrono::milliseconds (100);
/* Live: how far past its time a cue may leave and still count as on time:
 * a frame at 25 fps, well above the wake-up of a thread a sink held. */
inline constexpr GstClockTime LATE_TOLERANCE = 40 * GST_MSECOND;
/* Shorter than this, a segment holds no word worth a request. */
inline constexpr GstClockTime MIN_SEGMENT = 100 * GST_MSECOND;

struct Settings {
  std::string api_endpoint;
  std::string api_key;
  bool vertex = false;
  bool vertex_set = false;            /* else $GOOGLE_GENAI_USE_VERTEXAI decides */
  std::string project;
  std::string location;
  std::string access_token;
  std::string model = gemini::defaults::MODEL;
  guint segment_duration = 0;         /* 0: defaults::SEGMENT_MS_FILE or _LIVE */
  gdouble fps = gemini::defaults::FPS;
  GstGeminiMediaResolution media_resolution = GST_GEMINI_MEDIA_RESOLUTION_AUTO;
  guint max_concurrent = gemini::defaults::MAX_CONCURRENT;
  std::string context;
  std::string language;
  gdouble temperature = -1.0;         /* < 0: the model family's */
  gint seed = gemini::defaults::SEED;
  guint latency = gemini::defaults::LATENCY_MS;
  guint lateness = 0;
  guint max_retries = gemini::defaults::MAX_RETRIES;
  guint request_timeout = gemini::defaults::REQUEST_TIMEOUT_MS;
  guint max_video_side = gemini::defaults::MAX_VIDEO_SIDE;
  guint max_inline_bytes = gemini::defaults::MAX_INLINE_BYTES;
  GstGeminiTranscriberMode mode = GST_GEMINI_TRANSCRIBER_MODE_AUTO;
  guint window_duration = 0;          /* s; 0: as long as the model allows */
  bool stream_cues = false;
  GstGeminiTiming timing = GST_GEMINI_TIMING_AUDIO;
  bool evidence = false;
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
  /* timing=audio: the segment's loudness, for the cue timer. */
  std::optional<gemini::AudioEnvelope> sound;
  bool whole = false;
  std::unique_ptr<gemini::SegmentEncoder> encoder;
  bool had_sound = false;
  bool has_video = false;
  bool fed = false;                  /* the encoder got at least one buffer */
  bool video_fed = false;            /* ... and at least one video frame */
  Settings settings;                 /* as they were when the segment opened */

  void cancel ()
  {
    if (encoder)
      encoder->cancel ();
    if (upload)
      upload->cancel ();
  }
};

enum class Status { Ok, Silent, Failed, Blocked, Late };

const char *status_name (Status s);

/* What the src task needs of a segment once it is cut: where it lies, and
 * what its cues are timed on. */
struct CutSegment {
  GstClockTime start = 0;
  GstClockTime end = 0;
  std::shared_ptr<const gemini::AudioEnvelope> sound;   /* null: timing=model */
  GstClockTime cue_gap = 0;          /* two frames of the video, or 80 ms */
};

/* What a finished segment job hands to the src task. */
struct Outcome {
  guint64 seq = 0;
  GstClockTime start = 0;
  GstClockTime end = 0;
  Status status = Status::Failed;
  gemini::SegmentJobResult job;
};

/* A video frame kept at the sampling rate, already at the size it is sent. */
struct SampledFrame {
  GstClockTime rt;
  GPtr<GstBuffer> frame;
  GPtr<GstCaps> caps;
};

/* What the sink pads were told: kept across flushes, reset at stop. */
struct InputState {
  InputState ()
  {
    gst_segment_init (&audio_segment, GST_FORMAT_TIME);
    gst_segment_init (&video_segment, GST_FORMAT_TIME);
  }

  GstAudioInfo audio_info;
  bool audio_info_valid = false;
  GPtr<GstCaps> audio_caps;
  GPtr<GstCaps> video_caps;
  /* From the video's image-orientation tag: how its frames are turned
   * upright before they are sent. */
  GstVideoOrientationMethod video_orientation = GST_VIDEO_ORIENTATION_IDENTITY;
  /* A pad has started once anything (event or buffer) reached it; one
   * that never did is declared absent (ABSENT_AFTER). */
  bool audio_started = false;
  bool video_started = false;
  bool audio_absent = false;
  bool video_absent = false;
  GstClockTime first_audio_rt = GST_CLOCK_TIME_NONE;
  GstClockTime first_video_rt = GST_CLOCK_TIME_NONE;
  GstSegment audio_segment;
  bool have_audio_segment = false;
  guint32 audio_segment_seqnum = GST_SEQNUM_INVALID;
  GstSegment video_segment;
  bool have_video_segment = false;
  guint32 video_segment_seqnum = GST_SEQNUM_INVALID;
  std::string upstream_stream_id;
  guint group_id = 0;
  bool have_group_id = false;
  /* For video_caps; shared so that the video thread scales without the lock. */
  std::shared_ptr<gemini::FrameScaler> scaler;
};

/* One run of the stream, from start or a flush to the next. */
struct StreamState {
  gemini::Segmenter segmenter;
  std::optional<Segment> current;
  std::deque<Segment> closing;       /* cut, waiting for video to pass their end */
  std::deque<Segment> jobs;          /* ready, waiting for a worker */
  std::deque<SampledFrame> pending_video;
  GstClockTime audio_position = GST_CLOCK_TIME_NONE;
  GstClockTime video_position = GST_CLOCK_TIME_NONE;
  GstClockTime video_end = GST_CLOCK_TIME_NONE;   /* set at video EOS */
  GstClockTime next_video_sample = 0;
  bool ever_audio = false;
  bool audio_eos = false;
  bool video_eos = false;
  bool caps_changed = false;
  bool fatal = false;
  bool mode_warned = false;          /* mode=whole that cannot be: said once */
  guint64 next_seq = 0;
  guint in_flight = 0;               /* cut but not yet output */

  std::map<guint64, Outcome> done;
  /* stream-cues: rows read from answers still streaming, not yet output */
  std::map<guint64, std::vector<gemini::Utterance>> streamed;
  /* Cut segments not yet output, for live deadlines and the cue timing */
  std::map<guint64, CutSegment> cut_segments;
  guint64 next_out = 0;
  bool eos_pending = false;

  /* Cancels its segments' encoders and uploads, then starts afresh by
   * assignment: nothing of the last run survives a flush or a stop. */
  void restart ();
};

struct State {
  std::unique_ptr<gemini::Client> client;
  GPtr<GCancellable> cancellable;
  std::vector<std::thread> workers;
  bool stopping = false;
  bool flushing = false;
  guint64 epoch = 0;                 /* bumped by every flush: late jobs are dropped */
  bool latency_known = false;
  bool live = false;
  GstClockTime upstream_min = 0;
  /* Not live: one thread waits for the other (see its condition variable). */
  bool video_waiting = false;
  bool audio_waiting = false;
  gint64 video_arrival_us = 0;       /* monotonic time of the last video buffer */
  std::vector<gemini::KnownSpeaker> known_speakers;

  InputState input;
  StreamState stream;
};

/* Only touched by the src pad task (and reset, by assignment, while it is
 * stopped). */
struct OutputState {
  OutputState () { gst_segment_init (&segment, GST_FORMAT_TIME); }

  bool sticky_sent = false;
  bool markup = false;
  bool discont = true;
  GstClockTime position = 0;         /* input running time up to which src is covered */
  GstClockTime lateness = 0;
  GstSegment segment;                /* input segment, base moved by lateness */
  gemini::Assembly assembly;
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

/* gstgeminitranscriber.cpp */
Settings settings_snapshot (GstGeminiTranscriber * self);
GstClockTime segment_target (const Settings & s, bool live, bool whole);
GstClockTime live_latency (const Settings & s);

/* -input.cpp: called from the sink pads' streaming threads; each takes
 * the state lock itself. */
GstFlowReturn audio_chain (GstPad * pad, GstObject * parent, GstBuffer * buf);
GstFlowReturn video_chain (GstPad * pad, GstObject * parent, GstBuffer * buf);
void note_pad_started (GstGeminiTranscriber * self, bool audio);
void on_stream_start (GstGeminiTranscriber * self, bool audio, GstEvent * event);
bool on_caps (GstGeminiTranscriber * self, bool audio, GstCaps * caps);
bool on_segment (GstGeminiTranscriber * self, bool audio, GstEvent * event);
void on_gap (GstGeminiTranscriber * self, bool audio, GstEvent * event);
void on_tags (GstGeminiTranscriber * self, bool audio, GstEvent * event);
void on_eos (GstGeminiTranscriber * self, bool audio);
bool upstream_latency (GstGeminiTranscriber * self, gboolean * live, GstClockTime * min,
    GstClockTime * max);

/* -workers.cpp */
bool start_stream (GstGeminiTranscriber * self);
void stop_stream (GstGeminiTranscriber * self);
void start_flush (GstGeminiTranscriber * self);
void stop_flush (GstGeminiTranscriber * self, bool reset_time);

/* -output.cpp: the src pad task. */
void src_loop (GstGeminiTranscriber * self);
std::string output_language (GstGeminiTranscriber * self, const OutputState & out);
GstClockTime to_position (const OutputState & out, GstClockTime rt);

/* -messages.cpp */
GstTagList *make_tag_list (const std::string & language,
    const gemini::RegisteredSpeaker * speaker);
void post_fatal_error (GstGeminiTranscriber * self, const gemini::Error & e,
    const std::string & model);
void post_missing_credentials (GstGeminiTranscriber * self, bool vertex);
void post_segment_message (GstGeminiTranscriber * self, const Outcome & o, OutputState & out,
    const std::string & transcript, guint n_cues);
void post_speakers_message (GstGeminiTranscriber * self,
    const gemini::SpeakerRegistry & registry);

}  // namespace transcriber

/* Lives in the instance's private area (G_ADD_PRIVATE): constructed in
 * _init, destroyed in _finalize. */
typedef transcriber::Private GstGeminiTranscriberPrivate;

struct _GstGeminiTranscriber {
  GstElement parent;
  GstPad *audio_sink;
  GstPad *video_sink;
  GstPad *src;
  transcriber::Private *priv;
};
