/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Utterances -> subtitle cues a person can read: at most `max_lines` lines of
 * `max_line_chars`, split at sentence and phrase boundaries, each shown long
 * enough to read (characters per second cap) but not past the next
 * utterance, within [min_duration, max_duration], and `min_gap` before the
 * next cue; the speaker's name is prefixed when the speaker changes. */
#pragma once

#include <string>
#include <vector>

#include <gst/gst.h>

namespace gemini {

struct CueOptions {
  guint max_line_chars = 42;
  guint max_lines = 2;
  double max_chars_per_second = 17.0;
  GstClockTime min_duration = 1 * GST_SECOND;
  GstClockTime max_duration = 7 * GST_SECOND;
  /* Between a cue's end and the next cue: two frames of the output's video,
   * or 80 ms without video (the BBC's and Netflix's rule). */
  GstClockTime min_gap = 80 * GST_MSECOND;
};

/* A stretch of speech found in the audio, [start, end). */
struct SpeechSpan {
  GstClockTime start = 0;
  GstClockTime end = 0;
};

/* An utterance placed in the stream: absolute times, stable speaker. */
struct TimedUtterance {
  GstClockTime start = 0;
  GstClockTime end = GST_CLOCK_TIME_NONE;
  std::string text;
  std::string speaker_id;             /* "S1" */
  std::string speaker_label;          /* what to print: name, or the id when unnamed */
  std::string voice;                  /* request-local id, for the meta */
  /* The times the model wrote; start and end above are the CueTimer's when
   * it moved them onto the speech, found in `speech` (in order). */
  GstClockTime model_start = GST_CLOCK_TIME_NONE;
  GstClockTime model_end = GST_CLOCK_TIME_NONE;
  std::vector<SpeechSpan> speech;
};

struct Cue {
  GstClockTime pts = 0;
  GstClockTime duration = 0;
  std::string text;                   /* utf8, lines joined with '\n', "Name: " on change */
  std::string markup;                 /* same, as escaped pango markup with the label coloured */
  std::string speaker_id;
  std::string voice;
  bool speaker_changed = false;
};

class CueBuilder {
public:
  explicit CueBuilder (CueOptions opts = {}) : opts_ (opts) {}

  /* Cues for one segment's utterances (in order). `limit` is where the
   * segment ends: a cue runs past it only when it starts so close to it
   * that it would otherwise be shown for less than min_duration. No text is
   * ever dropped and no cue starts earlier than its words. An utterance
   * with `speech` has its cues on those spans, in proportion to their text. */
  std::vector<Cue> build (const std::vector<TimedUtterance> &utterances, GstClockTime limit);
  void reset () { last_speaker_.clear (); }
  void set_min_gap (GstClockTime gap) { opts_.min_gap = gap; }

private:
  CueOptions opts_;
  std::string last_speaker_;          /* carried across segments for labels */
};

}  // namespace gemini
