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

/* One row of the speakers table; a field is_unknown () when not found. */
struct Speaker {
  std::string voice;
  std::string name;
  std::string company;
  std::string position;
  std::string role_in_video;

  bool identified () const { return !is_unknown (name); }
  /* A voice that spoke but is not in the table. */
  static Speaker
  unknown (std::string voice)
  {
    const std::string u (UNKNOWN);
    return Speaker{std::move (voice), u, u, u, u};
  }
};

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
