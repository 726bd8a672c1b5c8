/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transcript model: what one request tells us about one segment. */
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gst/gst.h>

namespace gemini {

/* The tables' word for "not found". The model writes it; every output
 * (tags, metas, messages, files) shows it for a field nobody filled in, so
 * that an empty string never stands for a person. */
inline constexpr std::string_view UNKNOWN = "?";

inline bool
is_unknown (std::string_view v)
{
  return v.empty () || v == UNKNOWN;
}

inline std::string
or_unknown (const std::string &v)
{
  return v.empty () ? std::string (UNKNOWN) : v;
}

/* One row of the transcripts table. Times are relative to the start of the
 * segment's media (0 = first sample sent), already clamped and monotonic. */
struct Utterance {
  GstClockTime start = 0;
  GstClockTime end = GST_CLOCK_TIME_NONE;   /* NONE when the model gave none */
  std::string text;
  std::string voice;                         /* request-local voice id */
};

/* Where the model found a speaker's field (the study's "debugging &
 * evidence" tip): what was shown or said, and when. `time` is relative to
 * the segment's media like an Utterance's, on the stream's timeline once
 * the SpeakerRegistry holds it; NONE when the model gave none. */
struct Evidence {
  std::string field;                         /* name, company, position, role_in_video */
  GstClockTime time = GST_CLOCK_TIME_NONE;
  std::string source;                        /* shown, said */
  std::string text;                          /* the words shown or said */
};

/* One row of the speakers table; a field is_unknown () when not found. */
struct Speaker {
  std::string voice;
  std::string name;
  std::string company;
  std::string position;
  std::string role_in_video;
  /* Asked for with PromptOptions::evidence; at most one per field. */
  std::vector<Evidence> evidence;

  bool identified () const { return !is_unknown (name); }
  /* A field by its name in the table; null for another name. */
  const std::string *
  field (std::string_view table_name) const
  {
    if (table_name == "name")
      return &name;
    if (table_name == "company")
      return &company;
    if (table_name == "position")
      return &position;
    if (table_name == "role_in_video")
      return &role_in_video;
    return nullptr;
  }
  /* A voice that spoke but is not in the table. */
  static Speaker
  unknown (std::string voice)
  {
    const std::string u (UNKNOWN);
    return Speaker{std::move (voice), u, u, u, u};
  }
};

/* `speakers` with their evidence moved from the segment's time to the
 * stream's (`origin` + it), as the registry keeps them. */
inline std::vector<Speaker>
on_timeline (std::vector<Speaker> speakers, GstClockTime origin)
{
  for (auto &sp : speakers)
    for (auto &e : sp.evidence)
      if (GST_CLOCK_TIME_IS_VALID (e.time))
        e.time += origin;
  return speakers;
}

struct SegmentTranscript {
  std::vector<Utterance> utterances;
  std::vector<Speaker> speakers;
  /* ISO-639 code of the main language spoken, as the model reported it;
   * empty when it gave none. */
  std::string language;
  /* What the parser had to repair, one line each ("timecode 07:12 beyond
   * segment end, clamped"); posted in the gemini-segment message. */
  std::vector<std::string> repairs;
  /* The answer was cut (MAX_TOKENS): only complete rows were kept; speech
   * after `covered_until` was not transcribed. */
  bool truncated = false;
  GstClockTime covered_until = GST_CLOCK_TIME_NONE;
};

}  // namespace gemini
