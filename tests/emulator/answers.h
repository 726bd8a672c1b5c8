/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the emulator's model answers a generateContent request: the part of
 * the media it is asked about, the script's transcript of it (or a scripted
 * response), the token counts the service reports, and the
 * GenerateContentResponse objects, whole or as a stream. */
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <json-glib/json-glib.h>

#include "script.h"
#include "validator.h"

namespace gemini::test::emu {

/* Stream seconds. */
struct Clip {
  double start = 0.0;
  double end = INFINITY;
  /* "Transcribe only the speech from MM:SS [to MM:SS]": clip-relative
   * seconds. */
  double from = 0.0;
  double until = INFINITY;

  /* As the log shows it: infinite ends are null or left out. */
  JsonNode *to_json () const;
};

/* From the prompt's stream times, else the first video part's offsets,
 * else the longest media. */
Clip clip_of (const ParsedRequest &req);
/* Seconds of media the model "sees" in this part. */
double media_seconds (const MediaPart &m);

struct Usage {
  gint64 text = 0, video = 0, audio = 0, candidates = 0, cached = 0;

  JsonObject *to_json (bool with_candidates) const;
};

/* The prompt's token counts, as the service counts them for this model. */
Usage usage_of (const ParsedRequest &req, const std::string &model);

/* What the model "said", before it is framed as JSON or SSE. */
struct Answer {
  std::string text;
  std::string finish_reason = "STOP";
  bool no_text = false;
  bool prompt_blocked = false;
  bool empty = false;
};

/* The next scripted response, else the script's transcript of the clip,
 * else an empty transcript. The caller holds the script's lock. */
std::string scripted_text (Script &s, const Clip &clip, gint64 request_index,
    const std::string &prompt);
/* What the fault types that change the answer (max_tokens, safety,
 * recitation, prompt_blocked, empty, text) make of it. */
void apply_fault (const Fault &f, Answer &a);

/* The GenerateContentResponse objects of an answer: one for generateContent,
 * several text deltas for streaming. */
std::vector<std::string> response_chunks (const Answer &a, const Usage &usage,
    const std::string &model, const std::string &response_id, int pieces);
/* A streamGenerateContent body: SSE events, or one JSON array without
 * alt=sse. @error (may be null), the body of a mid-stream error, ends it; in
 * SSE it takes the place of the last chunk. */
std::string stream_body (const std::vector<std::string> &chunks, bool sse,
    const std::string *error);

}  // namespace gemini::test::emu
