/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `transcript` field of a gemini-segment message, as JSON: one
 * segment's transcripts and speakers tables in the stream's running time
 * (nanoseconds), each voice with its stream-wide speaker id. `start` and
 * `end` are the times the cues use, moved onto the speech with timing
 * `audio`; `model_start` and `model_end` the times the model wrote:
 *
 *   {"transcripts": [{"start", "end" (or null), "model_start", "model_end" (or
 *                     null), "text", "voice", "speaker"}],
 *    "speakers": [{"voice", "speaker", "name", "company", "position",
 *                  "role_in_video", "evidence": [{"field", "time" (or null),
 *                  "source", "text"}]}]}
 *
 * The element writes it; gemini-transcribe and applications read it. */
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cue_builder.h"
#include "transcript.h"

namespace gemini {

/* `rows` as Assembly::add () placed them; `ids` from SpeakerRegistry::resolve (). */
std::string write_segment_transcript (const std::vector<TimedUtterance> &rows,
    const std::vector<Speaker> &speakers, const std::map<std::string, std::string> &ids);

/* The rows of such a document (speaker_label left empty); none when it is
 * not one. Rows whose times are not numbers start at 0. */
std::vector<TimedUtterance> read_segment_transcript (std::string_view json);

}  // namespace gemini
