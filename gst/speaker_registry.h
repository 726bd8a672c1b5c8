/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stream-wide speakers. Voice ids are local to one request (the model may
 * number the same person 1 in one segment and 3 in the next); the registry
 * maps them to stable ids ("S1", "S2"...) by name, merges what each segment
 * learns (a company found later fills in an earlier "?"), and gives the next
 * prompt the list of speakers known so far. */
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "cue_builder.h"
#include "prompt.h"
#include "transcript.h"

namespace gemini {

struct RegisteredSpeaker {
  std::string id;                     /* "S1", stable for the stream */
  Speaker info;                       /* best knowledge so far; voice = last local id */
  guint segments = 0;                 /* how many segments it spoke in */
};

class SpeakerRegistry {
public:
  /* Registers a segment's speakers, their evidence moved to the stream's
   * timeline (`origin` + its time, as place () does for utterances);
   * returns local voice id -> stable id for every voice used in the
   * segment's utterances or speaker table. */
  std::map<std::string, std::string> resolve (const SegmentTranscript &segment,
      GstClockTime origin = 0);

  const RegisteredSpeaker *find (const std::string &id) const;

  /* The segment's utterances on the stream's timeline (`offset` + their
   * time, also their model_start/model_end), with the stream-wide ids `ids`
   * (from resolve ()) and the label a cue prints: the name when known, else
   * the id. */
  std::vector<TimedUtterance> place (const SegmentTranscript &segment, GstClockTime offset,
      const std::map<std::string, std::string> &ids) const;
  const std::vector<RegisteredSpeaker> &speakers () const { return speakers_; }
  /* Identified speakers, for the next prompt. */
  std::vector<KnownSpeaker> known () const;
  void reset ()
  {
    speakers_.clear ();
    by_id_.clear ();
    by_key_.clear ();
  }

private:
  RegisteredSpeaker *match (const Speaker &s);
  void index (gsize position);

  std::vector<RegisteredSpeaker> speakers_;
  std::unordered_map<std::string, gsize> by_id_;
  /* Name keys (name_keys ()) -> positions in speakers_ of the identified
   * speakers with that key: a name is compared only with the names that
   * share a key with it, so n speakers cost O(n log n), not O(n^2). */
  std::unordered_map<std::string, std::vector<gsize>> by_key_;
};

}  // namespace gemini
