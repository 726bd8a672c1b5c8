/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "assembly.h"

#include <algorithm>

namespace gemini {

AssembledSegment
Assembly::add (const SegmentTranscript &t, GstClockTime origin, GstClockTime end,
    size_t already_cued)
{
  AssembledSegment a;
  const size_t known_before = registry_.known ().size ();
  a.ids = registry_.resolve (t);
  a.utterances = registry_.place (t, origin, a.ids);
  std::vector<TimedUtterance> to_cue (a.utterances.begin ()
      + std::min (already_cued, a.utterances.size ()), a.utterances.end ());
  a.cues = cues_.build (to_cue, end);
  a.speakers_changed = registry_.known ().size () != known_before || !t.speakers.empty ();
  return a;
}

std::vector<Cue>
Assembly::add_streaming (const std::vector<Utterance> &rows, GstClockTime origin,
    GstClockTime end)
{
  SegmentTranscript t;
  t.utterances = rows;
  return cues_.build (registry_.place (t, origin, {}), end);
}

std::string
Assembly::label (const std::string &speaker_id) const
{
  const RegisteredSpeaker *sp = registry_.find (speaker_id);
  return sp && sp->info.identified () ? sp->info.name : speaker_id;
}

void
Assembly::reset ()
{
  registry_.reset ();
  cues_.reset ();
}

}  // namespace gemini
