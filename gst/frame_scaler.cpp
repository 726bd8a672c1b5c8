/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frame_scaler.h"

#include <algorithm>
#include <cmath>

#include "debug.h"

GEMINI_DEBUG_CATEGORY (gemini_scaler_debug, "geminiscaler",
    "Gemini frame scaler");
#define GST_CAT_DEFAULT gemini_scaler_debug

namespace gemini {

void
scaled_size (const GstVideoInfo &info, guint max_side, gint *width, gint *height)
{
  double dw = GST_VIDEO_INFO_WIDTH (&info);
  double dh = GST_VIDEO_INFO_HEIGHT (&info);
  const gint par_n = GST_VIDEO_INFO_PAR_N (&info);
  const gint par_d = GST_VIDEO_INFO_PAR_D (&info);
  if (par_n > 0 && par_d > 0)
    dw = dw * par_n / par_d;

  const double factor = std::min (1.0, double (max_side) / std::max (dw, dh));
  *width = std::max (2, gint (std::floor (dw * factor)) & ~1);
  *height = std::max (2, gint (std::floor (dh * factor)) & ~1);
}

void
FrameScaler::PoolDeleter::operator() (GstBufferPool *pool) const noexcept
{
  /* Frames still on their way through an encoder hold the pool; they are
   * freed, not recycled, when they come back to an inactive one. */
  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
}

FrameScaler::FrameScaler (Key)
{
  gst_video_info_init (&in_info_);
  gst_video_info_init (&out_info_);
}

FrameScaler::~FrameScaler () = default;

std::unique_ptr<FrameScaler>
FrameScaler::create (GstCaps *input, guint max_side)
{
  ensure_debug_category ();
  const GstCapsFeatures *features = gst_caps_get_features (input, 0);
  if (features != nullptr && !gst_caps_features_is_any (features)
      && !gst_caps_features_contains (features, GST_CAPS_FEATURE_MEMORY_SYSTEM_MEMORY))
    return nullptr;

  auto s = std::make_unique<FrameScaler> (Key ());
  if (!gst_video_info_from_caps (&s->in_info_, input)) {
    GST_WARNING ("unusable video caps %" GST_PTR_FORMAT, input);
    return nullptr;
  }

  gint width, height;
  scaled_size (s->in_info_, max_side, &width, &height);
  gst_video_info_set_format (&s->out_info_, GST_VIDEO_FORMAT_I420, width, height);
  GST_VIDEO_INFO_FPS_N (&s->out_info_) = GST_VIDEO_INFO_FPS_N (&s->in_info_);
  GST_VIDEO_INFO_FPS_D (&s->out_info_) = GST_VIDEO_INFO_FPS_D (&s->in_info_);
  /* The same colours as the input: a matrix conversion would cost more
   * than the scaling, and the encoder would take either. */
  if (GST_VIDEO_INFO_IS_YUV (&s->in_info_)) {
    s->out_info_.colorimetry = s->in_info_.colorimetry;
    s->out_info_.chroma_site = s->in_info_.chroma_site;
  }

  s->converter_.reset (gst_video_converter_new (&s->in_info_, &s->out_info_,
          gst_structure_new ("GstVideoConverter",
              GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
              GST_VIDEO_RESAMPLER_METHOD_LINEAR,
              GST_VIDEO_CONVERTER_OPT_CHROMA_MODE, GST_TYPE_VIDEO_CHROMA_MODE,
              GST_VIDEO_CHROMA_MODE_NONE,
              GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
              GST_VIDEO_DITHER_NONE,
              nullptr)));
  if (!s->converter_) {
    GST_WARNING ("no conversion from %" GST_PTR_FORMAT, input);
    return nullptr;
  }

  s->output_caps_.reset (gst_video_info_to_caps (&s->out_info_));
  s->pool_.reset (gst_video_buffer_pool_new ());
  GstStructure *config = gst_buffer_pool_get_config (s->pool_.get ());
  gst_buffer_pool_config_set_params (config, s->output_caps_.get (),
      GST_VIDEO_INFO_SIZE (&s->out_info_), 0, 0);
  if (!gst_buffer_pool_set_config (s->pool_.get (), config)
      || !gst_buffer_pool_set_active (s->pool_.get (), TRUE)) {
    GST_WARNING ("cannot set up a pool for %" GST_PTR_FORMAT, s->output_caps_.get ());
    return nullptr;
  }

  s->input_caps_ = ref_ptr (input);
  s->max_side_ = max_side;
  GST_DEBUG ("frames %dx%d -> %dx%d", GST_VIDEO_INFO_WIDTH (&s->in_info_),
      GST_VIDEO_INFO_HEIGHT (&s->in_info_), width, height);
  return s;
}

bool
FrameScaler::matches (GstCaps *input, guint max_side) const
{
  return max_side == max_side_ && gst_caps_is_equal (input, input_caps_.get ());
}

GPtr<GstBuffer>
FrameScaler::scale (GstBuffer *frame)
{
  GstBuffer *out = nullptr;
  if (gst_buffer_pool_acquire_buffer (pool_.get (), &out, nullptr) != GST_FLOW_OK)
    return nullptr;
  GPtr<GstBuffer> result (out);

  GstVideoFrame in_frame, out_frame;
  if (!gst_video_frame_map (&in_frame, &in_info_, frame, GST_MAP_READ))
    return nullptr;
  if (!gst_video_frame_map (&out_frame, &out_info_, out, GST_MAP_WRITE)) {
    gst_video_frame_unmap (&in_frame);
    return nullptr;
  }
  gst_video_converter_frame (converter_.get (), &in_frame, &out_frame);
  gst_video_frame_unmap (&out_frame);
  gst_video_frame_unmap (&in_frame);

  gst_buffer_copy_into (out, frame, (GstBufferCopyFlags) (GST_BUFFER_COPY_FLAGS
          | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  return result;
}

}  // namespace gemini
