/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Files API (resumable uploads, files.get, files.list, files.delete)
 * and the Batch API's routes, which serve batches from the BatchService and
 * files from the store. */
#include "emulator_private.h"

#include <algorithm>

#include "inspect.h"
#include "json_helpers.h"

namespace gemini::test::emu {

namespace {

/* X-Goog-Upload-Command: a comma-separated set of commands. */
struct UploadCommand {
  bool upload = false, finalize = false, query = false, cancel = false;

  explicit UploadCommand (const std::string &line) {
    GPtr<gchar> lowered (g_ascii_strdown (line.c_str (), -1));
    gchar **tokens = g_strsplit (lowered.get (), ",", -1);
    for (gchar **t = tokens; *t; t++) {
      g_strstrip (*t);
      upload = upload || g_str_equal (*t, "upload");
      finalize = finalize || g_str_equal (*t, "finalize");
      query = query || g_str_equal (*t, "query");
      cancel = cancel || g_str_equal (*t, "cancel");
    }
    g_strfreev (tokens);
  }
};

}  // namespace

void
Server::handle_upload_start (const CallPtr &call)
{
  SoupServerMessage *msg = call->msg.get ();
  if (g_ascii_strcasecmp (header (msg, "X-Goog-Upload-Protocol").c_str (),
          "resumable") != 0 ||
      g_ascii_strcasecmp (header (msg, "X-Goog-Upload-Command").c_str (),
          "start") != 0) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Upload requests must use X-Goog-Upload-Protocol: resumable and "
            "start with X-Goog-Upload-Command: start."));
    return;
  }
  UploadSession session;
  /* Without the header the size is whatever the finalize chunk ends at
   * (the service's behaviour is undocumented; a script can refuse it). */
  std::string length = header (msg, "X-Goog-Upload-Header-Content-Length");
  bool require_size;
  guint refusal = 400;
  {
    std::lock_guard<std::mutex> lk (lock);
    require_size = script.require_upload_size;
    refusal = script.require_upload_size_status;
  }
  if (length.empty () && require_size) {
    const char *status = refusal == 400 ? "INVALID_ARGUMENT"
        : refusal == 411 ? "LENGTH_REQUIRED" : "FAILED_PRECONDITION";
    respond_error (call, ApiError::make (refusal, status,
            "X-Goog-Upload-Header-Content-Length is required."));
    return;
  }
  gchar *end = nullptr;
  session.declared = length.empty () ? -1 : g_ascii_strtoll (length.c_str (), &end, 10);
  if (!length.empty () && (*end != '\0' || session.declared < 0)) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "X-Goog-Upload-Header-Content-Length is missing or invalid."));
    return;
  }
  session.mime = header (msg, "X-Goog-Upload-Header-Content-Type");

  std::string body = body_string (msg);
  if (!body.empty ()) {
    std::string error;
    GPtr<JsonNode> root = parse_json (body, &error);
    if (!root) {
      respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
              "Invalid JSON payload received. " + error));
      return;
    }
    log_set (call, "body", json_node_copy (root.get ()));
    Validator v;
    if (!v.upload_metadata (root.get (), session.display_name, session.mime)) {
      respond_error (call, *v.error);
      return;
    }
  }
  if (session.mime.empty ())
    session.mime = "application/octet-stream";

  if (faulted (call))
    return;
  if (call->fault && call->fault->type == "file_failed") {
    session.fail = true;
    session.fail_message = call->fault->message.empty () ?
        "File processing failed." : call->fault->message;
  }

  std::string upload_id = files.open_upload (std::move (session));
  std::string upload_url = base_url + "/upload/v1beta/files?upload_id=" +
      upload_id + "&upload_protocol=resumable";
  defer (call, call->fault_delay_ms (), [this, call, upload_url] {
        respond (call, 200, "", nullptr, {
              { "X-Goog-Upload-URL", upload_url },
              { "X-Goog-Upload-Status", "active" },
              { "X-Goog-Upload-Chunk-Granularity",
                  std::to_string (kChunkGranularity) } });
      });
}

void
Server::handle_upload_chunk (const CallPtr &call)
{
  SoupServerMessage *msg = call->msg.get ();
  const std::string upload_id = call->param ("upload_id");
  std::string command_line = header (msg, "X-Goog-Upload-Command");
  const UploadCommand command (command_line);
  GPtr<GBytes> chunk (request_body (msg));
  std::string offset_s = header (msg, "X-Goog-Upload-Offset");
  gint64 offset = offset_s.empty () ? -1 :
      g_ascii_strtoll (offset_s.c_str (), nullptr, 10);
  {
    JsonObject *u = json_object_new ();
    json_object_set_int_member (u, "offset", offset);
    json_object_set_int_member (u, "chunk_bytes",
        (gint64) g_bytes_get_size (chunk.get ()));
    json_object_set_string_member (u, "command", command_line.c_str ());
    log_set (call, "upload", json_node_init_object (json_node_alloc (), u));
    json_object_unref (u);
  }

  const auto no_session = [&] {
    respond_error (call, ApiError::make (404, "NOT_FOUND",
            "No upload session " + upload_id + "."), {
          { "X-Goog-Upload-Status", "final" } });
  };
  std::optional<gint64> received = files.received (upload_id);
  if (!received) {
    no_session ();
    return;
  }
  if (command.cancel)
    files.cancel_upload (upload_id);
  if (command.cancel || command.query) {
    respond (call, 200, "", nullptr, {
          { "X-Goog-Upload-Status", command.cancel ? "cancelled" : "active" },
          { "X-Goog-Upload-Size-Received", std::to_string (*received) } });
    return;
  }
  if (!command.upload) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Unknown X-Goog-Upload-Command \"" + command_line + "\"."), {
          { "X-Goog-Upload-Status", "active" } });
    return;
  }

  if (faulted (call))
    return;

  gint64 size = (gint64) g_bytes_get_size (chunk.get ());
  auto reject = [&] (const std::string &text) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT", text), {
          { "X-Goog-Upload-Status", "active" },
          { "X-Goog-Upload-Size-Received", std::to_string (*received) } });
  };
  if (offset != *received) {
    reject ("X-Goog-Upload-Offset is " + offset_s + " but " +
        std::to_string (*received) + " bytes were received so far.");
    return;
  }
  if (!command.finalize && size % kChunkGranularity != 0) {
    reject ("A non-final chunk must be a multiple of " +
        std::to_string (kChunkGranularity) + " bytes, got " +
        std::to_string (size) + ".");
    return;
  }

  std::optional<FileStore::Appended> appended = files.append (upload_id,
      chunk.get (), command.finalize);
  if (!appended) {
    no_session ();
    return;
  }
  if (command.finalize && appended->declared >= 0 &&
      appended->received != appended->declared) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "The upload was finalized with " +
            std::to_string (appended->received) +
            " bytes but X-Goog-Upload-Header-Content-Length declared " +
            std::to_string (appended->declared) + "."), {
          { "X-Goog-Upload-Status", "final" } });
    return;
  }
  if (!command.finalize) {
    defer (call, call->fault_delay_ms (), [this, call, now = appended->received] {
          respond (call, 200, "", nullptr, {
                { "X-Goog-Upload-Status", "active" },
                { "X-Goog-Upload-Size-Received", std::to_string (now) } });
        });
    return;
  }
  finish_upload (call, std::move (*appended->finished));
}

/* The file an upload ends in, once its media is inspected off the server
 * thread: PROCESSING for the script's number of polls, FAILED when a
 * scripted fault or undecodable media says so. */
void
Server::finish_upload (const CallPtr &call, UploadSession session)
{
  auto file = std::make_shared<StoredFile> (StoredFile::create (
          session.display_name, session.mime,
          std::string ((const char *) session.data->data, session.data->len)));
  file->fail = session.fail;
  file->fail_message = session.fail_message;
  auto bytes = std::make_shared<GPtr<GBytes>> (
      g_byte_array_free_to_bytes (session.data.release ()));

  offload (call, [file, bytes] {
        file->info = inspect_media (bytes->get (), file->mime);
      }, [this, call, file] {
        log_set (call, "media", [&] {
              JsonArray *a = json_array_new ();
              json_array_add_element (a, file->info.to_json ());
              JsonNode *n = json_node_init_array (json_node_alloc (), a);
              json_array_unref (a);
              return n;
            } ());
        bool media = g_str_has_prefix (file->mime.c_str (), "video/") ||
            g_str_has_prefix (file->mime.c_str (), "audio/");
        if (media && !file->info.decodable && !file->fail) {
          file->fail = true;
          file->fail_message = "File processing failed: the media could not "
              "be decoded.";
        }
        {
          std::lock_guard<std::mutex> lk (lock);
          file->polls_left = std::max<gint64> (0, script.file_processing_polls);
        }
        files.add (*file);
        GPtr<JsonObject> root (json_object_new ());
        json_object_set_object_member (root.get (), "file",
            file->to_json (base_url));
        std::string body = to_json_string (root.get ());
        defer (call, call->fault_delay_ms (), [this, call, body] {
              respond (call, 200, body, "application/json; charset=UTF-8", {
                    { "X-Goog-Upload-Status", "final" } });
            });
      });
}

void
Server::handle_file_get (const CallPtr &call)
{
  if (faulted (call))
    return;
  std::optional<std::string> body = files.get (call->id, base_url);
  if (!body) {
    respond_error (call, no_such_file (call->id));
    return;
  }
  defer (call, call->fault_delay_ms (), [this, call, body = *body] {
        respond (call, 200, body);
      });
}

void
Server::handle_file_list (const CallPtr &call)
{
  GPtr<JsonObject> page = files.list (call->param ("pageSize"),
      call->param ("pageToken"), base_url);
  respond (call, 200, to_json_string (page.get ()));
}

void
Server::handle_file_delete (const CallPtr &call)
{
  if (faulted (call))
    return;
  if (!files.remove (call->id)) {
    respond_error (call, no_such_file (call->id));
    return;
  }
  respond (call, 200, "{}");
}

void
Server::handle_batch (const CallPtr &call)
{
  std::string body = body_string (call->msg.get ());
  if (call->kind == "batch_create") {
    std::string last = call->path.substr (call->path.rfind ('/') + 1);
    call->model = last.substr (0, last.find (':'));
    log_string (call, "model", call->model);
    log_body (call, body);
  }
  if (faulted (call))
    return;
  const char *alt = call->param ("alt");
  BatchAnswer a = call->kind == "file_download" && g_strcmp0 (alt, "media") != 0 ?
      BatchAnswer::error (400, "INVALID_ARGUMENT",
          "Downloading a file's content needs alt=media.") :
      batches->handle (call->kind, call->path, body, call->param ("pageSize"),
          call->param ("pageToken"));
  defer (call, call->fault_delay_ms (), [this, call, a] {
        if (a.status < 300)
          respond (call, a.status, a.body, a.content_type.c_str ());
        else
          respond_error (call, ApiError::make (a.status, a.grpc_status, a.message));
      });
}

BatchHost
Server::batch_host ()
{
  BatchHost h;
  h.read_file = [this] (const std::string &id, bool download,
      BatchAnswer &error) -> std::optional<std::string> {
    ApiError e;
    std::optional<std::string> content = files.content (id, download, e);
    if (!content)
      error = BatchAnswer::error (e.code, e.status, e.message);
    return content;
  };
  h.add_file = [this] (const std::string &display_name, const std::string &mime,
      std::string bytes) {
    StoredFile f = StoredFile::create (display_name, mime, std::move (bytes));
    f.source = "GENERATED";
    files.add (f);
    return f.id;
  };
  h.validate = [] (JsonNode *request) -> std::optional<std::string> {
    Validator v;
    ParsedRequest req;
    if (v.request (request, req))
      return std::nullopt;
    return v.error->message;
  };
  h.known_model = [this] (const std::string &model) {
    std::lock_guard<std::mutex> lk (lock);
    return script.knows_model (model);
  };
  return h;
}

}  // namespace gemini::test::emu
