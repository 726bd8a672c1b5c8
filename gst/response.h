/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* generateContent answers: typed model, JSON parsing, SSE stream decoding. */
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <glib.h>

#include "result.h"

namespace gemini {

struct ModalityTokens {
  std::string modality;   /* "TEXT" | "IMAGE" | "VIDEO" | "AUDIO" | "DOCUMENT" */
  gint64 tokens = 0;
};

struct UsageMetadata {
  gint64 prompt_tokens = 0;
  gint64 candidates_tokens = 0;
  gint64 total_tokens = 0;
  gint64 thoughts_tokens = 0;
  gint64 cached_tokens = 0;
  std::vector<ModalityTokens> prompt_details;
  std::vector<ModalityTokens> candidates_details;
  std::vector<ModalityTokens> cache_details;

  gint64 prompt_tokens_for (std::string_view modality) const;
};

struct GenerateResponse {
  bool has_candidate = false;
  std::string text;            /* concatenated non-thought text parts of candidate 0 */
  std::string finish_reason;   /* wire string; "" while streaming, unknown kept as is */
  std::string block_reason;    /* promptFeedback.blockReason, "" when not blocked */
  UsageMetadata usage;
  std::string model_version;
  std::string response_id;

  bool truncated () const { return finish_reason == "MAX_TOKENS"; }
  /* SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII... or a blocked prompt. */
  bool blocked () const;

  /* Folds one SSE chunk into an aggregate: text appended, last
   * finishReason/usage/model kept. */
  void merge_chunk (const GenerateResponse &chunk);
};

/* Parses one GenerateContentResponse JSON object. An {"error": ...} body is
 * returned as Error (Kind::Http with the embedded code/status). */
Result<GenerateResponse> parse_generate_response (std::string_view json);

/* Parses a google.rpc error body ({"error": {code, status, message,
 * details[RetryInfo...]}}) into an Error; falls back to the raw text. */
Error parse_error_body (guint http_status, std::string_view body);

/* Incremental text/event-stream decoder: feed bytes as they arrive, get one
 * callback per complete event's data (multi-line data joined with "\n").
 * Bare JSON error objects that are not "data:"-prefixed are delivered too. */
class SseDecoder {
public:
  using EventCallback = std::function<void (std::string_view data)>;

  void push (std::string_view bytes, const EventCallback &on_event);
  /* End of body: true if nothing incomplete is left over. */
  bool finish (const EventCallback &on_event);

private:
  void process (const EventCallback &on_event, bool at_end);
  void process_line (std::string_view line, const EventCallback &on_event);
  void feed_raw (std::string_view line, const EventCallback &on_event);

  std::string buffer_;         /* bytes of a line not yet terminated */
  gsize scanned_ = 0;          /* of buffer_, already searched for a line end */
  std::string data_;           /* data: lines of the event being read */
  bool has_data_ = false;
  std::string raw_;            /* a bare JSON object being brace-counted */
  gint raw_depth_ = 0;
  bool raw_in_string_ = false;
  bool raw_escape_ = false;
};

}  // namespace gemini
