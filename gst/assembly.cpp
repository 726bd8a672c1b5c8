/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "assembly.h"

#include <algorithm>

namespace gemini {

namespace {

/* The speakers table with its evidence on the stream's timeline, as the
 * registry keeps it. */
SegmentTranscript
with_evidence_at (const SegmentTranscript &t, GstClockTime origin)
{
  SegmentTranscript out;
  out.speakers = t.speakers;
  for (auto &sp : out.speakers)
    for (auto &e : sp.evidence)
      if (GST_CLOCK_TIME_IS_VALID (e.time))
        e.time += origin;
  out.utterances = t.utterances;
  return out;
}

}  // namespace

std::vector<TimedUtterance>
Assembly::place (const SegmentTranscript &t, GstClockTime origin, GstClockTime end,
    const std::map<std::string, std::string> &ids, const AudioEnvelope *sound) const
{
  std::vector<TimedUtterance> rows = registry_.place (t, origin, ids);
  for (auto &r : rows) {
    r.model_start = r.start;
    r.model_end = r.end;
  }
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
  const bool evidence = std::any_of (t.speakers.begin (), t.speakers.end (),
      [] (const Speaker &sp) { return !sp.evidence.empty (); });
  if (evidence) {
    SegmentTranscript timeline = with_evidence_at (t, origin);
    a.ids = registry_.resolve (timeline);
    a.speakers = std::move (timeline.speakers);
  } else {
    a.ids = registry_.resolve (t);
    a.speakers = t.speakers;
  }
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
