/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raw audio (+ optional raw video) of one segment -> one small standalone
 * media file for the model: VP8 at exactly the sampling fps, long side
 * <= max_side, Opus mono 16 kHz, in WebM; audio-only, Opus in Ogg, since
 * the Gemini API's audio page lists WAV, MP3, AIFF, AAC, OGG and FLAC and
 * no WebM.
 *
 * An internal GStreamer pipeline (appsrc -> videorate/videoscale/
 * videoconvert -> vp8enc, audioconvert/audioresample -> opusenc -> webmmux
 * or oggmux -> appsink) encodes while the segment is being fed, so finishing a
 * segment only drains the tail. Frames are dropped to the sampling fps
 * before they are scaled or converted, and nothing but the encoded bytes
 * is kept (or, streaming, not even those). One encoder per segment. */
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "glib_ptr.h"
#include "result.h"

namespace gemini {

struct EncoderSettings {
  double fps = 1.0;                   /* sampling rate of the video, 0 < fps <= 24 */
  guint max_side = 768;               /* long side of the encoded picture, px */
  guint audio_rate = 16000;
  guint audio_bitrate = 24000;        /* bits/s, Opus */
  guint video_bitrate = 0;            /* bits/s, 0 = chosen from size and fps */
};

struct EncodedSegment {
  GPtr<GBytes> data;                  /* null when streamed to an output */
  gsize size = 0;
  std::string mime_type;              /* "video/webm" or "audio/ogg" */
  GstClockTime duration = 0;
  bool has_video = false;
  bool has_audio = false;
};

class SegmentEncoder {
public:
  /* The type of the files an encoder made with (or without) video caps
   * writes: "video/webm" or "audio/ogg". */
  static const char *mime_type (bool with_video);

  /* Either caps may be null (audio-only, video-only). Caps are the raw
   * input caps as negotiated on the element's sink pads. */
  static Result<std::unique_ptr<SegmentEncoder>> create (const EncoderSettings &settings,
      GstCaps *audio_caps, GstCaps *video_caps);

  /* The file's bytes, in order, as the muxer writes them (a streaming
   * thread of the encoder). */
  using OutputFn = std::function<void (GBytes *bytes)>;

  /* Same, but the file is handed to `output` while it is encoded instead
   * of being kept: a streamable WebM (no duration in the header, no cues),
   * for files as long as the whole input. */
  static Result<std::unique_ptr<SegmentEncoder>> create_streaming (
      const EncoderSettings &settings, GstCaps *audio_caps, GstCaps *video_caps,
      OutputFn output);
  ~SegmentEncoder ();

  /* Buffers carry PTS relative to the segment start (the element subtracts
   * the segment's running time); the encoder takes its own reference. May
   * block while the encoder catches up (bounded queue), which is the
   * backpressure a non-live pipeline wants. False once the encoder failed. */
  bool push_audio (GstBuffer *buf);
  /* `caps` describe the frame when they differ from the caps the encoder
   * was created with (frames already scaled, a size changed between
   * segments); null means the same. */
  bool push_video (GstBuffer *buf, GstCaps *caps = nullptr);

  /* Turns the frames by `method` (the stream's image-orientation tag) so
   * that the model sees them upright and can read names on screen. Only
   * before the first frame, since a file has one picture size: returns
   * whether it applies. */
  bool orient (GstVideoOrientationMethod method);

  /* Ends the segment at `duration` and returns the file. */
  Result<EncodedSegment> finish (GstClockTime duration);

  /* Aborts encoding (flush / state change); finish() is not called after. */
  void cancel ();

  /* Only create() can make the key: construct through it. */
  class Key {
    friend class SegmentEncoder;
    Key () = default;
  };
  explicit SegmentEncoder (Key);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemini
