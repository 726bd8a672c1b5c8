/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FrameScaler: the picture the model is sent, made when a frame is
 * sampled. Sizes, formats, colours, timestamps, and what it keeps of the
 * full frame (nothing). */
#include <cmath>
#include <memory>
#include <string>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "frame_scaler.h"

using gemini::FrameScaler;
using gemini::GPtr;

namespace {

GPtr<GstCaps>
caps_of (const std::string &description)
{
  GPtr<GstCaps> caps (gst_caps_from_string (description.c_str ()));
  g_assert_nonnull (caps);
  return caps;
}

/* One frame of `caps` filled by videotestsrc with `pattern`, from the
 * source's own buffer pool. */
GPtr<GstBuffer>
test_frame (GstCaps *caps, const char *pattern)
{
  g_autofree gchar *caps_str = gst_caps_to_string (caps);
  const std::string desc = std::string ("videotestsrc num-buffers=1 pattern=") + pattern
      + " ! " + caps_str + " ! appsink name=out";
  g_autoptr (GError) err = nullptr;
  GPtr<GstElement> pipeline (gst_parse_launch (desc.c_str (), &err));
  g_assert_no_error (err);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline.get ()), "out");
  gst_element_set_state (pipeline.get (), GST_STATE_PLAYING);
  GstSample *sample = nullptr;
  g_signal_emit_by_name (sink, "pull-sample", &sample);
  g_assert_nonnull (sample);
  /* A deep copy: the frame must not depend on the pipeline torn down here. */
  GPtr<GstBuffer> frame (gst_buffer_copy_deep (gst_sample_get_buffer (sample)));
  gst_sample_unref (sample);
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  return frame;
}

GstVideoInfo
info_of (GstCaps *caps)
{
  GstVideoInfo info;
  g_assert_true (gst_video_info_from_caps (&info, caps));
  return info;
}

/* Mean of one plane of an I420 frame. */
double
plane_mean (GstBuffer *frame, GstCaps *caps, guint plane)
{
  GstVideoInfo info = info_of (caps);
  GstVideoFrame f;
  g_assert_true (gst_video_frame_map (&f, &info, frame, GST_MAP_READ));
  const gint w = GST_VIDEO_FRAME_COMP_WIDTH (&f, plane);
  const gint h = GST_VIDEO_FRAME_COMP_HEIGHT (&f, plane);
  const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (&f, plane);
  auto data = static_cast<const guint8 *> (GST_VIDEO_FRAME_PLANE_DATA (&f, plane));
  double sum = 0;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      sum += data[y * stride + x];
  gst_video_frame_unmap (&f);
  return sum / (double (w) * h);
}

void
test_1080p_becomes_768x432_i420_with_its_colours ()
{
  GPtr<GstCaps> in = caps_of ("video/x-raw,format=I420,width=1920,height=1080,"
      "framerate=30/1,colorimetry=bt709,pixel-aspect-ratio=1/1");
  auto scaler = FrameScaler::create (in.get (), 768);
  g_assert_nonnull (scaler);

  GstVideoInfo out = info_of (scaler->caps ());
  g_assert_cmpint (GST_VIDEO_INFO_FORMAT (&out), ==, GST_VIDEO_FORMAT_I420);
  g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&out), ==, 768);
  g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&out), ==, 432);
  g_assert_cmpint (GST_VIDEO_INFO_PAR_N (&out), ==, 1);
  g_assert_cmpint (GST_VIDEO_INFO_PAR_D (&out), ==, 1);
  g_assert_cmpint (GST_VIDEO_INFO_FPS_N (&out), ==, 30);
  /* No matrix conversion: BT.709 in, BT.709 out. */
  const GstVideoInfo in_info = info_of (in.get ());
  g_assert_true (gst_video_colorimetry_is_equal (&out.colorimetry, &in_info.colorimetry));

  /* A white frame stays white, a black one black (studio range). */
  for (auto [pattern, luma] : { std::pair { "white", 235.0 }, std::pair { "black", 16.0 } }) {
    GPtr<GstBuffer> frame = test_frame (in.get (), pattern);
    GPtr<GstBuffer> small = scaler->scale (frame.get ());
    g_assert_nonnull (small);
    g_assert_cmpuint (gst_buffer_get_size (small.get ()), ==, GST_VIDEO_INFO_SIZE (&out));
    g_assert_cmpfloat (std::fabs (plane_mean (small.get (), scaler->caps (), 0) - luma), <, 1.0);
    g_assert_cmpfloat (std::fabs (plane_mean (small.get (), scaler->caps (), 1) - 128.0), <, 1.0);
  }
}

void
test_timestamps_and_flags_are_kept ()
{
  GPtr<GstCaps> in = caps_of ("video/x-raw,format=NV12,width=1280,height=720,framerate=25/1");
  auto scaler = FrameScaler::create (in.get (), 768);
  g_assert_nonnull (scaler);
  GPtr<GstBuffer> frame = test_frame (in.get (), "ball");
  GST_BUFFER_PTS (frame.get ()) = 7 * GST_SECOND;
  GST_BUFFER_DURATION (frame.get ()) = GST_SECOND / 25;
  GST_BUFFER_FLAG_SET (frame.get (), GST_BUFFER_FLAG_DISCONT);

  GPtr<GstBuffer> small = scaler->scale (frame.get ());
  g_assert_nonnull (small);
  g_assert_cmpuint (GST_BUFFER_PTS (small.get ()), ==, 7 * GST_SECOND);
  g_assert_cmpuint (GST_BUFFER_DURATION (small.get ()), ==, GST_SECOND / 25);
  g_assert_true (GST_BUFFER_FLAG_IS_SET (small.get (), GST_BUFFER_FLAG_DISCONT));
  /* The video meta (if any) describes the small picture, not the input's. */
  GstVideoMeta *meta = gst_buffer_get_video_meta (small.get ());
  if (meta != nullptr)
    g_assert_cmpuint (meta->width, ==, 768);
}

/* The point of scaling at sampling time: the full frame is not kept, not
 * even by a buffer sharing its memory, so it goes back to its pool now. */
void
test_the_full_frame_is_not_kept ()
{
  GPtr<GstCaps> in = caps_of ("video/x-raw,format=I420,width=1920,height=1080,framerate=30/1");
  auto scaler = FrameScaler::create (in.get (), 768);
  GPtr<GstBuffer> frame = test_frame (in.get (), "smpte");
  GPtr<GstBuffer> small = scaler->scale (frame.get ());
  g_assert_nonnull (small);
  g_assert_cmpint (GST_MINI_OBJECT_REFCOUNT_VALUE (frame.get ()), ==, 1);
  g_assert_true (gst_buffer_is_all_memory_writable (frame.get ()));
  g_assert_cmpuint (gst_buffer_get_size (small.get ()) * 5, <, gst_buffer_get_size (frame.get ()));
}

/* Scaled frames go through the encoder's own videoscale untouched: the
 * size for an already scaled picture is that picture's. */
void
test_a_scaled_picture_is_its_own_size ()
{
  for (const char *c : { "video/x-raw,format=I420,width=1920,height=1080",
           "video/x-raw,format=I420,width=1080,height=1920",
           "video/x-raw,format=YUY2,width=1440,height=1080,pixel-aspect-ratio=4/3",
           "video/x-raw,format=I420,width=640,height=360" }) {
    GPtr<GstCaps> in = caps_of (std::string (c) + ",framerate=30/1");
    auto first = FrameScaler::create (in.get (), 768);
    g_assert_nonnull (first);
    auto again = FrameScaler::create (first->caps (), 768);
    g_assert_nonnull (again);
    GstVideoInfo a = info_of (first->caps ()), b = info_of (again->caps ());
    g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&a), ==, GST_VIDEO_INFO_WIDTH (&b));
    g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&a), ==, GST_VIDEO_INFO_HEIGHT (&b));
  }
}

void
test_anamorphic_input_gets_square_pixels ()
{
  /* PAL 4:3 with 16/15 pixels: 768x576 on screen. */
  GPtr<GstCaps> in = caps_of ("video/x-raw,format=I420,width=720,height=576,"
      "pixel-aspect-ratio=16/15,framerate=25/1");
  auto scaler = FrameScaler::create (in.get (), 768);
  GstVideoInfo out = info_of (scaler->caps ());
  g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&out), ==, 768);
  g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&out), ==, 576);
  g_assert_cmpint (GST_VIDEO_INFO_PAR_N (&out), ==, 1);
  g_assert_cmpint (GST_VIDEO_INFO_PAR_D (&out), ==, 1);
}

void
test_rgb_becomes_i420_and_small_input_is_not_upscaled ()
{
  GPtr<GstCaps> in = caps_of ("video/x-raw,format=RGB,width=320,height=240,framerate=10/1");
  auto scaler = FrameScaler::create (in.get (), 768);
  g_assert_nonnull (scaler);
  GstVideoInfo out = info_of (scaler->caps ());
  g_assert_cmpint (GST_VIDEO_INFO_FORMAT (&out), ==, GST_VIDEO_FORMAT_I420);
  g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&out), ==, 320);
  g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&out), ==, 240);

  /* Pure red: BT.601 Y' 81, Cb 90, Cr 240. */
  GPtr<GstBuffer> small = scaler->scale (test_frame (in.get (), "red").get ());
  g_assert_nonnull (small);
  g_assert_cmpfloat (std::fabs (plane_mean (small.get (), scaler->caps (), 0) - 81), <, 3);
  g_assert_cmpfloat (std::fabs (plane_mean (small.get (), scaler->caps (), 1) - 90), <, 3);
  g_assert_cmpfloat (std::fabs (plane_mean (small.get (), scaler->caps (), 2) - 240), <, 3);
}

void
test_matches_its_input_and_size_only ()
{
  GPtr<GstCaps> in = caps_of ("video/x-raw,format=I420,width=1280,height=720,framerate=30/1");
  GPtr<GstCaps> other = caps_of ("video/x-raw,format=I420,width=1280,height=720,framerate=25/1");
  auto scaler = FrameScaler::create (in.get (), 768);
  g_assert_true (scaler->matches (in.get (), 768));
  g_assert_false (scaler->matches (in.get (), 512));
  g_assert_false (scaler->matches (other.get (), 768));
}

void
test_memory_it_cannot_map_is_refused ()
{
  GPtr<GstCaps> gl = caps_of ("video/x-raw(memory:GLMemory),format=RGBA,width=1280,height=720");
  g_assert_null (FrameScaler::create (gl.get (), 768));
  GPtr<GstCaps> audio = caps_of ("audio/x-raw,format=S16LE,rate=16000,channels=1");
  g_assert_null (FrameScaler::create (audio.get (), 768));
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/scaler/1080p-becomes-768x432-i420-with-its-colours",
      test_1080p_becomes_768x432_i420_with_its_colours);
  g_test_add_func ("/scaler/timestamps-and-flags-are-kept", test_timestamps_and_flags_are_kept);
  g_test_add_func ("/scaler/the-full-frame-is-not-kept", test_the_full_frame_is_not_kept);
  g_test_add_func ("/scaler/a-scaled-picture-is-its-own-size",
      test_a_scaled_picture_is_its_own_size);
  g_test_add_func ("/scaler/anamorphic-input-gets-square-pixels",
      test_anamorphic_input_gets_square_pixels);
  g_test_add_func ("/scaler/rgb-becomes-i420-small-input-not-upscaled",
      test_rgb_becomes_i420_and_small_input_is_not_upscaled);
  g_test_add_func ("/scaler/matches-its-input-and-size-only", test_matches_its_input_and_size_only);
  g_test_add_func ("/scaler/memory-it-cannot-map-is-refused", test_memory_it_cannot_map_is_refused);

  return g_test_run ();
}
