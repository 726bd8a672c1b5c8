/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "run_transcript.h"

#include <algorithm>

namespace transcribe {

/* A cue or utterance without an end is shown this long at most. */
constexpr GstClockTime MAX_OPEN_UTTERANCE = 5 * GST_SECOND;

gint64
Transcript::total_tokens () const
{
  gint64 total = 0;
  for (const auto &s : segments)
    total += s.total_tokens;
  return total;
}

const Speaker *
Transcript::find_speaker (const std::string &id) const
{
  auto it = std::find_if (speakers.begin (), speakers.end (),
      [&](const Speaker &s) { return s.id == id; });
  return it != speakers.end () ? &*it : nullptr;
}

std::string
Transcript::label (const std::string &speaker_id) const
{
  const Speaker *sp = find_speaker (speaker_id);
  if (sp && sp->info.identified ())
    return sp->info.name;
  return gemini::or_unknown (speaker_id);
}

double
Transcript::talk_seconds (const std::string &speaker_id) const
{
  GstClockTime total = 0;
  for (size_t i = 0; i < utterances.size (); i++)
    if (utterances[i].speaker_id == speaker_id)
      total += utterance_end (*this, i) - utterances[i].start;
  return (double) total / GST_SECOND;
}

GstClockTime
utterance_end (const Transcript &t, size_t index)
{
  const Utterance &u = t.utterances[index];
  if (GST_CLOCK_TIME_IS_VALID (u.end) && u.end > u.start)
    return u.end;
  GstClockTime end = u.start + MAX_OPEN_UTTERANCE;
  if (index + 1 < t.utterances.size ())
    end = std::min (end, std::max (u.start, t.utterances[index + 1].start));
  if (GST_CLOCK_TIME_IS_VALID (t.duration))
    end = std::min (end, std::max (u.start, t.duration));
  return end;
}

std::string
strip_speaker_label (const Cue &cue)
{
  for (const std::string &label : {cue.name, cue.speaker_id}) {
    if (gemini::is_unknown (label))
      continue;
    const std::string prefix = label + ":";
    if (cue.text.compare (0, prefix.size (), prefix) == 0) {
      size_t pos = prefix.size ();
      while (pos < cue.text.size () && (cue.text[pos] == ' ' || cue.text[pos] == '\n'))
        pos++;
      return cue.text.substr (pos);
    }
  }
  return cue.text;
}

}  // namespace transcribe
