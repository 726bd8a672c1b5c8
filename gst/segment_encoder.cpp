/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One segment of raw audio/video -> one small standalone WebM file, or
 * Ogg file when there is no video.
 *
 * Pipeline (each branch only when its caps were given):
 *
 *   appsrc ! videorate ! capsfilter(framerate) ! videoscale ! videoconvert
 *     ! capsfilter(I420, WxH) ! videoflip ! vp8enc ! queue ! webmmux
 *   appsrc ! audioconvert ! audioresample ! capsfilter(mono, rate)
 *     ! opusenc ! queue ! webmmux (oggmux without video)
 *   webmmux(streamable=false) ! giostreamsink(GMemoryOutputStream)
 *
 * videorate sits first so that frames it drops are never scaled or
 * converted. The appsrcs are bounded (a few raw frames, about a second of
 * raw audio) which throttles the caller; the unbounded queues after the
 * encoders only ever hold compressed packets, so one branch waiting in the
 * muxer for the other never blocks the other branch's caller.
 *
 * The muxer writes to a GMemoryOutputStream through giostreamsink rather
 * than to an appsink: with streamable=false webmmux seeks back at EOS to
 * write the segment size, duration and cues, which needs a seekable sink.
 * The result is a regular seekable WebM with a correct duration, kept in
 * memory only.
 *
 * create_streaming() is for a file as long as the whole input, which must
 * not be kept: webmmux(streamable=true) ! appsink hands every muxed buffer
 * to the caller (an upload) and never seeks back, at the price of a header
 * without duration and a file without cues. */
#include "segment_encoder.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <string_view>

#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "debug.h"
#include "frame_scaler.h"

GEMINI_DEBUG_CATEGORY (gemini_encoder_debug, "geminiencoder",
    "Gemini segment encoder");
#define GST_CAT_DEFAULT gemini_encoder_debug

namespace gemini {

namespace {

/* Long enough for a slow machine to drain a segment's tail, short enough
 * that a wedged pipeline does not hold the element forever. */
constexpr GstClockTime kFinishTimeout = 30 * GST_SECOND;
constexpr GstClockTime kFinishPoll = 100 * GST_MSECOND;

/* Raw video frames queued in the video appsrc before push_video() blocks. */
constexpr guint64 kQueuedFrames = 3;

/* Seconds of raw audio queued in the audio appsrc before push_audio() blocks. */
constexpr guint64 kQueuedAudioSeconds = 1;

/* A keyframe every this many seconds of media keeps offsets into the file
 * (videoMetadata startOffset) cheap to decode. */
constexpr double kKeyframeSeconds = 10.0;

/* Without it webmmux indexes every audio packet of the file,
 * which costs about a third of the file. */
constexpr GstClockTime kIndexInterval = GST_SECOND;

/* VP8 bits per pixel per frame at 1 fps; higher rates get fewer bits per
 * frame because consecutive frames predict each other better. Measured at
 * 768x432, 1 fps, with 24 kbit/s Opus: about 1.0 MB per media minute for
 * noise (the worst case), 0.7 MB for a static test card. */
constexpr double kBitsPerPixel = 0.25;

/* Opus was the largest cost the element added to a decode pipeline. With
 * audio-type generic at this complexity and bitrate libopus codes CELT,
 * which takes under half the CPU of SILK (voice) at the same complexity and
 * a ninth of SILK at its default 10; its log-mel spectrum is as close to the
 * source's (closer for noisy speech, a little further for clean synthetic
 * speech): tests/bench/audio-fidelity.sh. 60 ms frames: fewer packets, so
 * less container overhead per minute. */
constexpr gint kOpusComplexity = 1;

/* VP8's fastest setting: at a few small frames per second the bitrate, not
 * the search effort, sets the quality, and it takes 40 % less CPU than 8
 * for the same bytes. */
constexpr gint kVp8CpuUsed = 16;

struct ObjectUnref {
  void operator() (gpointer p) const noexcept { g_object_unref (p); }
};

guint
default_video_bitrate (gint width, gint height, double fps)
{
  const double bits = double (width) * height * kBitsPerPixel * std::pow (fps, 0.6);
  return guint (std::clamp (bits, 24000.0, 4000000.0));
}

GstElement *
make (GstBin *bin, const char *factory)
{
  GstElement *e = gst_element_factory_make (factory, nullptr);
  if (e != nullptr)
    gst_bin_add (bin, e);
  else
    GST_ERROR ("missing GStreamer element %s", factory);
  return e;
}

GstElement *
make_capsfilter (GstBin *bin, GstCaps *caps)
{
  GstElement *e = make (bin, "capsfilter");
  if (e != nullptr)
    g_object_set (e, "caps", caps, nullptr);
  gst_caps_unref (caps);
  return e;
}

/* Links a chain, stopping at the first missing element. */
bool
link_chain (std::initializer_list<GstElement *> chain)
{
  GstElement *prev = nullptr;
  for (GstElement *e : chain) {
    if (e == nullptr)
      return false;
    if (prev != nullptr && !gst_element_link (prev, e)) {
      GST_ERROR ("cannot link %s to %s", GST_ELEMENT_NAME (prev), GST_ELEMENT_NAME (e));
      return false;
    }
    prev = e;
  }
  return true;
}

GstElement *
make_appsrc (GstBin *bin, GstCaps *caps, guint64 max_bytes)
{
  GstElement *src = make (bin, "appsrc");
  if (src == nullptr)
    return nullptr;
  g_object_set (src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE,
      "do-timestamp", FALSE, "block", TRUE, "max-bytes", max_bytes,
      "emit-signals", FALSE, nullptr);
  return src;
}

/* Encoded packets wait here for the muxer; they are small. */
GstElement *
make_unbounded_queue (GstBin *bin)
{
  GstElement *q = make (bin, "queue");
  if (q != nullptr)
    g_object_set (q, "max-size-buffers", 0u, "max-size-bytes", 0u,
        "max-size-time", guint64 (0), nullptr);
  return q;
}

void
stop_pipeline_async (GstElement *pipeline, gpointer)
{
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

}  // namespace

struct SegmentEncoder::Impl {
  EncoderSettings settings;
  GPtr<GstElement> pipeline;
  GPtr<GstBus> bus;
  std::unique_ptr<GOutputStream, ObjectUnref> stream;
  OutputFn output;                    /* streaming: replaces `stream` */
  std::atomic<gsize> streamed { 0 };
  /* Owned by the pipeline. */
  GstElement *mux = nullptr;
  GstElement *audio_src = nullptr;
  GstElement *video_src = nullptr;
  GstElement *video_queue = nullptr;
  GstElement *audio_queue = nullptr;
  GstElement *video_flip = nullptr;
  gint fps_n = 1, fps_d = 1;

  /* End of the segment, known at finish(); videorate's frames from here on
   * are dropped. */
  std::atomic<GstClockTime> end { GST_CLOCK_TIME_NONE };

  /* failed: set by the bus sync handler on an error; stopped: set once the
   * pipeline went to NULL (cancel(), finish(), destruction). */
  std::atomic<bool> failed { false };
  std::atomic<bool> stopped { false };

  std::mutex lock;
  /* Protected by lock. */
  std::string error_text;
  GPtr<GstBuffer> last_video;
  GPtr<GstCaps> video_caps;           /* of the frames the video appsrc takes now */
  bool video_pushed = false;
  bool audio_pushed = false;

  ~Impl () { stop (); }

  bool build_video (GstCaps *caps);
  bool build_audio (GstCaps *caps);
  bool push (GstElement *src, GstBuffer *buf, GstCaps *new_caps = nullptr);
  void fill_slots (GstBuffer *last, GstClockTime end);
  void drop_track (GstElement *queue);
  void stop ();

  static GstBusSyncReply on_bus_message (GstBus *bus, GstMessage *msg, gpointer data);
  static GstFlowReturn on_muxed (GstAppSink *sink, gpointer data);
  static GstPadProbeReturn clip_to_end (GstPad *pad, GstPadProbeInfo *info, gpointer data);
};

/* At EOS videorate may emit the last frame once more for the slot after
 * it, which can lie past the segment; and the last frame's slot (1/fps)
 * usually overruns a segment cut at a quiet point, which would make the
 * file, and what the model is told it covers, longer than the segment. */
GstPadProbeReturn
SegmentEncoder::Impl::clip_to_end (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto self = static_cast<Impl *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  const GstClockTime end = self->end;
  if (!GST_BUFFER_PTS_IS_VALID (buf) || !GST_CLOCK_TIME_IS_VALID (end))
    return GST_PAD_PROBE_OK;
  const GstClockTime pts = GST_BUFFER_PTS (buf);
  if (pts >= end) {
    GST_LOG ("dropping frame at %" GST_TIME_FORMAT " past the segment end",
        GST_TIME_ARGS (pts));
    return GST_PAD_PROBE_DROP;
  }
  if (GST_BUFFER_DURATION_IS_VALID (buf) && pts + GST_BUFFER_DURATION (buf) > end) {
    buf = gst_buffer_make_writable (buf);
    GST_BUFFER_DURATION (buf) = end - pts;
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  return GST_PAD_PROBE_OK;
}

GstFlowReturn
SegmentEncoder::Impl::on_muxed (GstAppSink *sink, gpointer data)
{
  auto self = static_cast<Impl *> (data);
  GPtr<GstSample> sample (gst_app_sink_pull_sample (sink));
  if (sample == nullptr)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample.get ());
  GstMapInfo map;
  if (buf == nullptr || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  GPtr<GBytes> bytes (g_bytes_new (map.data, map.size));
  gst_buffer_unmap (buf, &map);
  self->streamed += g_bytes_get_size (bytes.get ());
  self->output (bytes.get ());
  return GST_FLOW_OK;
}

GstBusSyncReply
SegmentEncoder::Impl::on_bus_message (GstBus *, GstMessage *msg, gpointer data)
{
  auto self = static_cast<Impl *> (data);

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR: {
      g_autoptr (GError) err = nullptr;
      g_autofree gchar *debug = nullptr;
      gst_message_parse_error (msg, &err, &debug);
      GST_WARNING ("encoding failed in %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
          err->message, GST_STR_NULL (debug));
      {
        std::lock_guard<std::mutex> lk (self->lock);
        if (self->error_text.empty ()) {
          /* The last line of the debug text holds the reason, e.g.
           * "streaming stopped, reason not-negotiated (-4)". */
          std::string_view reason = debug != nullptr ? debug : "";
          reason.remove_prefix (std::min (reason.size (), reason.rfind ('\n') + 1));
          self->error_text = std::string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg))) + ": "
              + err->message;
          if (!reason.empty ())
            self->error_text += std::string (" (") + std::string (reason) + ")";
        }
      }
      self->failed = true;
      /* A failed branch stops pulling from its appsrc, so a caller blocked
       * in push would wait forever; stopping the pipeline unblocks it. This
       * runs in a streaming thread, which must not change the state itself. */
      gst_element_call_async (self->pipeline.get (), stop_pipeline_async, nullptr, nullptr);
      return GST_BUS_PASS;
    }
    case GST_MESSAGE_EOS:
      return GST_BUS_PASS;
    case GST_MESSAGE_WARNING: {
      g_autoptr (GError) err = nullptr;
      gst_message_parse_warning (msg, &err, nullptr);
      GST_WARNING ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
      gst_message_unref (msg);
      return GST_BUS_DROP;
    }
    default:
      /* Nobody reads the rest; dropping keeps the bus queue empty. A sync
       * handler that drops a message owns it. */
      gst_message_unref (msg);
      return GST_BUS_DROP;
  }
}

bool
SegmentEncoder::Impl::build_video (GstCaps *caps)
{
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, caps)) {
    GST_ERROR ("unusable video caps %" GST_PTR_FORMAT, caps);
    return false;
  }

  gst_util_double_to_fraction (settings.fps, &fps_n, &fps_d);

  gint width, height;
  scaled_size (info, settings.max_side, &width, &height);
  const guint bitrate = settings.video_bitrate != 0
      ? settings.video_bitrate : default_video_bitrate (width, height, settings.fps);
  const gint keyframe_dist = std::max (1, gint (std::lround (settings.fps * kKeyframeSeconds)));

  GST_DEBUG ("video %dx%d -> %dx%d at %d/%d fps, %u bit/s", GST_VIDEO_INFO_WIDTH (&info),
      GST_VIDEO_INFO_HEIGHT (&info), width, height, fps_n, fps_d, bitrate);

  auto bin = GST_BIN (pipeline.get ());
  video_src = make_appsrc (bin, caps, kQueuedFrames * GST_VIDEO_INFO_SIZE (&info));
  video_caps = ref_ptr (caps);
  GstElement *rate = make (bin, "videorate");
  GstElement *rate_filter = make_capsfilter (bin, gst_caps_new_simple ("video/x-raw",
          "framerate", GST_TYPE_FRACTION, fps_n, fps_d, nullptr));
  GstElement *scale = make (bin, "videoscale");
  /* Scaling a 4:2:0 picture plane by plane, without resampling the chroma
   * to full size and back, takes a third less CPU for the same picture. */
  if (scale != nullptr)
    gst_util_set_object_arg (G_OBJECT (scale), "chroma-mode", "none");
  GstElement *convert = make (bin, "videoconvert");
  GstElement *size_filter = make_capsfilter (bin, gst_caps_new_simple ("video/x-raw",
          "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, width,
          "height", G_TYPE_INT, height, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
          nullptr));
  /* Turned after the scaling, on the smallest picture; passthrough until
   * orient() says otherwise. */
  GstElement *flip = make (bin, "videoflip");
  video_flip = flip;
  GstElement *enc = make (bin, "vp8enc");
  GstElement *queue = make_unbounded_queue (bin);
  video_queue = queue;

  if (enc != nullptr) {
    g_object_set (enc, "deadline", gint64 (1), "cpu-used", kVp8CpuUsed,
        "target-bitrate", gint (bitrate), "keyframe-max-dist", keyframe_dist,
        "lag-in-frames", 0, nullptr);
    gst_util_set_object_arg (G_OBJECT (enc), "end-usage", "vbr");
  }

  if (rate_filter != nullptr) {
    GPtr<GstPad> pad (gst_element_get_static_pad (rate_filter, "src"));
    gst_pad_add_probe (pad.get (), GST_PAD_PROBE_TYPE_BUFFER, clip_to_end, this, nullptr);
  }

  return link_chain ({ video_src, rate, rate_filter, scale, convert, size_filter, flip, enc,
          queue, mux });
}

bool
SegmentEncoder::Impl::build_audio (GstCaps *caps)
{
  GstAudioInfo info;
  if (!gst_audio_info_from_caps (&info, caps)) {
    GST_ERROR ("unusable audio caps %" GST_PTR_FORMAT, caps);
    return false;
  }

  auto bin = GST_BIN (pipeline.get ());
  audio_src = make_appsrc (bin, caps,
      kQueuedAudioSeconds * GST_AUDIO_INFO_RATE (&info) * GST_AUDIO_INFO_BPF (&info));
  GstElement *convert = make (bin, "audioconvert");
  GstElement *resample = make (bin, "audioresample");
  GstElement *filter = make_capsfilter (bin, gst_caps_new_simple ("audio/x-raw",
          "channels", G_TYPE_INT, 1, "rate", G_TYPE_INT, gint (settings.audio_rate), nullptr));
  GstElement *enc = make (bin, "opusenc");
  GstElement *queue = make_unbounded_queue (bin);
  audio_queue = queue;

  if (enc != nullptr) {
    g_object_set (enc, "bitrate", gint (settings.audio_bitrate), "complexity", kOpusComplexity,
        nullptr);
    gst_util_set_object_arg (G_OBJECT (enc), "frame-size", "60");
    gst_util_set_object_arg (G_OBJECT (enc), "audio-type", "generic");
    gst_util_set_object_arg (G_OBJECT (enc), "bandwidth", "wideband");
  }

  return link_chain ({ audio_src, convert, resample, filter, enc, queue, mux });
}

bool
SegmentEncoder::Impl::push (GstElement *src, GstBuffer *buf, GstCaps *new_caps)
{
  if (failed || stopped)
    return false;

  GstFlowReturn ret;
  if (new_caps != nullptr) {
    /* A sample's caps replace appsrc's, ahead of its buffer. */
    GPtr<GstSample> sample (gst_sample_new (buf, new_caps, nullptr, nullptr));
    ret = gst_app_src_push_sample (GST_APP_SRC (src), sample.get ());
  } else {
    /* appsrc takes over the reference it is given; the caller keeps its own. */
    ret = gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_ref (buf));
  }
  if (ret != GST_FLOW_OK) {
    GST_DEBUG ("push into %s: %s", GST_ELEMENT_NAME (src), gst_flow_get_name (ret));
    return false;
  }
  return !failed;
}

/* videorate only fills the slots up to the last frame it has seen, and at
 * EOS without a segment stop it emits the last frame just once. Repeating
 * the last frame at every remaining slot of the sampling rate makes a still
 * picture, or video that stopped early, cover the whole segment. The copies
 * share the frame's memory. */
void
SegmentEncoder::Impl::fill_slots (GstBuffer *last, GstClockTime end)
{
  const GstClockTime period = gst_util_uint64_scale_int (GST_SECOND, fps_d, fps_n);
  guint64 slot = gst_util_uint64_scale (GST_BUFFER_PTS (last), fps_n, GST_SECOND * fps_d) + 1;
  for (;; slot++) {
    const GstClockTime pts = gst_util_uint64_scale (slot, GST_SECOND * fps_d, fps_n);
    if (pts >= end)
      break;
    GstBuffer *repeat = gst_buffer_copy (last);
    GST_BUFFER_PTS (repeat) = pts;
    GST_BUFFER_DTS (repeat) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION (repeat) = period;
    GST_BUFFER_FLAG_UNSET (repeat, GST_BUFFER_FLAG_DISCONT);
    if (gst_app_src_push_buffer (GST_APP_SRC (video_src), repeat) != GST_FLOW_OK)
      break;
  }
}

/* A branch that got no data would still become an empty track (which
 * players and the model choke on). The muxer has not written anything yet,
 * because it waits for data on every pad, so removing the branch's pad
 * leaves a file with the other stream only. */
void
SegmentEncoder::Impl::drop_track (GstElement *queue)
{
  GPtr<GstPad> queue_src (gst_element_get_static_pad (queue, "src"));
  GPtr<GstPad> mux_pad (gst_pad_get_peer (queue_src.get ()));
  if (mux_pad == nullptr)
    return;
  GST_DEBUG ("no data for %s, dropping its track", GST_PAD_NAME (mux_pad.get ()));
  gst_pad_unlink (queue_src.get (), mux_pad.get ());
  gst_element_release_request_pad (mux, mux_pad.get ());
}

void
SegmentEncoder::Impl::stop ()
{
  if (pipeline == nullptr || stopped.exchange (true))
    return;
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  gst_bus_set_sync_handler (bus.get (), nullptr, nullptr, nullptr);
}

SegmentEncoder::SegmentEncoder (Key) : impl_ (std::make_unique<Impl> ()) {}

SegmentEncoder::~SegmentEncoder () = default;

Result<std::unique_ptr<SegmentEncoder>>
SegmentEncoder::create (const EncoderSettings &settings, GstCaps *audio_caps,
    GstCaps *video_caps)
{
  return create_streaming (settings, audio_caps, video_caps, nullptr);
}

const char *
SegmentEncoder::mime_type (bool with_video)
{
  return with_video ? "video/webm" : "audio/ogg";
}

Result<std::unique_ptr<SegmentEncoder>>
SegmentEncoder::create_streaming (const EncoderSettings &settings, GstCaps *audio_caps,
    GstCaps *video_caps, OutputFn output)
{
  ensure_debug_category ();

  if (audio_caps == nullptr && video_caps == nullptr)
    return Error::make (Error::Kind::Media, "a segment needs audio or video");
  if (video_caps != nullptr && !(settings.fps > 0.0 && settings.fps <= 24.0))
    return Error::make (Error::Kind::Media, "video sampling fps must be in (0, 24]");

  auto enc = std::make_unique<SegmentEncoder> (Key{});
  Impl &d = *enc->impl_;
  d.settings = settings;
  d.output = std::move (output);
  const bool streaming = static_cast<bool> (d.output);
  d.pipeline.reset (GST_ELEMENT (gst_object_ref_sink (gst_pipeline_new ("gemini-encoder"))));
  auto bin = GST_BIN (d.pipeline.get ());
  d.bus.reset (gst_pipeline_get_bus (GST_PIPELINE (d.pipeline.get ())));
  gst_bus_set_sync_handler (d.bus.get (), Impl::on_bus_message, &d, nullptr);

  const bool webm = video_caps != nullptr;
  d.mux = make (bin, webm ? "webmmux" : "oggmux");
  GstElement *sink = make (bin, streaming ? "appsink" : "giostreamsink");
  if (d.mux == nullptr || sink == nullptr)
    return Error::make (Error::Kind::Media, std::string (webm ? "webmmux" : "oggmux")
        + ", appsink or giostreamsink is not installed");
  /* Ogg never seeks back: it streams as it is. */
  if (webm)
    g_object_set (d.mux, "streamable", streaming, "min-index-interval",
        gint64 (kIndexInterval), nullptr);
  if (streaming) {
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = Impl::on_muxed;
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, &d, nullptr);
    g_object_set (sink, "sync", FALSE, "async", FALSE, nullptr);
  } else {
    d.stream.reset (g_memory_output_stream_new_resizable ());
    g_object_set (sink, "stream", d.stream.get (), "sync", FALSE, "async", FALSE, nullptr);
  }
  if (!gst_element_link (d.mux, sink))
    return Error::make (Error::Kind::Media, "cannot link the muxer to its sink");

  if (video_caps != nullptr && !d.build_video (video_caps))
    return Error::make (Error::Kind::Media, "cannot build the video encoder (see the "
        "geminiencoder debug log)");
  if (audio_caps != nullptr && !d.build_audio (audio_caps))
    return Error::make (Error::Kind::Media, "cannot build the audio encoder (see the "
        "geminiencoder debug log)");

  if (gst_element_set_state (d.pipeline.get (), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    d.stop ();
    std::lock_guard<std::mutex> lk (d.lock);
    return Error::make (Error::Kind::Media, "cannot start the encoder: " + d.error_text);
  }

  return enc;
}

bool
SegmentEncoder::push_audio (GstBuffer *buf)
{
  Impl &d = *impl_;
  if (d.audio_src == nullptr)
    return false;
  {
    std::lock_guard<std::mutex> lk (d.lock);
    d.audio_pushed = true;
  }
  return d.push (d.audio_src, buf);
}

bool
SegmentEncoder::push_video (GstBuffer *buf, GstCaps *caps)
{
  Impl &d = *impl_;
  if (d.video_src == nullptr)
    return false;
  GstCaps *new_caps = nullptr;
  {
    std::lock_guard<std::mutex> lk (d.lock);
    d.video_pushed = true;
    if (GST_BUFFER_PTS_IS_VALID (buf))
      d.last_video = ref_ptr (buf);
    if (caps != nullptr && !gst_caps_is_equal (caps, d.video_caps.get ())) {
      d.video_caps = ref_ptr (caps);
      new_caps = caps;
    }
  }
  return d.push (d.video_src, buf, new_caps);
}

bool
SegmentEncoder::orient (GstVideoOrientationMethod method)
{
  Impl &d = *impl_;
  std::lock_guard<std::mutex> lk (d.lock);
  if (d.video_flip == nullptr || d.video_pushed)
    return false;
  g_object_set (d.video_flip, "video-direction", method, nullptr);
  return true;
}

Result<EncodedSegment> SegmentEncoder::finish (GstClockTime duration)
{
  Impl &d = *impl_;
  if (d.stopped)
    return Error::make (Error::Kind::Media, "the encoder was already stopped");

  GPtr<GstBuffer> last_video;
  bool video_pushed, audio_pushed;
  {
    std::lock_guard<std::mutex> lk (d.lock);
    last_video = std::move (d.last_video);
    video_pushed = d.video_pushed;
    audio_pushed = d.audio_pushed;
  }

  d.end = duration;

  if (last_video != nullptr && GST_CLOCK_TIME_IS_VALID (duration))
    d.fill_slots (last_video.get (), duration);
  last_video.reset ();

  if (!video_pushed && !audio_pushed) {
    d.stop ();
    return Error::make (Error::Kind::Media, "no media was pushed for this segment");
  }
  if (d.video_src != nullptr && !video_pushed)
    d.drop_track (d.video_queue);
  if (d.audio_src != nullptr && !audio_pushed)
    d.drop_track (d.audio_queue);
  if (d.video_src != nullptr)
    gst_app_src_end_of_stream (GST_APP_SRC (d.video_src));
  if (d.audio_src != nullptr)
    gst_app_src_end_of_stream (GST_APP_SRC (d.audio_src));

  /* Polled in steps: after an error the pipeline is stopped from another
   * thread, which flushes the bus, so the ERROR message may never arrive. */
  GPtr<GstMessage> msg;
  for (GstClockTime waited = 0; msg == nullptr && !d.failed && waited < kFinishTimeout;
      waited += kFinishPoll) {
    msg.reset (gst_bus_timed_pop_filtered (d.bus.get (), kFinishPoll,
            GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  }
  d.stop ();

  if (d.failed || (msg != nullptr && GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_ERROR)) {
    std::lock_guard<std::mutex> lk (d.lock);
    return Error::make (Error::Kind::Media, "encoding failed: " + d.error_text);
  }
  if (msg == nullptr)
    return Error::make (Error::Kind::Media, "the encoder did not finish within "
        + std::to_string (kFinishTimeout / GST_SECOND) + " s");

  EncodedSegment seg;
  if (d.output) {
    seg.size = d.streamed;
  } else {
    GOutputStream *stream = d.stream.get ();
    g_output_stream_close (stream, nullptr, nullptr);
    seg.data.reset (g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (stream)));
    seg.size = g_bytes_get_size (seg.data.get ());
  }
  if (seg.size == 0)
    return Error::make (Error::Kind::Media, "the encoder produced no data");

  seg.has_video = d.video_src != nullptr && video_pushed;
  seg.has_audio = d.audio_src != nullptr && audio_pushed;
  seg.mime_type = mime_type (d.video_src != nullptr);
  seg.duration = duration;

  GST_DEBUG ("segment of %" GST_TIME_FORMAT ": %" G_GSIZE_FORMAT " bytes, %s",
      GST_TIME_ARGS (duration), seg.size, seg.mime_type.c_str ());
  return seg;
}

void
SegmentEncoder::cancel ()
{
  impl_->stop ();
}

}  // namespace gemini
