/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Batch jobs: many generateContent requests sent as one job with
 * models/{model}:batchGenerateContent, at about half the interactive price,
 * answered within hours instead of seconds.
 *
 * The requests are the ones the element sends (prompt.h builds them): this
 * module packs them (inline in the create body when it stays under
 * `inline_limit`, else a JSONL file uploaded through the Files API), polls
 * the job with backoff until it ends, and reads the answers back (inline
 * responses, or the downloaded result file), each with its key. A request
 * that failed inside a successful job keeps its own error. Developer API
 * only. See docs/batch.md. */
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gst/gst.h>

#include "client.h"
#include "prompt.h"
#include "request.h"
#include "response.h"
#include "result.h"
#include "transcript_parser.h"
#include "whole_file.h"

namespace gemini {

struct BatchRequest {
  std::string key;                    /* unique in the job; comes back with the answer */
  GenerateRequest request;
};

/* Inline requests while the create body stays under this (the service's
 * 20 MB request limit, with room for the envelope); above, a JSONL file. */
inline constexpr gsize DEFAULT_BATCH_INLINE_LIMIT = 20 * 1000 * 1000;

enum class BatchState { Unspecified, Pending, Running, Succeeded, Failed, Cancelled, Expired };

/* BATCH_STATE_* (the wire) or JOB_STATE_* (the SDKs' names). */
BatchState batch_state_from_wire (std::string_view s);
/* "PENDING", "RUNNING", ... */
const char *batch_state_name (BatchState s);
bool batch_state_done (BatchState s);

struct BatchJob {
  std::string name;                   /* "batches/{id}" */
  BatchState state = BatchState::Unspecified;
  gint64 request_count = 0;
  gint64 succeeded = 0;
  gint64 failed = 0;
  gint64 pending = 0;
  std::optional<Error> error;         /* why a FAILED job failed */
  std::string responses_file;         /* "files/{id}": the results of a JSONL job */
  GPtr<JsonNode> inlined_responses;   /* the results of an inline job */
};

Result<BatchJob> parse_batch_job (JsonNode *operation);

/* One answer of a finished job. */
struct BatchResult {
  std::string key;
  std::optional<GenerateResponse> response;
  std::optional<Error> error;         /* this request failed; the others may not have */
};

/* The results of an inline job; `keys` (in request order) name answers that
 * came back without their metadata. */
Result<std::vector<BatchResult>> parse_inline_results (const BatchJob &job,
    const std::vector<std::string> &keys);
/* A result file: one {"key", "response" | "error"} object per line. */
Result<std::vector<BatchResult>> parse_results_jsonl (std::string_view jsonl);

/* One {"key", "request"} object per line: the input file of a big job. */
std::string batch_input_jsonl (const std::vector<BatchRequest> &requests);
/* {"batch": {"displayName", "inputConfig": {"requests": ...}}} */
std::string batch_inline_body (const std::vector<BatchRequest> &requests,
    const std::string &display_name);

struct BatchSubmitOptions {
  std::string display_name;
  gsize inline_limit = DEFAULT_BATCH_INLINE_LIMIT;
  /* Called once the JSONL input is uploaded, before the job is created, so
   * a caller can remember the file (and delete it later). */
  std::function<void (const FileInfo &)> on_input_uploaded;
  /* "files/{id}": the JSONL input uploaded by an interrupted submission of
   * the same requests, used instead of uploading them again. */
  std::string existing_input_file;
};

struct BatchSubmission {
  std::string name;                   /* "batches/{id}" */
  std::string input_file;             /* "files/{id}" for a JSONL job, else empty */
  gsize body_bytes = 0;               /* inline create body or JSONL file */
};

/* Creates the job (uploading its JSONL input first when it is too big to
 * be inline). Blocking: never call it on the client thread. */
Result<BatchSubmission> submit_batch (Client &client, std::string_view model,
    const std::vector<BatchRequest> &requests, const BatchSubmitOptions &options,
    GCancellable *cancellable);

struct BatchPollOptions {
  GstClockTime initial_interval = 5 * GST_SECOND;
  GstClockTime max_interval = 60 * GST_SECOND;
  double multiplier = 1.5;
  /* Every answer, for progress; the interval grows only while nothing changes. */
  std::function<void (const BatchJob &)> on_poll;
};

/* Polls batches/{id} until the job is done (whatever its final state). */
Result<BatchJob> wait_for_batch (Client &client, std::string_view name,
    const BatchPollOptions &options, GCancellable *cancellable);

/* The answers of a SUCCEEDED job: inline, or downloaded from its result file. */
Result<std::vector<BatchResult>> fetch_batch_results (Client &client, const BatchJob &job,
    const std::vector<std::string> &keys, GCancellable *cancellable);

/* ---- transcription jobs ---- */

struct BatchMedia {
  std::string file_uri;               /* the uploaded file */
  std::string mime_type;
  GstClockTime duration = 0;
  bool has_video = false;
};

struct BatchTranscriptionSettings {
  std::string model;
  std::string context;
  std::string language;
  bool evidence = false;               /* PromptOptions::evidence */
  double fps = 1.0;
  /* nullopt = auto: medium, low from AUTO_LOW_RESOLUTION_FROM of media per request */
  std::optional<MediaResolution> media_resolution;
  GenerationSettings generation;
  GstClockTime window = 0;            /* longest window; 0: as long as the model's limits allow */
  ModelLimits limits;
};

/* The windows of one input, as the whole-file mode plans them
 * (plan_windows () with the model's limits, without quiet points): one when
 * the input fits a request. */
std::vector<Window> batch_windows (const BatchMedia &media,
    const BatchTranscriptionSettings &settings);

/* The element's request for one window of an uploaded input. A window of
 * a video is cut out with videoMetadata offsets and is a clip of its own;
 * a window of audio, which offsets do not cut (they apply to video only),
 * is asked for in words over the whole file. */
GenerateRequest batch_transcription_request (const BatchMedia &media, const Window &w,
    const BatchTranscriptionSettings &settings);

/* How the answer for window `w` reads: `parse` for parse_transcript(),
 * `origin` the input time of its 00:00, and, for a window asked for in
 * words, the rows to keep (those that start in it: the neighbours hold the
 * others). */
struct BatchWindowReading {
  ParseContext parse;
  GstClockTime origin = 0;
  bool in_words = false;
  bool keeps (GstClockTime row_start, const Window &w, GstClockTime duration) const {
    return !in_words || ((w.start == 0 || row_start >= w.start)
        && (w.end >= duration || row_start < w.end));
  }
};
BatchWindowReading batch_window_reading (const BatchMedia &media, const Window &w);

}  // namespace gemini
