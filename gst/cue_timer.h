/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cue times from the audio itself. Gemini writes timecodes in whole
 * seconds, often a second off; subtitles want the speech's onset within a
 * few frames. The timer finds the stretches of speech in a segment's
 * envelope and moves each utterance onto the ones that fit it best: the
 * onset nearest the model's start (within `search`), a length that fits its
 * text at the segment's own speaking rate, the model's end when it gave
 * one. Utterances keep their order and never share a stretch; one with no
 * speech near it (music, noise, a row the model made up) keeps the model's
 * time. */
#pragma once

#include <vector>

#include "audio_envelope.h"
#include "cue_builder.h"

namespace gemini {

struct CueTimerOptions {
  GstClockTime search = 1500 * GST_MSECOND;   /* how far from the model's time */
  /* A shorter pause is within a stretch: the stop before a plosive, not
   * the breath between two speakers' turns. An utterance may take several
   * stretches. */
  GstClockTime bridge = 80 * GST_MSECOND;
  GstClockTime shortest = 40 * GST_MSECOND;   /* a shorter sound is a click */
  double above_floor_db = 15.0;               /* speech starts this far above the background */
  double within_db = 10.0;                    /* ... and goes on, soft edges too, this far */
};

class CueTimer {
public:
  explicit CueTimer (CueTimerOptions options = {}) : o_ (options) {}

  /* Stretches of speech in [from, to) of `sound`, in order. The background
   * is the quietest level (over 30 ms) within 1.5 s each side, so that
   * speech over a music bed or a noise floor stands out as well as speech
   * over silence. */
  std::vector<SpeechSpan> find_speech (const AudioEnvelope &sound, GstClockTime from,
      GstClockTime to) const;

  /* Moves `rows` (in order, times on the stream's timeline within
   * [from, to)) onto the speech of `sound`; sets each row's `speech`, and
   * its model_start/model_end if not set yet. Returns how many moved. */
  size_t time (std::vector<TimedUtterance> &rows, const AudioEnvelope &sound,
      GstClockTime from, GstClockTime to) const;

private:
  CueTimerOptions o_;
};

}  // namespace gemini
