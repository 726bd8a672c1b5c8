/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Gemini REST client: generateContent, streamGenerateContent (SSE), the
 * Files API. libsoup 3 + json-glib.
 *
 * The client owns one thread running its own GMainContext; the SoupSession
 * lives there. Every call is asynchronous, takes a GCancellable, and calls its
 * callback exactly once, on the client thread (Error::Kind::Cancelled when the
 * cancellable fired). The *_sync forms post the call and block the calling
 * thread until it completes; never call them from a callback. Retries
 * (exponential backoff + jitter, RetryInfo honoured) and the per-attempt
 * timeout are applied inside the client. */
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gio/gio.h>
#include <gst/gst.h>

#include "request.h"
#include "response.h"
#include "bounds.h"
#include "result.h"

namespace gemini {

inline constexpr const char *DEFAULT_API_ENDPOINT = "https://generativelanguage.googleapis.com";

enum class Backend { Developer, Vertex };

struct RetryPolicy {
  guint max_attempts = 5;            /* including the first */
  GstClockTime initial_delay = 1 * GST_SECOND;
  GstClockTime max_delay = 60 * GST_SECOND;
  double multiplier = 2.0;
  GstClockTime jitter = 1 * GST_SECOND;
};

/* GOOGLE_GENAI_USE_VERTEXAI as python-genai reads it: "true" or "1", in any
 * case, choose Vertex AI; anything else, or nothing, the Developer API. For
 * callers whose user did not choose a backend. */
bool vertex_from_environment ();

struct ClientConfig {
  Backend backend = Backend::Developer;
  std::string endpoint;              /* base URL, no trailing slash; empty = resolve */
  std::string api_key;               /* Developer API (and Vertex express mode) */
  std::string project;               /* Vertex */
  std::string location;              /* Vertex; empty = $GOOGLE_CLOUD_LOCATION, else global */
  std::string access_token;          /* Vertex: OAuth2 bearer */
  std::string api_version;           /* empty = "v1beta" (Developer) / "v1" (Vertex) */
  GstClockTime request_timeout = 120 * GST_SECOND;   /* per attempt */
  RetryPolicy retry;
  gsize upload_chunk_size = 8 * 1024 * 1024;         /* multiple of the granularity */
  GstClockTime file_poll_interval = 1 * GST_SECOND;
  GstClockTime file_processing_timeout = limits::FILE_PROCESSING;  /* then given up */

  /* Fills what is empty from the environment like the official SDKs:
   * GOOGLE_API_KEY wins over GEMINI_API_KEY (a warning is logged when both
   * are set and differ), GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION
   * (else global) for Vertex, GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL, else
   * the public hosts (Vertex: global -> aiplatform.googleapis.com, us/eu ->
   * aiplatform.{loc}.rep.googleapis.com, region -> {loc}-aiplatform...). */
  void resolve_from_environment ();

  bool has_credentials () const;
};

struct FileInfo {
  std::string name;                  /* "files/abc123" */
  std::string uri;
  std::string mime_type;
  std::string display_name;
  std::string state;                 /* "PROCESSING" | "ACTIVE" | "FAILED" */
  gint64 size_bytes = 0;
  std::optional<GstClockTime> video_duration;
  std::optional<Error> error;        /* state FAILED */
};

/* What a client sent on the wire, retries included (the element logs it
 * at stop). */
struct ClientStats {
  guint64 requests = 0;              /* HTTP requests sent, retries included */
  guint64 retries = 0;
  guint64 bytes_sent = 0;            /* request bodies, uploads included */
  guint64 bytes_uploaded = 0;        /* Files API payload only */
};

/* A Files API upload fed while the file is being produced: whole chunks go
 * out as soon as they are there, so finishing only sends the tail. The
 * Client must outlive it; destroying it unfinished abandons the session. */
class UploadStream {
public:
  ~UploadStream ();
  UploadStream (const UploadStream &) = delete;
  UploadStream &operator= (const UploadStream &) = delete;

  /* Any thread; the bytes are copied. */
  void write (GBytes *bytes);
  /* No more bytes: the rest goes out with "upload, finalize". */
  void finish ();
  void cancel ();
  /* Blocks until the service reports the File (or the upload failed).
   * Once only; never from a client callback. */
  Result<FileInfo> wait ();
  /* After wait (): whether the service refused a session of unknown size,
   * so that the bytes waited in memory and went out once finish () gave the
   * size, instead of while they were written. */
  bool sized_at_end () const;

  struct Impl;
  class Key {
    friend class Client;
    Key () = default;
  };
  UploadStream (Key, std::unique_ptr<Impl> impl);

private:
  std::unique_ptr<Impl> impl_;
};

/* A models.get answer: what the service says of a model (model.proto). */
struct ModelInfo {
  std::string name;                  /* "models/gemini-3.8-flash" */
  guint64 input_token_limit = 0;     /* 0 when the answer gave none */
  guint64 output_token_limit = 0;
};

/* A cachedContents entry. */
struct CachedContentInfo {
  std::string name;                  /* "cachedContents/abc" */
  std::string expire_time;           /* RFC 3339 */
  gint64 total_tokens = 0;
};

class Client {
public:
  using GenerateCallback = std::function<void (Result<GenerateResponse>)>;
  using ChunkCallback = std::function<void (const GenerateResponse &chunk)>;
  using FileCallback = std::function<void (Result<FileInfo>)>;
  using DoneCallback = std::function<void (Result<Unit>)>;

  explicit Client (ClientConfig config);
  ~Client ();                        /* cancels everything in flight, joins the thread */
  Client (const Client &) = delete;
  Client &operator= (const Client &) = delete;

  const ClientConfig &config () const { return config_; }
  ClientStats stats () const;

  /* For server text the client hands over unread (the batch answers, as
   * JSON): the error's strings without the key or token and printable;
   * a text without them. The client's own errors come so already. */
  void redact (Error &e) const;
  std::string without_secrets (std::string text) const;

  /* "models/{model}:generateContent" (Developer) or the Vertex publisher path. */
  std::string model_url (std::string_view model, std::string_view method) const;

  void generate_content (std::string_view model, const GenerateRequest &req,
      GCancellable *cancellable, GenerateCallback done);

  /* on_chunk gets every decoded event as it arrives; done gets the merged
   * answer (or the error, including an error event mid-stream). */
  void stream_generate_content (std::string_view model, const GenerateRequest &req,
      GCancellable *cancellable, ChunkCallback on_chunk, GenerateCallback done);

  /* Resumable upload: start, then chunks of upload_chunk_size, the last with
   * "upload, finalize". Returns the File as the service reports it. */
  void upload_file (GBytes *data, std::string mime_type, std::string display_name,
      GCancellable *cancellable, FileCallback done);
  /* Resumable upload of a file whose size is not known yet. */
  std::unique_ptr<UploadStream> open_upload (std::string mime_type, std::string display_name);
  void get_file (std::string_view name, GCancellable *cancellable, FileCallback done);
  /* Polls get_file until the state is not PROCESSING; FAILED -> Kind::FileFailed. */
  void wait_until_active (std::string_view name, GCancellable *cancellable, FileCallback done);
  void delete_file (std::string_view name, GCancellable *cancellable, DoneCallback done);

  /* Batch API (Developer API only; batch.h builds the bodies and reads the
   * answers). Each answer is the batch resource (an operation: name,
   * metadata.state, metadata.output, done, error) as JSON. */
  using JsonCallback = std::function<void (Result<GPtr<JsonNode>>)>;
  using BytesCallback = std::function<void (Result<GPtr<GBytes>>)>;
  /* POST models/{model}:batchGenerateContent with `body` ({"batch": {...}}). */
  void create_batch (std::string_view model, GBytes *body, GCancellable *cancellable,
      JsonCallback done);
  /* GET batches/{id}; `name` is "batches/{id}". */
  void get_batch (std::string_view name, GCancellable *cancellable, JsonCallback done);
  /* GET batches?pageSize=&pageToken=: {"operations": [...], "nextPageToken"}. */
  void list_batches (guint page_size, std::string_view page_token, GCancellable *cancellable,
      JsonCallback done);
  void cancel_batch (std::string_view name, GCancellable *cancellable, DoneCallback done);
  void delete_batch (std::string_view name, GCancellable *cancellable, DoneCallback done);
  /* GET files/{id}:download?alt=media: a generated file's bytes (a batch's results). */
  void download_file (std::string_view name, GCancellable *cancellable, BytesCallback done);

  Result<GPtr<JsonNode>> create_batch_sync (std::string_view model, GBytes *body,
      GCancellable *cancellable);
  Result<GPtr<JsonNode>> get_batch_sync (std::string_view name, GCancellable *cancellable);
  Result<GPtr<JsonNode>> list_batches_sync (guint page_size, std::string_view page_token,
      GCancellable *cancellable);
  Result<Unit> cancel_batch_sync (std::string_view name, GCancellable *cancellable);
  Result<Unit> delete_batch_sync (std::string_view name, GCancellable *cancellable);
  Result<GPtr<GBytes>> download_file_sync (std::string_view name, GCancellable *cancellable);

  Result<GenerateResponse> generate_content_sync (std::string_view model,
      const GenerateRequest &req, GCancellable *cancellable);
  Result<GenerateResponse> stream_generate_content_sync (std::string_view model,
      const GenerateRequest &req, GCancellable *cancellable, ChunkCallback on_chunk);
  Result<FileInfo> upload_file_sync (GBytes *data, std::string mime_type,
      std::string display_name, GCancellable *cancellable);
  Result<FileInfo> wait_until_active_sync (std::string_view name, GCancellable *cancellable);
  Result<Unit> delete_file_sync (std::string_view name, GCancellable *cancellable);

  /* GET models/{model}: its input and output token limits (Developer API). */
  Result<ModelInfo> get_model_sync (std::string_view model, GCancellable *cancellable);

  /* Context cache (Developer API): the request's parts become the cached
   * user turn; it lives `ttl` unless deleted first. */
  Result<CachedContentInfo> create_cached_content_sync (std::string_view model,
      const GenerateRequest &contents, GstClockTime ttl, std::string_view display_name,
      GCancellable *cancellable);
  Result<Unit> delete_cached_content_sync (std::string_view name, GCancellable *cancellable);

private:
  struct Impl;
  ClientConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemini
