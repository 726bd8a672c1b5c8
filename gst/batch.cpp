/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Batch jobs; see batch.h. */
#include "batch.h"

#include "model_family.h"

#include <algorithm>
#include <map>

#include "debug.h"
#include "json_doc.h"

GEMINI_DEBUG_CATEGORY (gemini_batch_debug, "geminibatch", "Gemini batch jobs");
#define GST_CAT_DEFAULT gemini_batch_debug

namespace gemini {

namespace {

Error
protocol (std::string message)
{
  return Error::make (Error::Kind::Protocol, std::move (message));
}

std::string
compact (JsonNode *n)
{
  GPtr<gchar> s (json_to_string (n, FALSE));
  return s.get ();
}

/* A google.rpc.Status ({code, message}, code a google.rpc.Code), with the
 * HTTP status the same error has on a plain request. */
Error
status_error (JsonObject *status)
{
  struct Code {
    const char *name;
    guint http;
  };
  static const std::map<gint64, Code> codes = {
    { 1, { "CANCELLED", 499 } }, { 2, { "UNKNOWN", 500 } },
    { 3, { "INVALID_ARGUMENT", 400 } }, { 4, { "DEADLINE_EXCEEDED", 504 } },
    { 5, { "NOT_FOUND", 404 } }, { 7, { "PERMISSION_DENIED", 403 } },
    { 8, { "RESOURCE_EXHAUSTED", 429 } }, { 9, { "FAILED_PRECONDITION", 400 } },
    { 13, { "INTERNAL", 500 } }, { 14, { "UNAVAILABLE", 503 } },
    { 16, { "UNAUTHENTICATED", 401 } },
  };
  Error e = Error::make (Error::Kind::Http, member_string (status, "message"));
  auto it = codes.find (member_int (status, "code"));
  const Code code = it != codes.end () ? it->second : Code{ "UNKNOWN", 500 };
  e.status = member_string (status, "status");
  if (e.status.empty ())
    e.status = code.name;
  e.http_status = code.http;
  if (e.message.empty ())
    e.message = "the request failed inside the batch";
  return e;
}

/* One answer: a GenerateContentResponse or an error. */
BatchResult
result_of (std::string key, JsonObject *item)
{
  BatchResult r;
  r.key = std::move (key);
  if (JsonObject *error = member_object (item, "error")) {
    r.error = status_error (error);
  } else if (JsonNode *response = json_object_get_member (item, "response")) {
    Result<GenerateResponse> parsed = parse_generate_response (compact (response));
    if (parsed.ok ())
      r.response = std::move (parsed.value ());
    else
      r.error = parsed.error ();
  } else {
    r.error = protocol ("the batch returned neither a response nor an error");
  }
  return r;
}

bool
sleep_cancellable (GstClockTime t, GCancellable *cancellable)
{
  const gint64 until = g_get_monotonic_time () + (gint64) (t / GST_USECOND);
  while (g_get_monotonic_time () < until) {
    if (cancellable && g_cancellable_is_cancelled (cancellable))
      return false;
    g_usleep (std::min<gint64> (20000, until - g_get_monotonic_time ()));
  }
  return !(cancellable && g_cancellable_is_cancelled (cancellable));
}

}  // namespace

BatchState
batch_state_from_wire (std::string_view s)
{
  for (const char *prefix : { "BATCH_STATE_", "JOB_STATE_" })
    if (s.substr (0, strlen (prefix)) == prefix)
      s.remove_prefix (strlen (prefix));
  if (s == "PENDING" || s == "QUEUED")
    return BatchState::Pending;
  if (s == "RUNNING")
    return BatchState::Running;
  if (s == "SUCCEEDED")
    return BatchState::Succeeded;
  if (s == "FAILED")
    return BatchState::Failed;
  if (s == "CANCELLED" || s == "CANCELLING")
    return BatchState::Cancelled;
  if (s == "EXPIRED")
    return BatchState::Expired;
  return BatchState::Unspecified;
}

const char *
batch_state_name (BatchState s)
{
  switch (s) {
    case BatchState::Pending: return "PENDING";
    case BatchState::Running: return "RUNNING";
    case BatchState::Succeeded: return "SUCCEEDED";
    case BatchState::Failed: return "FAILED";
    case BatchState::Cancelled: return "CANCELLED";
    case BatchState::Expired: return "EXPIRED";
    case BatchState::Unspecified: break;
  }
  return "UNSPECIFIED";
}

bool
batch_state_done (BatchState s)
{
  return s == BatchState::Succeeded || s == BatchState::Failed || s == BatchState::Cancelled
      || s == BatchState::Expired;
}

Result<BatchJob>
parse_batch_job (JsonNode *operation)
{
  if (!operation || !JSON_NODE_HOLDS_OBJECT (operation))
    return protocol ("the batch is not a JSON object");
  JsonObject *op = json_node_get_object (operation);
  JsonObject *meta = member_object (op, "metadata");
  BatchJob job;
  job.name = member_string (op, "name");
  if (job.name.empty ())
    job.name = member_string (meta, "name");
  if (job.name.empty ())
    return protocol ("the batch has no name");
  job.state = batch_state_from_wire (member_string (meta, "state"));
  JsonObject *stats = member_object (meta, "batchStats");
  job.request_count = member_int (stats, "requestCount");
  job.succeeded = member_int (stats, "successfulRequestCount");
  job.failed = member_int (stats, "failedRequestCount");
  job.pending = member_int (stats, "pendingRequestCount");
  if (JsonObject *error = member_object (op, "error"))
    job.error = status_error (error);
  JsonObject *output = member_object (meta, "output");
  if (!output)
    output = member_object (op, "response");
  job.responses_file = member_string (output, "responsesFile");
  if (JsonObject *inlined = member_object (output, "inlinedResponses"))
    if (JsonNode *list = json_object_get_member (inlined, "inlinedResponses"))
      job.inlined_responses.reset (json_node_copy (list));
  return job;
}

Result<std::vector<BatchResult>>
parse_inline_results (const BatchJob &job, const std::vector<std::string> &keys)
{
  if (!job.inlined_responses || !JSON_NODE_HOLDS_ARRAY (job.inlined_responses.get ()))
    return protocol ("the batch " + job.name + " has no inline responses");
  JsonArray *list = json_node_get_array (job.inlined_responses.get ());
  std::vector<BatchResult> results;
  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonObject *item = json_array_get_object_element (list, i);
    if (!item)
      return protocol ("an inline response of " + job.name + " is not an object");
    std::string key = member_string (member_object (item, "metadata"), "key");
    if (key.empty () && i < keys.size ())
      key = keys[i];
    results.push_back (result_of (std::move (key), item));
  }
  return results;
}

Result<std::vector<BatchResult>>
parse_results_jsonl (std::string_view jsonl)
{
  std::vector<BatchResult> results;
  size_t pos = 0;
  guint line_no = 0;
  while (pos < jsonl.size ()) {
    size_t end = jsonl.find ('\n', pos);
    if (end == std::string_view::npos)
      end = jsonl.size ();
    std::string line (jsonl.substr (pos, end - pos));
    pos = end + 1;
    line_no++;
    if (line.find_first_not_of (" \t\r") == std::string::npos)
      continue;
    GError *raw = nullptr;
    GPtr<JsonNode> node = parse_json_document (line, &raw);
    GPtr<GError> error (raw);
    if (!node || !JSON_NODE_HOLDS_OBJECT (node.get ()))
      return protocol ("line " + std::to_string (line_no) + " of the batch results is not "
          "a JSON object");
    JsonObject *o = json_node_get_object (node.get ());
    std::string key = member_string (o, "key");
    if (key.empty ())
      key = member_string (member_object (o, "metadata"), "key");
    results.push_back (result_of (std::move (key), o));
  }
  return results;
}

namespace {

/* The Batch API reference marks batch.displayName required. */
const char *
batch_display_name (const std::string &name)
{
  return name.empty () ? "gst-gemini batch" : name.c_str ();
}

}  // namespace

std::string
batch_input_jsonl (const std::vector<BatchRequest> &requests)
{
  std::string out;
  for (const auto &r : requests) {
    GPtr<JsonObject> line (json_object_new ());
    json_object_set_string_member (line.get (), "key", r.key.c_str ());
    json_object_set_member (line.get (), "request", request_to_json (r.request).release ());
    GPtr<JsonNode> n (json_node_init_object (json_node_alloc (), line.get ()));
    out += compact (n.get ()) + "\n";
  }
  return out;
}

std::string
batch_inline_body (const std::vector<BatchRequest> &requests, const std::string &display_name)
{
  JsonArray *list = json_array_new ();
  for (const auto &r : requests) {
    JsonObject *item = json_object_new ();
    json_object_set_member (item, "request", request_to_json (r.request).release ());
    JsonObject *meta = json_object_new ();
    json_object_set_string_member (meta, "key", r.key.c_str ());
    json_object_set_object_member (item, "metadata", meta);
    json_array_add_object_element (list, item);
  }
  JsonObject *wrap = json_object_new ();
  json_object_set_array_member (wrap, "requests", list);
  JsonObject *input = json_object_new ();
  json_object_set_object_member (input, "requests", wrap);
  JsonObject *batch = json_object_new ();
  json_object_set_string_member (batch, "displayName", batch_display_name (display_name));
  json_object_set_object_member (batch, "inputConfig", input);
  GPtr<JsonObject> root (json_object_new ());
  json_object_set_object_member (root.get (), "batch", batch);
  GPtr<JsonNode> n (json_node_init_object (json_node_alloc (), root.get ()));
  return compact (n.get ());
}

Result<BatchSubmission>
submit_batch (Client &client, std::string_view model, const std::vector<BatchRequest> &requests,
    const BatchSubmitOptions &options, GCancellable *cancellable)
{
  ensure_debug_category ();
  if (requests.empty ())
    return protocol ("a batch needs at least one request");
  BatchSubmission sub;
  std::string body = batch_inline_body (requests, options.display_name);
  if (body.size () > options.inline_limit) {
    std::string jsonl = batch_input_jsonl (requests);
    sub.body_bytes = jsonl.size ();
    GST_INFO ("%zu requests, %zu bytes: sent as a JSONL file", requests.size (), jsonl.size ());
    sub.input_file = options.existing_input_file;
    if (sub.input_file.empty ()) {
      GPtr<GBytes> bytes (g_bytes_new (jsonl.data (), jsonl.size ()));
      auto uploaded = client.upload_file_sync (bytes.get (), "application/jsonl",
          options.display_name.empty () ? "batch-input" : options.display_name + "-input",
          cancellable);
      if (!uploaded)
        return uploaded.error ();
      if (options.on_input_uploaded)
        options.on_input_uploaded (uploaded.value ());
      sub.input_file = uploaded->name;
    }
    auto active = client.wait_until_active_sync (sub.input_file, cancellable);
    if (!active)
      return active.error ();
    GPtr<JsonObject> root (json_object_new ());
    JsonObject *batch = json_object_new ();
    json_object_set_string_member (batch, "displayName",
        batch_display_name (options.display_name));
    JsonObject *input = json_object_new ();
    json_object_set_string_member (input, "fileName", sub.input_file.c_str ());
    json_object_set_object_member (batch, "inputConfig", input);
    json_object_set_object_member (root.get (), "batch", batch);
    GPtr<JsonNode> n (json_node_init_object (json_node_alloc (), root.get ()));
    body = compact (n.get ());
  } else {
    sub.body_bytes = body.size ();
    GST_INFO ("%zu requests inline, %zu bytes", requests.size (), body.size ());
  }
  GPtr<GBytes> payload (g_bytes_new (body.data (), body.size ()));
  auto created = client.create_batch_sync (model, payload.get (), cancellable);
  if (!created)
    return created.error ();
  auto job = parse_batch_job (created->get ());
  if (!job)
    return job.error ();
  sub.name = job->name;
  return sub;
}

Result<BatchJob>
wait_for_batch (Client &client, std::string_view name, const BatchPollOptions &options,
    GCancellable *cancellable)
{
  ensure_debug_category ();
  GstClockTime interval = options.initial_interval;
  std::string last_seen;
  for (;;) {
    auto answer = client.get_batch_sync (name, cancellable);
    if (!answer)
      return answer.error ();
    auto job = parse_batch_job (answer->get ());
    if (!job)
      return job.error ();
    if (job->error)
      client.redact (*job->error);
    if (options.on_poll)
      options.on_poll (job.value ());
    if (batch_state_done (job->state))
      return job;
    /* progress resets the backoff: a job that moves is worth watching */
    std::string seen = std::string (batch_state_name (job->state)) + "/" +
        std::to_string (job->pending);
    if (seen != last_seen)
      interval = options.initial_interval;
    else
      interval = std::min<GstClockTime> (options.max_interval,
          (GstClockTime) (interval * options.multiplier));
    last_seen = seen;
    GST_DEBUG ("%s is %s, next poll in %" GST_TIME_FORMAT, job->name.c_str (),
        batch_state_name (job->state), GST_TIME_ARGS (interval));
    if (!sleep_cancellable (interval, cancellable))
      return Error::make (Error::Kind::Cancelled, "cancelled");
  }
}

Result<std::vector<BatchResult>>
fetch_batch_results (Client &client, const BatchJob &job, const std::vector<std::string> &keys,
    GCancellable *cancellable)
{
  if (job.state != BatchState::Succeeded)
    return protocol ("the batch " + job.name + " ended " + batch_state_name (job.state) +
        " and has no results");
  Result<std::vector<BatchResult>> results = protocol ("no results");
  if (job.responses_file.empty ()) {
    results = parse_inline_results (job, keys);
  } else {
    auto bytes = client.download_file_sync (job.responses_file, cancellable);
    if (!bytes)
      return bytes.error ();
    gsize size = 0;
    auto data = static_cast<const char *> (g_bytes_get_data (bytes->get (), &size));
    results = parse_results_jsonl (std::string_view (data ? data : "", size));
  }
  /* The client returned these answers as JSON, unread: what the server
   * wrote in them is cleaned here, before anyone prints or saves it. */
  if (!results.ok ())
    return results;
  for (auto &r : results.value ()) {
    if (r.error)
      client.redact (*r.error);
    if (r.response)
      r.response->text = client.without_secrets (std::move (r.response->text));
  }
  return results;
}

namespace {

MediaResolution
resolution_for (const BatchTranscriptionSettings &s, GstClockTime duration)
{
  return s.media_resolution.value_or (auto_media_resolution (duration));
}

}  // namespace

std::vector<Window>
batch_windows (const BatchMedia &media, const BatchTranscriptionSettings &settings)
{
  const TokenRates rates = token_rates (settings.model,
      resolution_for (settings, media.duration));
  return plan_windows (media.duration, settings.window, max_request_duration (settings.fps,
          media.has_video, rates, settings.limits), {});
}

BatchWindowReading
batch_window_reading (const BatchMedia &media, const Window &w)
{
  BatchWindowReading r;
  r.in_words = !media.has_video && (w.start > 0 || w.end < media.duration);
  if (r.in_words) {
    r.parse.duration = media.duration;
  } else {
    r.parse.duration = w.end - w.start;
    r.parse.clip_offset = w.start;
    r.origin = w.start;
  }
  return r;
}

GenerateRequest
batch_transcription_request (const BatchMedia &media, const Window &w,
    const BatchTranscriptionSettings &settings)
{
  MediaInput input;
  input.mime_type = media.mime_type;
  input.file_uri = media.file_uri;
  input.fps = settings.fps;
  const GstClockTime duration = w.end - w.start;
  const bool part = w.start > 0 || w.end < media.duration;
  PromptOptions opts;
  opts.clip_start = w.start;
  opts.clip_duration = duration;
  if (part && batch_window_reading (media, w).in_words) {
    opts.clip_start = 0;
    opts.clip_duration = media.duration;
    opts.transcribe_from = w.start;
    if (w.end < media.duration)
      opts.transcribe_until = w.end;
  } else if (part) {
    input.start_offset = w.start;
    input.end_offset = w.end;
  }
  opts.has_video = media.has_video;
  opts.context = settings.context;
  opts.language = settings.language;
  opts.evidence = settings.evidence;
  GenerationSettings gen = settings.generation;
  const Sampling sampling = sampling_for (settings.model, gen.temperature);
  gen.temperature = sampling.temperature;
  gen.top_p = sampling.top_p;
  gen.media_resolution = resolution_for (settings, duration);
  return build_transcription_request (std::move (input), opts, gen);
}

}  // namespace gemini
