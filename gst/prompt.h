/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tabular-extraction prompt and its response schema.
 *
 * One request per segment: the media part first (with videoMetadata), then
 * the instructions. Task 1 is the verbatim transcript with voice
 * diarization, task 2 the speakers table; both are linked by `voice`. */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "request.h"
#include "transcript.h"

namespace gemini {

/* A speaker already identified earlier in the stream, given to the model so
 * names stay consistent across segments. */
struct KnownSpeaker {
  std::string id;                     /* stream-wide id, e.g. "S1" */
  Speaker info;
};

struct PromptOptions {
  GstClockTime clip_start = 0;        /* in the stream, for the model's orientation */
  GstClockTime clip_duration = 0;
  bool has_video = true;
  double fps = 1.0;                   /* the video's sampling, for the timecodes' precision */
  std::string context;                /* user text: names, vocabulary, description */
  std::string language;               /* BCP-47 hint for the transcript; empty = as spoken */
  std::vector<KnownSpeaker> known_speakers;
  /* Set when an earlier answer for this clip was cut at the output limit:
   * only the speech from here (clip-relative) on is asked for, the way the
   * audio docs refer to a part of a file ("from 02:30 to 03:29"). */
  std::optional<GstClockTime> transcribe_from;
  /* With transcribe_from: a window of a clip the model sees whole (a
   * cached file), so the answer covers [from, until) only. */
  std::optional<GstClockTime> transcribe_until;
  /* Only the speakers table, for the whole file: every person who speaks,
   * with a short description of the voice so later requests can match it. */
  bool speakers_only = false;
  /* Ask, for each speaker's field, where it was shown or said (Evidence). */
  bool evidence = false;
};

struct GenerationSettings {
  /* nullopt: not sent. sampling_for() (model_family.h) gives each model's. */
  std::optional<double> temperature;
  std::optional<double> top_p;
  gint seed = 42;
  std::optional<gint> max_output_tokens;
  MediaResolution media_resolution = MediaResolution::Medium;
  std::optional<gint> thinking_budget;
};

/* The media reference: inline bytes or an uploaded file, plus sampling. */
struct MediaInput {
  std::string mime_type;
  GPtr<GBytes> inline_data;           /* set for inline */
  std::string file_uri;               /* set for Files API */
  double fps = 1.0;
  std::optional<GstClockTime> start_offset;   /* only for part of a file */
  std::optional<GstClockTime> end_offset;
};

std::string build_prompt (const PromptOptions &opts);
GPtr<JsonNode> transcript_response_schema (bool evidence = false);
GPtr<JsonNode> speakers_response_schema (bool evidence = false);
GenerateRequest build_transcription_request (MediaInput media,
    const PromptOptions &opts, const GenerationSettings &settings);

/* The media part alone, as a context cache holds it. */
GenerateRequest build_media_contents (MediaInput media);

/* The instructions alone, for a request against a cache that holds the
 * media (cachedContent names it). */
GenerateRequest build_cached_transcription_request (std::string cached_content,
    const PromptOptions &opts, const GenerationSettings &settings);

/* `auto` media resolution: medium below this duration of media per request,
 * low above (the study's heuristic). */
inline constexpr GstClockTime AUTO_LOW_RESOLUTION_FROM = 5 * 60 * GST_SECOND;

inline MediaResolution
auto_media_resolution (GstClockTime duration)
{
  return duration >= AUTO_LOW_RESOLUTION_FROM ? MediaResolution::Low : MediaResolution::Medium;
}

}  // namespace gemini
