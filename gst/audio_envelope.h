/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How loud the audio was, 10 ms at a time: all the cue timer knows of the
 * sound (never the samples themselves). Frames sit on a fixed grid of the
 * stream's time, k * 10 ms, so that buffers of any size, and segments cut
 * anywhere, add up to the same frames. An hour is 360 000 frames, 1.4 MB. */
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gst/gst.h>

namespace gemini {

/* One buffer's samples, summed per frame of the grid: what measure_audio ()
 * (segmenter.h) makes of raw audio, and what AudioEnvelope adds up. */
struct AudioLevels {
  guint64 first_frame = 0;             /* grid index of sums[0] */
  std::vector<double> sums;            /* sum of squared samples, full scale = 1 */
  std::vector<guint32> counts;         /* samples (all channels) in each */

  /* The buffer's RMS level in dBFS; -120 for silence or no samples. */
  double rms_db () const;
};

class AudioEnvelope {
public:
  static constexpr GstClockTime FRAME = 10 * GST_MSECOND;
  static constexpr float SILENCE_DB = -120.0f;

  void add (const AudioLevels &levels);
  /* A GAP: [pts, pts + duration) was silent. */
  void add_silence (GstClockTime pts, GstClockTime duration);

  bool empty () const { return size () == 0; }
  size_t size () const { return db_.size () + (open_ ? 1 : 0); }
  /* Start of frame 0; the envelope covers [start (), end ()). */
  GstClockTime start () const { return first_ * FRAME; }
  GstClockTime end () const { return (first_ + size ()) * FRAME; }
  /* Frame i's level in dBFS (the last frame may still be filling). */
  float level (size_t i) const;
  /* The frame holding `t`, clamped to the envelope. */
  size_t frame_at (GstClockTime t) const;
  GstClockTime time_of (size_t i) const { return (first_ + i) * FRAME; }

  /* A compact copy for a file (2 bytes a frame), and back: nullopt for
   * anything serialize () did not write. */
  std::string serialize () const;
  static std::optional<AudioEnvelope> parse (std::string_view bytes);

private:
  void close_open_frame ();
  void append_frame (guint64 index, double sum, guint32 count);

  guint64 first_ = 0;
  std::vector<float> db_;              /* finished frames from first_ on */
  bool open_ = false;                  /* frame first_ + db_.size () is filling */
  double open_sum_ = 0.0;
  guint64 open_count_ = 0;
};

}  // namespace gemini
