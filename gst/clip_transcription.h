/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One clip (a segment, a window of a file, a whole file) -> its transcript:
 * the request, and while the answer was cut at the model's output limit,
 * requests for the speech after the last complete row. Blocking; called
 * from the element's workers and from the whole-file job's threads. */
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "prompt.h"
#include "transcript_parser.h"

namespace gemini {

/* Rows of an answer that became final while it streams (client thread). */
using RowsCallback = std::function<void (std::vector<Utterance>)>;

struct ClipRequest {
  std::string model;
  MediaInput media;                  /* unused when cached_content is set */
  std::string cached_content;        /* "cachedContents/{id}": the media is there */
  PromptOptions prompt;
  GenerationSettings generation;
  ParseContext parse;
  /* Set: the first request streams (streamGenerateContent) and its rows go
   * here as they complete; follow-ups for the rest of the clip do not, their
   * rows come after rows not yet output. */
  RowsCallback on_rows;
};

enum class ClipStatus { Ok, Failed, Blocked };

struct ClipResult {
  ClipStatus status = ClipStatus::Failed;
  SegmentTranscript transcript;
  std::string raw_text;
  std::string error;
  std::optional<Error> failure;      /* the request's error, when one made it fail */
  UsageMetadata usage;
  std::optional<Error> fatal;        /* nothing will work until a person acts */
  guint requests = 0;
  std::string model_version;         /* modelVersion of the last answer: what served it */
};

/* Requests for the rest of a clip after answers cut at the output limit:
 * bounded, since each one costs the whole clip's input; and not for a rest
 * too short to hold a word. */
inline constexpr guint MAX_TAIL_REQUESTS = 2;
inline constexpr GstClockTime MIN_TAIL = 250 * GST_MSECOND;

/* The time an answer about `media` may take beyond the client's
 * request_timeout. The model reads all of a clip before its first byte and
 * writes about 8 tokens per second of it: a clip of an hour (whole mode)
 * took more than the 120 s that suit a 2-minute segment. A tenth of the
 * clip's duration covers an answer written at 80 tokens/s. */
inline constexpr GstClockTime
answer_allowance (GstClockTime media)
{
  return media / 10;
}

ClipResult transcribe_clip (Client &client, const ClipRequest &request,
    GCancellable *cancellable);

void add_usage (UsageMetadata &total, const UsageMetadata &u);

}  // namespace gemini
