/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From answers to cues, segment after segment: what the element pushes and
 * what the batch CLI writes are made by this one step. Voices become
 * stream-wide speakers (SpeakerRegistry), rows are placed on the stream's
 * timeline, and one CueBuilder makes the cues so that its rules (a label
 * when the speaker changes) carry across segment edges. */
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cue_builder.h"
#include "speaker_registry.h"
#include "transcript.h"

namespace gemini {

struct AssembledSegment {
  std::map<std::string, std::string> ids;   /* request-local voice -> stream-wide id */
  std::vector<TimedUtterance> utterances;   /* every row, on the stream's timeline */
  std::vector<Cue> cues;                    /* for the rows not cued before */
  bool speakers_changed = false;            /* someone new, or the table said something */
};

class Assembly {
public:
  explicit Assembly (CueOptions options = {}) : cues_ (options) {}

  /* One segment's transcript, its times relative to `origin`; cues end by
   * `end` (CueBuilder's limit). The first `already_cued` rows were pushed
   * while the answer streamed (add_streaming ()) and are not cued again. */
  AssembledSegment add (const SegmentTranscript &t, GstClockTime origin, GstClockTime end,
      size_t already_cued = 0);

  /* Rows of an answer still streaming: the speakers table comes after the
   * rows, so these cues carry no speaker yet. */
  std::vector<Cue> add_streaming (const std::vector<Utterance> &rows, GstClockTime origin,
      GstClockTime end);

  const SpeakerRegistry &registry () const { return registry_; }
  const RegisteredSpeaker *find (const std::string &speaker_id) const
  {
    return registry_.find (speaker_id);
  }
  /* What a cue is labelled with: the name when known, else the id. */
  std::string label (const std::string &speaker_id) const;

  void reset ();

private:
  SpeakerRegistry registry_;
  CueBuilder cues_;
};

}  // namespace gemini
