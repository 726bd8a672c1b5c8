/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's Batch API; see batch.h and docs/emulator.md. */
#include "batch.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include <libsoup/soup.h>

#include "glib_ptr.h"
#include "json_helpers.h"
#include "validator.h"

namespace gemini::test {

using namespace emu;

namespace {

constexpr const char *kJobType =
    "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch";
constexpr const char *kOutputType =
    "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput";

/* The first member of `o` not in `allowed` (snake_case), or "". */
std::string
unknown_member (JsonObject *o, std::initializer_list<const char *> allowed)
{
  GList *names = json_object_get_members (o);
  std::string unknown;
  for (GList *l = names; l && unknown.empty (); l = l->next) {
    std::string s = snake_case (static_cast<const char *> (l->data));
    if (std::none_of (allowed.begin (), allowed.end (),
            [&] (const char *a) { return s == a; }))
      unknown = static_cast<const char *> (l->data);
  }
  g_list_free (names);
  return unknown;
}

BatchAnswer
unknown_field (const std::string &name, const std::string &at)
{
  return BatchAnswer::error (400, "INVALID_ARGUMENT", unknown_name_message (name, at));
}

/* google.rpc.Code for the status strings the emulator answers with. */
int
grpc_code (const std::string &status)
{
  static const std::map<std::string, int> codes = {
    { "CANCELLED", 1 }, { "UNKNOWN", 2 }, { "INVALID_ARGUMENT", 3 },
    { "DEADLINE_EXCEEDED", 4 }, { "NOT_FOUND", 5 }, { "PERMISSION_DENIED", 7 },
    { "RESOURCE_EXHAUSTED", 8 }, { "FAILED_PRECONDITION", 9 }, { "INTERNAL", 13 },
    { "UNAVAILABLE", 14 }, { "UNAUTHENTICATED", 16 },
  };
  auto it = codes.find (status);
  return it == codes.end () ? 2 : it->second;
}

JsonNode *
status_node (int code, const std::string &message)
{
  JsonObject *e = json_object_new ();
  json_object_set_int_member (e, "code", code);
  json_object_set_string_member (e, "message", message.c_str ());
  return json_node_init_object (json_node_alloc (), e);
}

struct Outcome {
  gint64 nth = 0;
  std::string state;                 /* BATCH_STATE_FAILED | BATCH_STATE_EXPIRED */
  std::string message;
};

struct Job {
  std::string id, model, display_name;
  std::string create_time, update_time, end_time;
  std::string state = "BATCH_STATE_PENDING";
  std::string input_file;            /* "files/x" for a JSONL job, "" inline */
  struct Request {
    std::string key;
    GPtr<JsonNode> metadata;         /* as sent; null for JSONL lines */
    std::string body;                /* the GenerateContentRequest, compact */
  };
  std::vector<Request> requests;
  struct Result {
    GPtr<JsonNode> response;         /* GenerateContentResponse */
    GPtr<JsonNode> error;            /* google.rpc.Status */
  };
  std::vector<Result> results;
  std::optional<Outcome> outcome;
  std::string responses_file;        /* "files/x" once a JSONL job succeeded */
  bool cancelled = false;
  GPtr<GCancellable> cancellable{g_cancellable_new ()};

  bool terminal () const {
    return state != "BATCH_STATE_PENDING" && state != "BATCH_STATE_RUNNING";
  }

  void finish (std::string final_state) {
    state = std::move (final_state);
    update_time = end_time = now_rfc3339 ();
  }

  JsonNode *inlined_responses () const {
    JsonArray *list = json_array_new ();
    for (gsize i = 0; i < results.size (); i++) {
      JsonObject *r = json_object_new ();
      if (results[i].response)
        json_object_set_member (r, "response", json_node_copy (results[i].response.get ()));
      else
        json_object_set_member (r, "error", json_node_copy (results[i].error.get ()));
      if (requests[i].metadata)
        json_object_set_member (r, "metadata", json_node_copy (requests[i].metadata.get ()));
      json_array_add_object_element (list, r);
    }
    JsonObject *wrap = json_object_new ();
    json_object_set_array_member (wrap, "inlinedResponses", list);
    return json_node_init_object (json_node_alloc (), wrap);
  }

  JsonObject *output () const {
    JsonObject *o = json_object_new ();
    if (!input_file.empty ())
      json_object_set_string_member (o, "responsesFile", responses_file.c_str ());
    else
      json_object_set_member (o, "inlinedResponses", inlined_responses ());
    return o;
  }

  JsonObject *to_json () const {
    JsonObject *m = json_object_new ();
    json_object_set_string_member (m, "@type", kJobType);
    json_object_set_string_member (m, "model", ("models/" + model).c_str ());
    if (!display_name.empty ())
      json_object_set_string_member (m, "displayName", display_name.c_str ());
    json_object_set_string_member (m, "createTime", create_time.c_str ());
    json_object_set_string_member (m, "updateTime", update_time.c_str ());
    if (!end_time.empty ())
      json_object_set_string_member (m, "endTime", end_time.c_str ());
    json_object_set_string_member (m, "state", state.c_str ());
    gint64 failed = std::count_if (results.begin (), results.end (),
        [] (const Result &r) { return (bool) r.error; });
    JsonObject *stats = json_object_new ();
    auto count = [&] (const char *name, gint64 n) {
      json_object_set_string_member (stats, name, std::to_string (n).c_str ());
    };
    count ("requestCount", (gint64) requests.size ());
    count ("successfulRequestCount", (gint64) results.size () - failed);
    count ("failedRequestCount", failed);
    count ("pendingRequestCount", (gint64) (requests.size () - results.size ()));
    json_object_set_object_member (m, "batchStats", stats);

    JsonObject *op = json_object_new ();
    json_object_set_string_member (op, "name", ("batches/" + id).c_str ());
    if (state == "BATCH_STATE_SUCCEEDED") {
      json_object_set_object_member (m, "output", output ());
      JsonObject *response = output ();
      json_object_set_string_member (response, "@type", kOutputType);
      json_object_set_object_member (op, "response", response);
    }
    json_object_set_object_member (op, "metadata", m);
    if (terminal ())
      json_object_set_boolean_member (op, "done", TRUE);
    if (state == "BATCH_STATE_FAILED")
      json_object_set_member (op, "error", status_node (13, outcome ? outcome->message :
              "Batch failed."));
    return op;
  }
};

using JobPtr = std::shared_ptr<Job>;

}  // namespace

BatchAnswer
BatchAnswer::error (unsigned status, std::string grpc_status, std::string message)
{
  BatchAnswer a;
  a.status = status;
  a.body.clear ();
  a.grpc_status = std::move (grpc_status);
  a.message = std::move (message);
  return a;
}

struct BatchService::Impl : std::enable_shared_from_this<Impl> {
  BatchHost host;

  std::mutex lock;
  std::condition_variable wake;
  std::map<std::string, JobPtr> jobs;
  std::vector<std::string> order;
  std::vector<std::thread> workers;
  bool stopping = false;

  std::string base_url;
  std::string api_key = "test-key";
  gint64 max_inline_bytes = 20971520;
  gint64 pending_ms = 100;
  gint64 running_ms = 200;
  std::vector<Outcome> outcomes;
  gint64 created = 0;

  BatchAnswer create (const std::string &model, const std::string &body);
  BatchAnswer add_requests (Job &job, JsonNode *config);
  std::optional<BatchAnswer> add_request (Job &job, JsonNode *request, JsonNode *metadata,
      std::string key, const std::string &where);
  BatchAnswer list (const char *page_size, const char *page_token);
  void run (JobPtr job);
  /* Waits up to `ms`; false when the job was cancelled or the service stops. */
  bool sleep (const JobPtr &job, gint64 ms);
  Job::Result send (SoupSession *session, const Job &job, const Job::Request &r);
  void join_all ();
};

BatchService::BatchService (BatchHost host) : impl_ (std::make_shared<Impl> ())
{
  impl_->host = std::move (host);
}

BatchService::~BatchService ()
{
  stop ();
}

std::string
BatchService::kind_of (const std::string &method, const std::string &path)
{
  static const std::regex create ("^/(v1beta|v1)/models/[^/:]+:batchGenerateContent$");
  static const std::regex list ("^/(v1beta|v1)/batches$");
  static const std::regex one ("^/(v1beta|v1)/batches/[a-z0-9-]+$");
  static const std::regex cancel ("^/(v1beta|v1)/batches/[a-z0-9-]+:cancel$");
  static const std::regex download ("^/(v1beta|v1)/files/[a-z0-9-]+:download$");
  if (method == "POST" && std::regex_match (path, create))
    return "batch_create";
  if (method == "GET" && std::regex_match (path, list))
    return "batch_list";
  if (method == "GET" && std::regex_match (path, one))
    return "batch_get";
  if (method == "DELETE" && std::regex_match (path, one))
    return "batch_delete";
  if (method == "POST" && std::regex_match (path, cancel))
    return "batch_cancel";
  if (method == "GET" && std::regex_match (path, download))
    return "file_download";
  return {};
}

void
BatchService::set_base_url (std::string url)
{
  std::lock_guard<std::mutex> lk (impl_->lock);
  impl_->base_url = std::move (url);
}

void
BatchService::set_script (JsonObject *script)
{
  std::lock_guard<std::mutex> lk (impl_->lock);
  Impl &s = *impl_;
  s.api_key = json_object_get_string_member_with_default (script, "api_key", "test-key");
  s.max_inline_bytes = json_object_get_int_member_with_default (script, "max_inline_bytes",
      20971520);
  s.pending_ms = 100;
  s.running_ms = 200;
  s.outcomes.clear ();
  s.created = 0;
  JsonObject *b = object_member (script, "batch");
  if (!b)
    return;
  s.pending_ms = json_object_get_int_member_with_default (b, "pending_ms", s.pending_ms);
  s.running_ms = json_object_get_int_member_with_default (b, "running_ms", s.running_ms);
  JsonArray *a = array_member (b, "outcomes");
  for (guint i = 0; a && i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    if (!o)
      continue;
    Outcome out;
    out.nth = json_object_get_int_member_with_default (o, "nth", 1);
    out.state = std::string ("BATCH_STATE_") +
        json_object_get_string_member_with_default (o, "state", "FAILED");
    out.message = json_object_get_string_member_with_default (o, "message",
        "Batch failed: internal error.");
    s.outcomes.push_back (std::move (out));
  }
}

void
BatchService::Impl::join_all ()
{
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lk (lock);
    for (auto &[id, job] : jobs) {
      job->cancelled = true;
      g_cancellable_cancel (job->cancellable.get ());
    }
    done.swap (workers);
  }
  wake.notify_all ();
  for (auto &t : done)
    t.join ();
}

void
BatchService::reset ()
{
  impl_->join_all ();
  std::lock_guard<std::mutex> lk (impl_->lock);
  impl_->jobs.clear ();
  impl_->order.clear ();
  impl_->created = 0;
}

void
BatchService::stop ()
{
  {
    std::lock_guard<std::mutex> lk (impl_->lock);
    impl_->stopping = true;
  }
  impl_->join_all ();
}

BatchAnswer
BatchService::handle (const std::string &kind, const std::string &path, const std::string &body,
    const char *page_size, const char *page_token)
{
  const std::string last = path.substr (path.rfind ('/') + 1);
  const std::string id = last.substr (0, last.find (':'));
  if (kind == "batch_create")
    return impl_->create (id, body);
  if (kind == "batch_list")
    return impl_->list (page_size, page_token);
  if (kind == "file_download") {
    BatchAnswer a;
    auto bytes = impl_->host.read_file (id, true, a);
    if (!bytes)
      return a;
    a.body = std::move (*bytes);
    a.content_type = "application/octet-stream";
    return a;
  }

  std::unique_lock<std::mutex> lk (impl_->lock);
  auto it = impl_->jobs.find (id);
  if (it == impl_->jobs.end ())
    return BatchAnswer::error (404, "NOT_FOUND", "Requested entity was not found.");
  JobPtr job = it->second;
  BatchAnswer a;
  if (kind == "batch_get") {
    GPtr<JsonObject> o (job->to_json ());
    a.body = to_json_string (o.get ());
  } else if (kind == "batch_cancel") {
    if (job->terminal ())
      return BatchAnswer::error (400, "FAILED_PRECONDITION", "Batch batches/" + id +
          " is already in the terminal state " + job->state + " and cannot be cancelled.");
    job->cancelled = true;
    job->finish ("BATCH_STATE_CANCELLED");
    g_cancellable_cancel (job->cancellable.get ());
  } else if (kind == "batch_delete") {
    job->cancelled = true;
    g_cancellable_cancel (job->cancellable.get ());
    impl_->jobs.erase (it);
    impl_->order.erase (std::find (impl_->order.begin (), impl_->order.end (), id));
  }
  lk.unlock ();
  impl_->wake.notify_all ();
  return a;
}

BatchAnswer
BatchService::Impl::create (const std::string &model_method, const std::string &body)
{
  const std::string model = model_method.substr (0, model_method.find (':'));
  if (!host.known_model (model))
    return BatchAnswer::error (404, "NOT_FOUND", "models/" + model + " is not found for API "
        "version v1beta, or is not supported for batchGenerateContent. Call ListModels to "
        "see the list of available models and their supported methods.");
  gint64 limit;
  {
    std::lock_guard<std::mutex> lk (lock);
    limit = max_inline_bytes;
  }
  if ((gint64) body.size () > limit)
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "Request payload size exceeds the "
        "limit: " + std::to_string (limit) + " bytes.");
  GError *err = nullptr;
  GPtr<JsonNode> root (json_from_string (body.c_str (), &err));
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ())) {
    std::string why = err ? err->message : "the body is not a JSON object";
    g_clear_error (&err);
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "Invalid JSON payload received. " + why);
  }
  JsonObject *top = json_node_get_object (root.get ());
  if (auto u = unknown_member (top, { "batch" }); !u.empty ())
    return unknown_field (u, "");
  JsonNode *batch = member_in_any_spelling (top, "batch");
  if (!batch || !JSON_NODE_HOLDS_OBJECT (batch))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "batch is required.");
  JsonObject *b = json_node_get_object (batch);
  if (auto u = unknown_member (b, { "display_name", "input_config", "model", "priority" });
      !u.empty ())
    return unknown_field (u, "batch");
  if (JsonNode *m = member_in_any_spelling (b, "model");
      m && g_strcmp0 (json_node_get_string (m), ("models/" + model).c_str ()) != 0)
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "batch.model does not match the model "
        "of the request URL.");

  auto job = std::make_shared<Job> ();
  job->id = random_id (16);
  job->model = model;
  JsonNode *config = member_in_any_spelling (b, "input_config");
  if (!config || !JSON_NODE_HOLDS_OBJECT (config))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "batch.input_config is required.");
  BatchAnswer answer = add_requests (*job, config);
  if (answer.status != 200)
    return answer;
  /* The Batch API reference (ai.google.dev/api/batch-mode) marks it Required. */
  JsonNode *d = member_in_any_spelling (b, "display_name");
  if (!d || !JSON_NODE_HOLDS_VALUE (d) || json_node_get_value_type (d) != G_TYPE_STRING
      || !*json_node_get_string (d))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "batch.display_name is required.");
  job->display_name = json_node_get_string (d);

  job->create_time = job->update_time = now_rfc3339 ();
  std::lock_guard<std::mutex> lk (lock);
  if (stopping)
    return BatchAnswer::error (503, "UNAVAILABLE", "The service is shutting down.");
  created++;
  for (const auto &o : outcomes)
    if (o.nth == created)
      job->outcome = o;
  jobs[job->id] = job;
  order.push_back (job->id);
  GPtr<JsonObject> o (job->to_json ());
  answer.body = to_json_string (o.get ());
  workers.emplace_back ([self = shared_from_this (), job] { self->run (job); });
  return answer;
}

BatchAnswer
BatchService::Impl::add_requests (Job &job, JsonNode *config)
{
  JsonObject *c = json_node_get_object (config);
  if (auto u = unknown_member (c, { "requests", "file_name" }); !u.empty ())
    return unknown_field (u, "batch.input_config");
  JsonNode *requests = member_in_any_spelling (c, "requests");
  JsonNode *file = member_in_any_spelling (c, "file_name");
  if ((requests == nullptr) == (file == nullptr))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "batch.input_config must set exactly "
        "one of requests or file_name.");

  if (requests) {
    JsonObject *ro = JSON_NODE_HOLDS_OBJECT (requests) ? json_node_get_object (requests) :
        nullptr;
    if (!ro)
      return BatchAnswer::error (400, "INVALID_ARGUMENT", "Invalid value at "
          "'batch.input_config.requests': expected an InlinedRequests object.");
    if (auto u = unknown_member (ro, { "requests" }); !u.empty ())
      return unknown_field (u, "batch.input_config.requests");
    JsonNode *list = member_in_any_spelling (ro, "requests");
    JsonArray *a = list && JSON_NODE_HOLDS_ARRAY (list) ? json_node_get_array (list) : nullptr;
    if (!a || json_array_get_length (a) == 0)
      return BatchAnswer::error (400, "INVALID_ARGUMENT",
          "batch.input_config.requests.requests must not be empty.");
    for (guint i = 0; i < json_array_get_length (a); i++) {
      const std::string where = "batch.input_config.requests.requests[" +
          std::to_string (i) + "]";
      JsonObject *item = json_array_get_object_element (a, i);
      if (!item)
        return BatchAnswer::error (400, "INVALID_ARGUMENT", "Invalid value at '" + where +
            "': expected an InlinedRequest object.");
      if (auto u = unknown_member (item, { "request", "metadata" }); !u.empty ())
        return unknown_field (u, where);
      JsonNode *meta = member_in_any_spelling (item, "metadata");
      std::string key;
      if (meta && JSON_NODE_HOLDS_OBJECT (meta))
        key = json_object_get_string_member_with_default (json_node_get_object (meta), "key",
            "");
      if (auto e = add_request (job, member_in_any_spelling (item, "request"), meta, key, where))
        return *e;
    }
    return {};
  }

  const char *name = JSON_NODE_HOLDS_VALUE (file) ? json_node_get_string (file) : nullptr;
  if (!name || !g_str_has_prefix (name, "files/"))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "batch.input_config.file_name must "
        "be a file name such as files/abc-123.");
  BatchAnswer error;
  auto bytes = host.read_file (name + strlen ("files/"), false, error);
  if (!bytes)
    return error;
  job.input_file = name;
  gchar **lines = g_strsplit (bytes->c_str (), "\n", -1);
  std::optional<BatchAnswer> failure;
  for (guint n = 0; lines[n] && !failure; n++) {
    if (!*g_strstrip (lines[n]))
      continue;
    const std::string where = std::string ("line ") + std::to_string (n + 1) + " of " + name;
    GError *err = nullptr;
    GPtr<JsonNode> line (json_from_string (lines[n], &err));
    if (!line || !JSON_NODE_HOLDS_OBJECT (line.get ())) {
      failure = BatchAnswer::error (400, "INVALID_ARGUMENT", "Invalid JSON at " + where +
          (err ? std::string (": ") + err->message : std::string (": not an object")));
      g_clear_error (&err);
      break;
    }
    JsonObject *lo = json_node_get_object (line.get ());
    if (auto u = unknown_member (lo, { "key", "request" }); !u.empty ()) {
      failure = unknown_field (u, where);
      break;
    }
    failure = add_request (job, member_in_any_spelling (lo, "request"), nullptr,
        json_object_get_string_member_with_default (lo, "key", ""), where);
  }
  g_strfreev (lines);
  if (failure)
    return *failure;
  if (job.requests.empty ())
    return BatchAnswer::error (400, "INVALID_ARGUMENT", "The input file " + job.input_file +
        " holds no request.");
  return {};
}

std::optional<BatchAnswer>
BatchService::Impl::add_request (Job &job, JsonNode *request, JsonNode *metadata,
    std::string key, const std::string &where)
{
  if (!request || !JSON_NODE_HOLDS_OBJECT (request))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", where + ".request is required.");
  GPtr<JsonNode> copy (json_node_copy (request));
  JsonObject *ro = json_node_get_object (copy.get ());
  /* The SDK puts the model in each inlined request; generateContent has it in the URL. */
  if (JsonNode *m = member_in_any_spelling (ro, "model")) {
    if (g_strcmp0 (json_node_get_string (m), ("models/" + job.model).c_str ()) != 0)
      return BatchAnswer::error (400, "INVALID_ARGUMENT", where + ".request.model must be "
          "models/" + job.model + ", the model of the batch.");
    json_object_remove_member (ro, "model");
  }
  if (auto e = host.validate (copy.get ()))
    return BatchAnswer::error (400, "INVALID_ARGUMENT", where + ".request: " + *e);
  Job::Request r;
  r.key = std::move (key);
  r.metadata.reset (metadata ? json_node_copy (metadata) : nullptr);
  r.body = to_json_string (copy.get ());
  job.requests.push_back (std::move (r));
  return std::nullopt;
}

BatchAnswer
BatchService::Impl::list (const char *page_size, const char *page_token)
{
  std::lock_guard<std::mutex> lk (lock);
  GPtr<JsonObject> root = list_page (page_size, page_token, "operations",
      (gint64) order.size (), [&] (gint64 i) { return jobs[order[i]]->to_json (); });
  BatchAnswer answer;
  answer.body = to_json_string (root.get ());
  return answer;
}

bool
BatchService::Impl::sleep (const JobPtr &job, gint64 ms)
{
  std::unique_lock<std::mutex> lk (lock);
  wake.wait_for (lk, std::chrono::milliseconds (std::max<gint64> (0, ms)),
      [&] { return job->cancelled || stopping; });
  return !job->cancelled && !stopping;
}

Job::Result
BatchService::Impl::send (SoupSession *session, const Job &job, const Job::Request &r)
{
  std::string url, key;
  {
    std::lock_guard<std::mutex> lk (lock);
    url = base_url + "/v1beta/models/" + job.model + ":generateContent";
    key = api_key;
  }
  GPtr<SoupMessage> msg (soup_message_new ("POST", url.c_str ()));
  SoupMessageHeaders *h = soup_message_get_request_headers (msg.get ());
  soup_message_headers_replace (h, "x-goog-api-key", key.c_str ());
  soup_message_headers_replace (h, BATCH_REQUEST_HEADER,
      ("batches/" + job.id + " " + r.key).c_str ());
  GPtr<GBytes> body (g_bytes_new (r.body.data (), r.body.size ()));
  soup_message_set_request_body_from_bytes (msg.get (), "application/json", body.get ());
  GError *err = nullptr;
  GPtr<GBytes> answer (soup_session_send_and_read (session, msg.get (), job.cancellable.get (),
          &err));
  Job::Result result;
  if (!answer) {
    g_clear_error (&err);
    result.error.reset (status_node (13, "Internal error encountered."));
    return result;
  }
  gsize size = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (answer.get (), &size));
  GPtr<JsonNode> parsed (json_from_string (std::string (data, size).c_str (), nullptr));
  guint status = soup_message_get_status (msg.get ());
  if (status == 200 && parsed) {
    result.response = std::move (parsed);
    return result;
  }
  JsonObject *e = parsed && JSON_NODE_HOLDS_OBJECT (parsed.get ()) ?
      object_member (json_node_get_object (parsed.get ()), "error") : nullptr;
  result.error.reset (status_node (e ? grpc_code (json_object_get_string_member_with_default (
                  e, "status", "")) : 13, e ? json_object_get_string_member_with_default (e,
              "message", "") : "Internal error encountered."));
  return result;
}

void
BatchService::Impl::run (JobPtr job)
{
  gint64 wait_pending, wait_running;
  {
    std::lock_guard<std::mutex> lk (lock);
    wait_pending = pending_ms;
    wait_running = running_ms;
  }
  if (!sleep (job, wait_pending))
    return;
  gint64 running_since = g_get_monotonic_time ();
  {
    std::lock_guard<std::mutex> lk (lock);
    if (job->terminal ())
      return;
    job->state = "BATCH_STATE_RUNNING";
    job->update_time = now_rfc3339 ();
  }
  GPtr<SoupSession> session (soup_session_new ());
  soup_session_set_timeout (session.get (), 0);
  const bool answered = !job->outcome;
  for (gsize i = 0; answered && i < job->requests.size (); i++) {
    if (g_cancellable_is_cancelled (job->cancellable.get ()))
      return;
    Job::Result r = send (session.get (), *job, job->requests[i]);
    std::lock_guard<std::mutex> lk (lock);
    if (job->cancelled || stopping)
      return;
    job->results.push_back (std::move (r));
  }
  if (!sleep (job, wait_running - (g_get_monotonic_time () - running_since) / 1000))
    return;

  std::string file_id;
  if (answered && !job->input_file.empty ()) {
    std::string jsonl;
    for (gsize i = 0; i < job->results.size (); i++) {
      GPtr<JsonObject> line (json_object_new ());
      json_object_set_string_member (line.get (), "key", job->requests[i].key.c_str ());
      if (job->results[i].response)
        json_object_set_member (line.get (), "response",
            json_node_copy (job->results[i].response.get ()));
      else
        json_object_set_member (line.get (), "error",
            json_node_copy (job->results[i].error.get ()));
      jsonl += to_json_string (line.get ()) + "\n";
    }
    file_id = host.add_file ("batch-" + job->id + "-results", "application/jsonl",
        std::move (jsonl));
  }
  std::lock_guard<std::mutex> lk (lock);
  if (job->terminal ())
    return;
  if (!file_id.empty ())
    job->responses_file = "files/" + file_id;
  job->finish (job->outcome ? job->outcome->state : "BATCH_STATE_SUCCEEDED");
}

}  // namespace gemini::test
