/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raw A/V in, WebM out: decoded again and checked for size, rate, duration
 * and codecs. */
#include <atomic>
#include <cmath>
#include <string>
#include <thread>

#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

#include "frame_scaler.h"
#include "segment_encoder.h"

using gemini::EncodedSegment;
using gemini::EncoderSettings;
using gemini::GPtr;
using gemini::SegmentEncoder;

namespace {

constexpr GstClockTime kSegment = 10 * GST_SECOND;

/* A test source whose raw buffers are pulled one by one, so a few seconds
 * of 1080p never sit in memory at once. */
class Source {
public:
  explicit Source (const std::string &description)
  {
    g_autoptr (GError) err = nullptr;
    pipeline_.reset (gst_parse_launch (description.c_str (), &err));
    g_assert_no_error (err);
    sink_ = gst_bin_get_by_name (GST_BIN (pipeline_.get ()), "out");
    g_assert_nonnull (sink_);
    g_assert_cmpint (gst_element_set_state (pipeline_.get (), GST_STATE_PLAYING), !=,
        GST_STATE_CHANGE_FAILURE);
  }

  ~Source ()
  {
    gst_element_set_state (pipeline_.get (), GST_STATE_NULL);
    gst_object_unref (sink_);
  }

  GPtr<GstSample> pull () { return GPtr<GstSample> (gst_app_sink_pull_sample (GST_APP_SINK (sink_))); }

  GPtr<GstCaps> caps ()
  {
    GPtr<GstSample> s (gst_app_sink_pull_preroll (GST_APP_SINK (sink_)));
    g_assert_nonnull (s);
    return gemini::ref_ptr (gst_sample_get_caps (s.get ()));
  }

private:
  GPtr<GstElement> pipeline_;
  GstElement *sink_ = nullptr;
};

std::string
video_source (int width, int height, GstClockTime duration, const std::string &pattern)
{
  return "videotestsrc pattern=" + pattern + " num-buffers=" + std::to_string (duration * 30 / GST_SECOND)
      + " ! video/x-raw,format=I420,width=" + std::to_string (width) + ",height="
      + std::to_string (height) + ",framerate=30/1 ! appsink name=out sync=false max-buffers=2";
}

std::string
audio_source (GstClockTime duration)
{
  return "audiotestsrc wave=sine freq=440 samplesperbuffer=4800 num-buffers="
      + std::to_string (duration * 10 / GST_SECOND)
      + " ! audio/x-raw,format=S16LE,channels=2,rate=48000 ! appsink name=out sync=false"
      " max-buffers=2";
}

void
push_all (Source *src, SegmentEncoder *enc, bool video)
{
  while (GPtr<GstSample> s = src->pull ()) {
    GstBuffer *buf = gst_sample_get_buffer (s.get ());
    g_assert_true (video ? enc->push_video (buf) : enc->push_audio (buf));
  }
}

/* Feeds `duration` of generated raw media from two threads, as the element's
 * two streaming threads would, and finishes the segment. */
EncodedSegment
encode (const EncoderSettings &settings, int width, int height, bool audio,
    GstClockTime duration, const std::string &pattern = "ball")
{
  std::unique_ptr<Source> vsrc, asrc;
  GPtr<GstCaps> vcaps, acaps;
  if (width > 0) {
    vsrc = std::make_unique<Source> (video_source (width, height, duration, pattern));
    vcaps = vsrc->caps ();
  }
  if (audio) {
    asrc = std::make_unique<Source> (audio_source (duration));
    acaps = asrc->caps ();
  }

  auto created = SegmentEncoder::create (settings, acaps.get (), vcaps.get ());
  g_assert_true (created.ok ());
  std::unique_ptr<SegmentEncoder> enc = std::move (created).value ();

  std::thread vthread, athread;
  if (vsrc)
    vthread = std::thread (push_all, vsrc.get (), enc.get (), true);
  if (asrc)
    athread = std::thread (push_all, asrc.get (), enc.get (), false);
  if (vthread.joinable ())
    vthread.join ();
  if (athread.joinable ())
    athread.join ();

  auto finished = enc->finish (duration);
  if (!finished.ok ())
    g_error ("finish failed: %s", finished.error ().message.c_str ());
  return std::move (finished).value ();
}

struct Decoded {
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  guint video_frames = 0;
  gint width = 0, height = 0;
  GstClockTime last_frame_pts = GST_CLOCK_TIME_NONE;
  guint audio_streams = 0, video_streams = 0;
  guint channels = 0, rate = 0;
  std::string audio_codec;
  guint opus_packets = 0, celt_packets = 0;
};

/* Counts the Opus packets reaching the decoder and those coded as CELT:
 * configurations 16 to 31 of the packet's TOC byte (RFC 6716, 3.1). */
GstPadProbeReturn
count_opus_modes (GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto d = static_cast<Decoded *> (user_data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  /* Ogg carries OpusHead and OpusTags as the stream's first packets. */
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER))
    return GST_PAD_PROBE_OK;
  guint8 toc;
  if (gst_buffer_extract (buf, 0, &toc, 1) == 1) {
    d->opus_packets++;
    if ((toc >> 3) >= 16)
      d->celt_packets++;
  }
  return GST_PAD_PROBE_OK;
}

guint
drain (GstElement *pipeline, const char *name, GstClockTime *last_pts, GPtr<GstCaps> *caps)
{
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), name);
  guint n = 0;
  while (GPtr<GstSample> s { gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 0) }) {
    n++;
    if (last_pts != nullptr)
      *last_pts = GST_BUFFER_PTS (gst_sample_get_buffer (s.get ()));
    if (caps != nullptr)
      *caps = gemini::ref_ptr (gst_sample_get_caps (s.get ()));
  }
  return n;
}

/* Decodes the file completely (proving it is valid) and reads its
 * container-level facts with GstDiscoverer. */
Decoded
decode (const EncodedSegment &seg)
{
  Decoded d;
  g_autofree gchar *path = nullptr;
  int fd = g_file_open_tmp ("gemini-encoder-XXXXXX.webm", &path, nullptr);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  gsize size;
  auto data = static_cast<const gchar *> (g_bytes_get_data (seg.data.get (), &size));
  g_assert_true (g_file_set_contents (path, data, size, nullptr));
  g_autofree gchar *uri = g_filename_to_uri (path, nullptr, nullptr);

  g_autoptr (GstDiscoverer) disc = gst_discoverer_new (20 * GST_SECOND, nullptr);
  g_autoptr (GstDiscovererInfo) info = gst_discoverer_discover_uri (disc, uri, nullptr);
  g_assert_nonnull (info);
  g_assert_cmpint (gst_discoverer_info_get_result (info), ==, GST_DISCOVERER_OK);
  d.duration = gst_discoverer_info_get_duration (info);

  GList *audio = gst_discoverer_info_get_audio_streams (info);
  GList *video = gst_discoverer_info_get_video_streams (info);
  d.audio_streams = g_list_length (audio);
  d.video_streams = g_list_length (video);
  if (audio != nullptr) {
    auto a = GST_DISCOVERER_AUDIO_INFO (audio->data);
    d.channels = gst_discoverer_audio_info_get_channels (a);
    d.rate = gst_discoverer_audio_info_get_sample_rate (a);
    g_autoptr (GstCaps) caps = gst_discoverer_stream_info_get_caps (GST_DISCOVERER_STREAM_INFO (a));
    d.audio_codec = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  }
  gst_discoverer_stream_info_list_free (audio);
  gst_discoverer_stream_info_list_free (video);

  const bool ogg = seg.mime_type == "audio/ogg";
  std::string desc = std::string ("filesrc location=\"") + path + "\" ! "
      + (ogg ? "oggdemux" : "matroskademux") + " name=d";
  if (d.video_streams > 0)
    desc += " d.video_0 ! queue ! vp8dec ! appsink name=v sync=false wait-on-eos=false";
  if (d.audio_streams > 0)
    desc += std::string (ogg ? " d." : " d.audio_0")
        + " ! queue ! opusdec name=od ! appsink name=a sync=false wait-on-eos=false";
  g_autoptr (GError) err = nullptr;
  GPtr<GstElement> pipeline (gst_parse_launch (desc.c_str (), &err));
  g_assert_no_error (err);
  if (d.audio_streams > 0) {
    g_autoptr (GstElement) dec = gst_bin_get_by_name (GST_BIN (pipeline.get ()), "od");
    GPtr<GstPad> pad (gst_element_get_static_pad (dec, "sink"));
    gst_pad_add_probe (pad.get (), GST_PAD_PROBE_TYPE_BUFFER, count_opus_modes, &d, nullptr);
  }
  gst_element_set_state (pipeline.get (), GST_STATE_PLAYING);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline.get ());
  GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
          GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg.get ()), ==, GST_MESSAGE_EOS);

  if (d.video_streams > 0) {
    GPtr<GstCaps> caps;
    d.video_frames = drain (pipeline.get (), "v", &d.last_frame_pts, &caps);
    GstStructure *s = gst_caps_get_structure (caps.get (), 0);
    gst_structure_get_int (s, "width", &d.width);
    gst_structure_get_int (s, "height", &d.height);
  }
  if (d.audio_streams > 0)
    g_assert_cmpuint (drain (pipeline.get (), "a", nullptr, nullptr), >, 0);
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);

  g_unlink (path);
  return d;
}

void
report_size (const char *what, const EncodedSegment &seg)
{
  const double per_minute = g_bytes_get_size (seg.data.get ()) * 60.0
      / (double (seg.duration) / GST_SECOND);
  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes for %.1f s = %.0f KB per media minute", what,
      g_bytes_get_size (seg.data.get ()), double (seg.duration) / GST_SECOND,
      per_minute / 1000.0);
}

void
assert_duration (GstClockTime actual, GstClockTime expected)
{
  g_assert_true (GST_CLOCK_TIME_IS_VALID (actual));
  g_assert_cmpuint (actual, >=, expected - GST_SECOND / 2);
  g_assert_cmpuint (actual, <=, expected + GST_SECOND / 2);
}

void
test_1080p_with_audio_becomes_768x432_at_1fps_with_mono_opus ()
{
  /* Noise is the worst case for the encoder: the size is an upper bound. */
  EncodedSegment seg = encode (EncoderSettings {}, 1920, 1080, true, kSegment, "snow");
  report_size ("1080p30 noise + stereo 48 kHz at defaults", seg);
  g_assert_cmpstr (seg.mime_type.c_str (), ==, "video/webm");
  g_assert_true (seg.has_video);
  g_assert_true (seg.has_audio);
  g_assert_cmpuint (seg.duration, ==, kSegment);

  Decoded d = decode (seg);
  assert_duration (d.duration, kSegment);
  g_assert_cmpuint (d.video_streams, ==, 1);
  g_assert_cmpuint (d.video_frames, >=, 9);
  g_assert_cmpuint (d.video_frames, <=, 11);
  g_assert_cmpint (d.width, ==, 768);
  g_assert_cmpint (d.height, ==, 432);
  g_assert_cmpuint (d.audio_streams, ==, 1);
  g_assert_cmpstr (d.audio_codec.c_str (), ==, "audio/x-opus");
  g_assert_cmpuint (d.channels, ==, 1);
  g_assert_cmpuint (d.rate, ==, 16000);
}

void
test_video_only_at_2fps_has_twice_the_frames ()
{
  EncoderSettings s;
  s.fps = 2.0;
  EncodedSegment seg = encode (s, 1920, 1080, false, kSegment);
  report_size ("1080p30 video only at 2 fps", seg);
  g_assert_cmpstr (seg.mime_type.c_str (), ==, "video/webm");
  g_assert_true (seg.has_video);
  g_assert_false (seg.has_audio);

  Decoded d = decode (seg);
  assert_duration (d.duration, kSegment);
  g_assert_cmpuint (d.audio_streams, ==, 0);
  g_assert_cmpuint (d.video_frames, >=, 19);
  g_assert_cmpuint (d.video_frames, <=, 21);
}

/* The Gemini API's audio formats are WAV, MP3, AIFF, AAC, OGG and FLAC: no WebM. */
void
test_audio_only_is_opus_in_ogg ()
{
  EncodedSegment seg = encode (EncoderSettings {}, 0, 0, true, kSegment);
  report_size ("stereo 48 kHz audio only", seg);
  g_assert_cmpstr (seg.mime_type.c_str (), ==, "audio/ogg");
  gsize size = 0;
  auto bytes = static_cast<const char *> (g_bytes_get_data (seg.data.get (), &size));
  g_assert_cmpuint (size, >, 36);
  g_assert_cmpint (memcmp (bytes, "OggS", 4), ==, 0);
  g_assert_cmpint (memcmp (bytes + 28, "OpusHead", 8), ==, 0);
  g_assert_false (seg.has_video);
  g_assert_true (seg.has_audio);

  Decoded d = decode (seg);
  assert_duration (d.duration, kSegment);
  g_assert_cmpuint (d.video_streams, ==, 0);
  g_assert_cmpuint (d.audio_streams, ==, 1);
  g_assert_cmpuint (d.channels, ==, 1);
  g_assert_cmpuint (d.rate, ==, 16000);
}

/* CELT, not SILK: under half the CPU for as faithful a spectrum
 * (tests/bench/audio-fidelity.sh). */
void
test_audio_is_coded_as_celt ()
{
  Decoded d = decode (encode (EncoderSettings {}, 0, 0, true, kSegment));
  g_assert_cmpuint (d.opus_packets, >, 0);
  g_assert_cmpuint (d.celt_packets, ==, d.opus_packets);
}

void
test_portrait_input_keeps_its_orientation ()
{
  EncodedSegment seg = encode (EncoderSettings {}, 1080, 1920, false, 3 * GST_SECOND);
  Decoded d = decode (seg);
  g_assert_cmpint (d.width, ==, 432);
  g_assert_cmpint (d.height, ==, 768);
}

void
test_small_input_is_not_upscaled ()
{
  EncodedSegment seg = encode (EncoderSettings {}, 320, 240, false, 3 * GST_SECOND);
  Decoded d = decode (seg);
  g_assert_cmpint (d.width, ==, 320);
  g_assert_cmpint (d.height, ==, 240);
}

/* A still picture (or video that stopped early) must still cover the whole
 * segment at the sampling rate. */
void
test_single_frame_fills_the_segment ()
{
  Source src (video_source (640, 360, GST_SECOND, "ball"));
  GPtr<GstCaps> caps = src.caps ();
  auto created = SegmentEncoder::create (EncoderSettings {}, nullptr, caps.get ());
  g_assert_true (created.ok ());
  GPtr<GstSample> first = src.pull ();
  g_assert_true (created.value ()->push_video (gst_sample_get_buffer (first.get ())));

  auto finished = created.value ()->finish (5 * GST_SECOND);
  g_assert_true (finished.ok ());
  Decoded d = decode (finished.value ());
  assert_duration (d.duration, 5 * GST_SECOND);
  g_assert_cmpuint (d.video_frames, ==, 5);
  g_assert_cmpuint (d.last_frame_pts, ==, 4 * GST_SECOND);
}

/* The element scales frames when it samples them, with caps of their own;
 * a max-video-side changed mid-segment gives frames of another size, which
 * the encoder brings back to the segment's picture size. */
void
test_prescaled_frames_of_two_sizes_keep_the_segment_size ()
{
  Source src (video_source (1280, 720, 4 * GST_SECOND, "ball"));
  GPtr<GstCaps> input = src.caps ();
  auto at_640 = gemini::FrameScaler::create (input.get (), 640);
  auto at_320 = gemini::FrameScaler::create (input.get (), 320);
  g_assert_nonnull (at_640);
  g_assert_nonnull (at_320);

  EncoderSettings settings;
  settings.max_side = 640;
  auto created = SegmentEncoder::create (settings, nullptr, at_640->caps ());
  g_assert_true (created.ok ());
  SegmentEncoder &enc = *created.value ();
  guint n = 0;
  while (GPtr<GstSample> s = src.pull ()) {
    GstBuffer *frame = gst_sample_get_buffer (s.get ());
    if (n++ % 30 != 0)
      continue;
    gemini::FrameScaler &scaler = GST_BUFFER_PTS (frame) < 2 * GST_SECOND ? *at_640 : *at_320;
    GPtr<GstBuffer> small = scaler.scale (frame);
    g_assert_true (enc.push_video (small.get (), scaler.caps ()));
  }
  auto finished = enc.finish (4 * GST_SECOND);
  g_assert_true (finished.ok ());
  Decoded d = decode (finished.value ());
  g_assert_cmpint (d.width, ==, 640);
  g_assert_cmpint (d.height, ==, 360);
  g_assert_cmpuint (d.video_frames, ==, 4);
}

void
test_cancel_mid_segment_unblocks_and_releases_buffers ()
{
  Source src (video_source (1920, 1080, GST_SECOND, "ball"));
  GPtr<GstCaps> caps = src.caps ();
  GPtr<GstSample> sample = src.pull ();
  GstBuffer *frame = gst_sample_get_buffer (sample.get ());

  auto created = SegmentEncoder::create (EncoderSettings {}, nullptr, caps.get ());
  g_assert_true (created.ok ());
  std::unique_ptr<SegmentEncoder> enc = std::move (created).value ();

  /* Same timestamp over and over: videorate drops them all after the first,
   * and the pusher keeps the bounded queue busy until cancel() stops it. */
  std::atomic<bool> pushing { true };
  std::atomic<guint> pushed { 0 };
  std::thread pusher ([&] {
    for (guint i = 0; i < 100000 && pushing; i++) {
      GPtr<GstBuffer> copy (gst_buffer_copy (frame));
      GST_BUFFER_PTS (copy.get ()) = i * GST_SECOND / 30;
      if (!enc->push_video (copy.get ()))
        break;
      pushed++;
    }
    pushing = false;
  });

  while (pushed < 10)
    g_usleep (1000);
  enc->cancel ();
  pusher.join ();
  g_assert_false (pushing);
  g_assert_cmpuint (pushed, <, 100000);

  GPtr<GstBuffer> late (gst_buffer_copy (frame));
  g_assert_false (enc->push_video (late.get ()));
  g_assert_false (enc->finish (kSegment).ok ());
  enc.reset ();
  late.reset ();

  /* Every copy shares the frame's memory: when only the frame holds it,
   * the encoder released every buffer it was given. */
  GstMemory *mem = gst_buffer_peek_memory (frame, 0);
  g_assert_cmpint (GST_MINI_OBJECT_REFCOUNT_VALUE (mem), ==, 1);
}

void
test_unusable_audio_rate_is_a_media_error ()
{
  g_autoptr (GstCaps) caps = gst_caps_from_string (
      "audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=44100");
  EncoderSettings s;
  s.audio_rate = 44100;   /* Opus has no such rate */
  auto created = SegmentEncoder::create (s, caps, nullptr);
  g_assert_false (created.ok ());
  g_assert_true (created.error ().kind == gemini::Error::Kind::Media);
}

/* The element may have a video pad that never delivers a frame in a segment. */
void
test_video_without_frames_yields_audio_file ()
{
  Source asrc (audio_source (2 * GST_SECOND));
  GPtr<GstCaps> acaps = asrc.caps ();
  g_autoptr (GstCaps) vcaps = gst_caps_from_string (
      "video/x-raw,format=I420,width=640,height=360,framerate=30/1");
  auto created = SegmentEncoder::create (EncoderSettings {}, acaps.get (), vcaps);
  g_assert_true (created.ok ());
  push_all (&asrc, created.value ().get (), false);

  auto finished = created.value ()->finish (2 * GST_SECOND);
  if (!finished.ok ())
    g_error ("finish failed: %s", finished.error ().message.c_str ());
  g_assert_false (finished->has_video);
  g_assert_true (finished->has_audio);
  /* Still a WebM (the container was chosen with the caps): the documented
   * type of one is video/webm. */
  g_assert_cmpstr (finished->mime_type.c_str (), ==, "video/webm");
  Decoded d = decode (finished.value ());
  g_assert_cmpuint (d.video_streams, ==, 0);
  g_assert_cmpuint (d.audio_streams, ==, 1);
  assert_duration (d.duration, 2 * GST_SECOND);
}

void
test_video_and_audio_without_data_is_a_media_error ()
{
  g_autoptr (GstCaps) vcaps = gst_caps_from_string (
      "video/x-raw,format=I420,width=640,height=360,framerate=30/1");
  g_autoptr (GstCaps) acaps = gst_caps_from_string (
      "audio/x-raw,format=S16LE,layout=interleaved,channels=2,rate=48000");
  auto created = SegmentEncoder::create (EncoderSettings {}, acaps, vcaps);
  g_assert_true (created.ok ());
  auto finished = created.value ()->finish (kSegment);
  g_assert_false (finished.ok ());
  g_assert_true (finished.error ().kind == gemini::Error::Kind::Media);
}

/* Caps the converters cannot handle (GL memory) fail at negotiation, in a
 * streaming thread: a caller blocked on the full queue must get false back
 * instead of hanging, and finish() a media error. */
void
test_failure_unblocks_the_caller ()
{
  g_autoptr (GstCaps) vcaps = gst_caps_from_string ("video/x-raw(memory:GLMemory),"
      "format=RGBA,width=64,height=64,framerate=30/1");
  auto created = SegmentEncoder::create (EncoderSettings {}, nullptr, vcaps);
  g_assert_true (created.ok ());

  bool refused = false;
  for (guint i = 0; i < 1000 && !refused; i++) {
    GPtr<GstBuffer> frame (gst_buffer_new_allocate (nullptr, 64 * 64 * 4, nullptr));
    GST_BUFFER_PTS (frame.get ()) = i * GST_SECOND / 30;
    refused = !created.value ()->push_video (frame.get ());
  }
  g_assert_true (refused);

  auto finished = created.value ()->finish (kSegment);
  g_assert_false (finished.ok ());
  g_assert_true (finished.error ().kind == gemini::Error::Kind::Media);
  g_test_message ("error: %s", finished.error ().message.c_str ());
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/encoder/1080p-with-audio-becomes-768x432-1fps-mono-opus",
      test_1080p_with_audio_becomes_768x432_at_1fps_with_mono_opus);
  g_test_add_func ("/encoder/video-only-2fps-has-twice-the-frames",
      test_video_only_at_2fps_has_twice_the_frames);
  g_test_add_func ("/encoder/audio-only-is-opus-in-ogg", test_audio_only_is_opus_in_ogg);
  g_test_add_func ("/encoder/audio-is-coded-as-celt", test_audio_is_coded_as_celt);
  g_test_add_func ("/encoder/portrait-input-keeps-orientation",
      test_portrait_input_keeps_its_orientation);
  g_test_add_func ("/encoder/small-input-not-upscaled", test_small_input_is_not_upscaled);
  g_test_add_func ("/encoder/single-frame-fills-the-segment",
      test_single_frame_fills_the_segment);
  g_test_add_func ("/encoder/prescaled-frames-of-two-sizes-keep-the-segment-size",
      test_prescaled_frames_of_two_sizes_keep_the_segment_size);
  g_test_add_func ("/encoder/cancel-mid-segment-unblocks-and-releases-buffers",
      test_cancel_mid_segment_unblocks_and_releases_buffers);
  g_test_add_func ("/encoder/unusable-audio-rate-is-a-media-error",
      test_unusable_audio_rate_is_a_media_error);

  g_test_add_func ("/encoder/video-without-frames-yields-audio-file",
      test_video_without_frames_yields_audio_file);
  g_test_add_func ("/encoder/segment-without-data-is-a-media-error",
      test_video_and_audio_without_data_is_a_media_error);
  g_test_add_func ("/encoder/failure-unblocks-the-caller", test_failure_unblocks_the_caller);

  return g_test_run ();
}
