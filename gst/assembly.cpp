/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "assembly.h"

#include <algorithm>

namespace gemini {

std::vector<TimedUtterance>
Assembly::place (const SegmentTranscript &t, GstClockTime origin, GstClockTime end,
    const std::map<std::string, std::string> &ids, const AudioEnvelope *sound) const
{
  std::vector<TimedUtterance> rows = registry_.place (t, origin, ids);
  if (sound)
    timer_.time (rows, *sound, origin, end);
  return rows;
}

AssembledSegment
Assembly::add (const SegmentTranscript &t, GstClockTime origin, GstClockTime end,
    size_t already_cued, const AudioEnvelope *sound)
{
  AssembledSegment a;
  const size_t known_before = registry_.known ().size ();
  a.ids = registry_.resolve (t, origin);
  a.speakers = on_timeline (t.speakers, origin);
  a.utterances = place (t, origin, end, a.ids, sound);
  std::vector<TimedUtterance> to_cue (a.utterances.begin ()
      + std::min (already_cued, a.utterances.size ()), a.utterances.end ());
  a.cues = cues_.build (to_cue, end);
  a.speakers_changed = registry_.known ().size () != known_before || !t.speakers.empty ();
  return a;
}

std::vector<Cue>
Assembly::add_streaming (const std::vector<Utterance> &rows, GstClockTime origin,
    GstClockTime end, const AudioEnvelope *sound)
{
  SegmentTranscript t;
  t.utterances = rows;
  return cues_.build (place (t, origin, end, {}, sound), end);
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
