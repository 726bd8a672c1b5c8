/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shrinks a sampled video frame to the picture the model is sent, the
 * moment it is sampled.
 *
 * A segment's frames wait for its encoder (and, near a cut, for the audio
 * to decide which segment they belong to). Waiting at full size, a 1080p
 * frame is 3 MB and keeps its producer's buffer from going back to its
 * pool; at the model's size it is a sixth of that and the full frame is
 * released at once. The conversion is GstVideoConverter, the code behind
 * videoconvert and videoscale, set up as the encoder's own videoscale is
 * (bilinear, chroma planes scaled as they are), so frames it has shrunk
 * pass through the encoder's videoscale untouched. */
#pragma once

#include <memory>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "glib_ptr.h"

namespace gemini {

/* Picture size for the model: square pixels, long side <= max_side, even
 * dimensions, never larger than the input's display size. Scaling to it
 * twice gives the same size. */
void scaled_size (const GstVideoInfo &info, guint max_side, gint *width, gint *height);

class FrameScaler {
public:
  /* Null for caps that are not raw video in system memory. */
  static std::unique_ptr<FrameScaler> create (GstCaps *input, guint max_side);
  ~FrameScaler ();

  /* Whether this scaler is the one for `input` at `max_side`. */
  bool matches (GstCaps *input, guint max_side) const;

  /* I420 at scaled_size(), square pixels, the input's frame rate. */
  GstCaps *caps () const { return output_caps_.get (); }

  /* A new frame with the input's timestamps and flags; null if the frame
   * cannot be mapped. */
  GPtr<GstBuffer> scale (GstBuffer *frame);

  /* Only create() can make the key: construct through it. */
  class Key {
    friend class FrameScaler;
    Key () = default;
  };
  explicit FrameScaler (Key);

private:
  struct PoolDeleter {
    void operator() (GstBufferPool *pool) const noexcept;
  };
  struct ConverterDeleter {
    void operator() (GstVideoConverter *c) const noexcept { gst_video_converter_free (c); }
  };

  GPtr<GstCaps> input_caps_;
  guint max_side_ = 0;
  GstVideoInfo in_info_;
  GstVideoInfo out_info_;
  GPtr<GstCaps> output_caps_;
  std::unique_ptr<GstVideoConverter, ConverterDeleter> converter_;
  std::unique_ptr<GstBufferPool, PoolDeleter> pool_;
};

}  // namespace gemini
