/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decides where segments end. A segment closes once it is `target` long,
 * at the first quiet point (audio level below the threshold for at least
 * `min_quiet`) found from `target - window` on, and at the latest at
 * `target + window`, so that no word is split between two requests. It
 * also remembers whether a segment held any sound, so silent segments can
 * become GAPs instead of requests. */
#pragma once

#include <algorithm>

#include <gst/gst.h>
#include <gst/audio/audio.h>

#include "audio_envelope.h"

namespace gemini {

struct SegmenterSettings {
  GstClockTime target = 30 * GST_SECOND;
  GstClockTime window = 3 * GST_SECOND;      /* clamped to target / 4 */
  GstClockTime min_quiet = 200 * GST_MSECOND;
  double quiet_db = -40.0;                   /* dBFS RMS */
  double sound_db = -50.0;                   /* above this a buffer counts as sound */

  /* The longest a segment gets (no quiet point found), give or take the
   * one input buffer that crosses it: what a live caller must budget. */
  GstClockTime longest () const { return target + std::min (window, target / 4); }
};

class Segmenter {
public:
  explicit Segmenter (SegmenterSettings s = {}) : s_ (s) {}

  /* Starts a segment at `start` (running time). */
  void begin (GstClockTime start);

  /* One audio buffer, [pts, pts + duration), with its RMS level in dBFS.
   * Returns true if the current segment should end *before* this buffer
   * (the caller then begins a new segment at `pts`). */
  bool observe (GstClockTime pts, GstClockTime duration, double rms_db);

  /* Without audio (video-only), the cut is by duration only. */
  bool observe_time (GstClockTime pts);

  GstClockTime start () const { return start_; }
  bool had_sound () const { return had_sound_; }

private:
  SegmenterSettings s_;
  GstClockTime start_ = 0;
  GstClockTime quiet_since_ = GST_CLOCK_TIME_NONE;
  bool had_sound_ = false;
  /* The buffer observe() cut before: it opens the next segment. */
  GstClockTime cut_pts_ = GST_CLOCK_TIME_NONE;
  bool cut_sound_ = false;
  bool cut_quiet_ = false;
};

/* Interleaved raw audio starting at `pts`, summed per 10 ms frame of the
 * envelope's grid: its rms_db () is what observe () takes, and an
 * AudioEnvelope adds the frames up for the cue timer. */
AudioLevels measure_audio (const GstAudioInfo *info, const guint8 *data, gsize size,
    GstClockTime pts);

}  // namespace gemini
