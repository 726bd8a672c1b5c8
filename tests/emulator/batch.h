/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's Batch API: batch jobs created with inline requests or a
 * JSONL input file, their PENDING -> RUNNING -> final states on a scripted
 * clock, and their results (inline, or a generated JSONL file to download).
 *
 * The emulator (file_handlers.cpp) routes the batch paths here after the API key
 * check, fault injection and logging. Each request of a job is answered by
 * the emulator's own generateContent: a job's worker thread posts it to the
 * server with an `X-Emulator-Batch` header, so the scripted transcript,
 * responses and faults (match `batch_request`) apply unchanged and every
 * request is in the log. See docs/emulator.md, "Batch API". */
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <json-glib/json-glib.h>

namespace gemini::test {

/* An answer for the emulator to send: `body` with `content_type` when
 * `status` is 2xx, else a google.rpc error built from `grpc_status` and
 * `message`. */
struct BatchAnswer {
  unsigned status = 200;
  std::string body = "{}";
  std::string content_type = "application/json; charset=UTF-8";
  std::string grpc_status;
  std::string message;

  static BatchAnswer error (unsigned status, std::string grpc_status, std::string message);
};

/* What the batch service needs from the rest of the emulator. */
struct BatchHost {
  /* The bytes of a stored file ("abc123"), or an error answer. `download`:
   * for files/{id}:download, which serves generated files only. */
  std::function<std::optional<std::string> (const std::string &id, bool download,
      BatchAnswer &error)> read_file;
  /* Stores a generated file (source GENERATED, ACTIVE at once); returns its id. */
  std::function<std::string (const std::string &display_name, const std::string &mime,
      std::string bytes)> add_file;
  /* Checks one GenerateContentRequest as generateContent would; an error
   * message, or nothing when valid. */
  std::function<std::optional<std::string> (JsonNode *request)> validate;
  /* Whether generateContent knows the model. */
  std::function<bool (const std::string &model)> known_model;
};

/* The header a job's worker sets on the generateContent requests it makes:
 * "batches/{id} {key}". The emulator logs those requests as kind
 * `batch_request`. */
inline constexpr const char *BATCH_REQUEST_HEADER = "X-Emulator-Batch";

class BatchService {
public:
  explicit BatchService (BatchHost host);
  ~BatchService ();                  /* stop () */

  BatchService (const BatchService &) = delete;
  BatchService &operator= (const BatchService &) = delete;

  /* The log kind of a batch path ("batch_create", "batch_get",
   * "batch_list", "batch_cancel", "batch_delete", "file_download"), or "". */
  static std::string kind_of (const std::string &method, const std::string &path);

  /* Once the server listens. */
  void set_base_url (std::string url);
  /* The script's "batch" object, "api_key" and "max_inline_bytes";
   * restarts the job counter the outcomes count with. */
  void set_script (JsonObject *script);
  /* Cancels and forgets every job. */
  void reset ();
  /* Stops every worker (the emulator is shutting down). */
  void stop ();

  /* Serves one request of kind `kind` (as kind_of () said); `query_page_size`
   * and `query_page_token` are the list query parameters (or null). */
  BatchAnswer handle (const std::string &kind, const std::string &path, const std::string &body,
      const char *query_page_size, const char *query_page_token);

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace gemini::test
