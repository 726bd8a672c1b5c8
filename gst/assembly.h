/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From answers to cues, segment after segment: what the element pushes and
 * what the batch CLI writes are made by this one step. Voices become
 * stream-wide speakers (SpeakerRegistry), rows are placed on the stream's
 * timeline, moved onto the speech when the segment's sound is known
 * (CueTimer), and one CueBuilder makes the cues so that its rules (a label
 * when the speaker changes) carry across segment edges. */
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "audio_envelope.h"
#include "cue_builder.h"
#include "cue_timer.h"
#include "speaker_registry.h"
#include "transcript.h"

namespace gemini {

struct AssembledSegment {
  std::map<std::string, std::string> ids;   /* request-local voice -> stream-wide id */
  std::vector<TimedUtterance> utterances;   /* every row, on the stream's timeline */
  std::vector<Cue> cues;                    /* for the rows not cued before */
  std::vector<Speaker> speakers;            /* its table, evidence on the stream's timeline */
  bool speakers_changed = false;            /* someone new, or the table said something */
};

class Assembly {
public:
  explicit Assembly (CueOptions options = {}) : cues_ (options) {}

  /* One segment's transcript, its times relative to `origin`; cues end by
   * `end` (CueBuilder's limit). The first `already_cued` rows were pushed
   * while the answer streamed (add_streaming ()) and are not cued again.
   * With the segment's `sound`, the rows are moved onto its speech
   * (timing `audio`); without, they keep the model's times (`model`). */
  AssembledSegment add (const SegmentTranscript &t, GstClockTime origin, GstClockTime end,
      size_t already_cued = 0, const AudioEnvelope *sound = nullptr);

  /* Rows of an answer still streaming: the speakers table comes after the
   * rows, so these cues carry no speaker yet. Timed on the rows so far, so
   * the last one's end may differ from what add () finds with them all. */
  std::vector<Cue> add_streaming (const std::vector<Utterance> &rows, GstClockTime origin,
      GstClockTime end, const AudioEnvelope *sound = nullptr);

  /* From the next segment on (CueOptions::min_gap). */
  void set_min_gap (GstClockTime gap) { cues_.set_min_gap (gap); }

  const SpeakerRegistry &registry () const { return registry_; }
  const RegisteredSpeaker *find (const std::string &speaker_id) const
  {
    return registry_.find (speaker_id);
  }
  /* What a cue is labelled with: the name when known, else the id. */
  std::string label (const std::string &speaker_id) const;

  void reset ();

private:
  std::vector<TimedUtterance> place (const SegmentTranscript &t, GstClockTime origin,
      GstClockTime end, const std::map<std::string, std::string> &ids,
      const AudioEnvelope *sound) const;

  SpeakerRegistry registry_;
  CueTimer timer_;
  CueBuilder cues_;
};

}  // namespace gemini
