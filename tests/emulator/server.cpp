/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator_private.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <gst/gst.h>

#include "json_helpers.h"

GST_DEBUG_CATEGORY_STATIC (gemini_emulator_debug);
#define GST_CAT_DEFAULT gemini_emulator_debug

namespace gemini::test::emu {

namespace {

void
init_debug ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (gemini_emulator_debug, "geminiemulator", 0,
        "Gemini API emulator");
  });
}

bool
match (const char *pattern, const std::string &s, std::vector<std::string> &groups)
{
  GRegex *r = g_regex_new (pattern, (GRegexCompileFlags) 0,
      (GRegexMatchFlags) 0, nullptr);
  GMatchInfo *mi = nullptr;
  bool ok = g_regex_match (r, s.c_str (), (GRegexMatchFlags) 0, &mi);
  groups.clear ();
  if (ok) {
    for (int i = 1; i < g_match_info_get_match_count (mi); i++) {
      GPtr<gchar> g (g_match_info_fetch (mi, i));
      groups.emplace_back (g.get ());
    }
  }
  g_match_info_free (mi);
  g_regex_unref (r);
  return ok;
}

/* Inline data as the log keeps it: its size in place of its bytes. */
void
redact_inline_data (JsonNode *node)
{
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (a); i++)
      redact_inline_data (json_array_get_element (a, i));
    return;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  JsonObject *o = json_node_get_object (node);
  for (const char *name : { "inlineData", "inline_data" }) {
    JsonNode *d = json_object_get_member (o, name);
    if (!d || !JSON_NODE_HOLDS_OBJECT (d))
      continue;
    JsonObject *dob = json_node_get_object (d);
    std::string data = get_string (dob, "data");
    gsize n = data.size () / 4 * 3;
    if (!data.empty () && data.back () == '=')
      n--;
    if (data.size () > 1 && data[data.size () - 2] == '=')
      n--;
    json_object_set_string_member (dob, "data",
        ("<" + std::to_string (n) + " bytes>").c_str ());
  }
  GList *names = json_object_get_members (o);
  for (GList *l = names; l; l = l->next)
    redact_inline_data (json_object_get_member (o,
            static_cast<const char *> (l->data)));
  g_list_free (names);
}

/* The query as the log shows it: an API key in it replaced. */
std::string
redacted_query (GUri *uri)
{
  std::string raw_query = g_uri_get_query (uri) ? g_uri_get_query (uri) : "";
  static GRegex *key_re = g_regex_new ("(^|&)key=[^&]*", G_REGEX_OPTIMIZE,
      (GRegexMatchFlags) 0, nullptr);
  GPtr<gchar> redacted (g_regex_replace (key_re, raw_query.c_str (), -1, 0,
          "\\1key=REDACTED", (GRegexMatchFlags) 0, nullptr));
  if (redacted)
    raw_query = redacted.get ();
  return raw_query;
}

}  // namespace

Call::~Call ()
{
  if (disconnect_id)
    g_signal_handler_disconnect (msg.get (), disconnect_id);
}

const char *
Call::param (const char *name) const
{
  auto it = params.find (name);
  return it == params.end () ? nullptr : it->second.c_str ();
}

double
Call::fault_delay_ms () const
{
  return fault && fault->type == "delay" ? (double) fault->delay_ms : 0;
}

std::string
header (SoupServerMessage *msg, const char *name)
{
  const char *v = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), name);
  return v ? v : "";
}

GBytes *
request_body (SoupServerMessage *msg)
{
  return soup_message_body_flatten (soup_server_message_get_request_body (msg));
}

std::string
body_string (SoupServerMessage *msg)
{
  GPtr<GBytes> b (request_body (msg));
  gsize size = 0;
  auto data = static_cast<const char *> (g_bytes_get_data (b.get (), &size));
  return std::string (data ? data : "", size);
}

Server::Server ()
{
  init_debug ();
  batches = std::make_unique<BatchService> (batch_host ());
}

void
Server::run (guint want_port, std::promise<bool> &ready)
{
  g_main_context_push_thread_default (ctx.get ());
  server = soup_server_new ("server-header", "gemini-emulator ", nullptr);
  soup_server_add_handler (server, nullptr,
      [] (SoupServer *, SoupServerMessage *msg, const char *, GHashTable *query,
          gpointer data) {
        static_cast<Server *> (data)->on_request (msg, query);
      }, this, nullptr);
  GError *err = nullptr;
  GSocketAddress *addr = g_inet_socket_address_new_from_string ("127.0.0.1",
      want_port);
  bool ok = soup_server_listen (server, addr, (SoupServerListenOptions) 0,
      &err);
  g_object_unref (addr);
  if (ok) {
    GSList *uris = soup_server_get_uris (server);
    port = uris ? (guint) g_uri_get_port (static_cast<GUri *> (uris->data)) : 0;
    g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    base_url = "http://127.0.0.1:" + std::to_string (port);
    batches->set_base_url (base_url);
    GST_INFO ("listening on %s", base_url.c_str ());
  } else {
    g_warning ("gemini-emulator cannot listen on 127.0.0.1:%u: %s", want_port,
        err->message);
    g_clear_error (&err);
  }
  ready.set_value (ok);
  if (ok)
    g_main_loop_run (loop.get ());
  shutdown ();
  g_main_context_pop_thread_default (ctx.get ());
}

void
Server::shutdown ()
{
  /* job workers may be waiting for this server: before it stops */
  batches->stop ();
  stopping = true;
  {
    std::unique_lock<std::mutex> lk (workers_lock);
    workers_done.wait (lk, [this] { return workers == 0; });
  }
  /* worker completions see `stopping` and only release their Call */
  while (g_main_context_iteration (ctx.get (), FALSE)) {
  }
  for (GSource *s : std::set<GSource *> (timers))
    g_source_destroy (s);
  timers.clear ();
  soup_server_disconnect (server);
  g_object_unref (server);
  server = nullptr;
  while (g_main_context_iteration (ctx.get (), FALSE)) {
  }
}

bool
Server::set_script (std::string_view text, std::string *error)
{
  auto s = parse_script (text, error);
  if (!s)
    return false;
  {
    std::lock_guard<std::mutex> lk (lock);
    script = std::move (*s);
  }
  GPtr<JsonNode> root = parse_json (text, nullptr);
  GPtr<JsonObject> empty (json_object_new ());
  batches->set_script (root && JSON_NODE_HOLDS_OBJECT (root.get ()) ?
      json_node_get_object (root.get ()) : empty.get ());
  return true;
}

void
Server::reset ()
{
  batches->reset ();
  std::lock_guard<std::mutex> lk (lock);
  log.clear ();
  files.clear ();
  caches.clear ();
  generate_count = 0;
  script.restart ();
}

std::string
Server::log_json () const
{
  std::lock_guard<std::mutex> lk (lock);
  GPtr<JsonObject> root (json_object_new ());
  JsonArray *a = json_array_new ();
  for (const auto &e : log)
    json_array_add_object_element (a, json_object_ref (e.get ()));
  json_object_set_array_member (root.get (), "requests", a);
  return to_json_string (root.get ());
}

void
Server::pause (const CallPtr &call)
{
  if (!call->paused && !call->disconnected) {
    soup_server_message_pause (call->msg.get ());
    call->paused = true;
  }
}

namespace {

struct Deferred {
  Server *owner;
  std::function<void ()> fn;
  GSource *source = nullptr;
};

}  // namespace

void
Server::defer (const CallPtr &call, double ms, std::function<void ()> fn)
{
  if (ms <= 0) {
    fn ();
    return;
  }
  pause (call);
  auto d = new Deferred{this, std::move (fn)};
  d->source = g_timeout_source_new ((guint) std::ceil (ms));
  g_source_set_callback (d->source, [] (gpointer data) -> gboolean {
        auto d = static_cast<Deferred *> (data);
        d->owner->timers.erase (d->source);
        d->fn ();
        return G_SOURCE_REMOVE;
      }, d, [] (gpointer data) { delete static_cast<Deferred *> (data); });
  timers.insert (d->source);
  g_source_attach (d->source, ctx.get ());
  g_source_unref (d->source);
}

void
Server::offload (const CallPtr &call, std::function<void ()> work,
    std::function<void ()> done)
{
  pause (call);
  {
    std::lock_guard<std::mutex> lk (workers_lock);
    workers++;
  }
  auto d = new Deferred{this, std::move (done)};
  std::thread ([this, work = std::move (work), d] () mutable {
        work ();
        g_main_context_invoke_full (ctx.get (), G_PRIORITY_DEFAULT,
            [] (gpointer data) -> gboolean {
              auto d = static_cast<Deferred *> (data);
              if (!d->owner->stopping)
                d->fn ();
              return G_SOURCE_REMOVE;
            }, d,
            [] (gpointer data) { delete static_cast<Deferred *> (data); });
        std::lock_guard<std::mutex> lk (workers_lock);
        if (--workers == 0)
          workers_done.notify_all ();
      }).detach ();
}

void
Server::log_set (const CallPtr &call, const char *name, JsonNode *value)
{
  std::lock_guard<std::mutex> lk (lock);
  if (call->entry)
    json_object_set_member (call->entry.get (), name, value);
  else
    json_node_unref (value);
}

void
Server::log_string (const CallPtr &call, const char *name, const std::string &v)
{
  log_set (call, name, string_node (v));
}

void
Server::log_body (const CallPtr &call, const std::string &body)
{
  /* json_node_copy () is shallow: parse again for a copy we may rewrite */
  if (GPtr<JsonNode> logged = parse_json (body, nullptr)) {
    redact_inline_data (logged.get ());
    log_set (call, "body", logged.release ());
  }
}

void
Server::respond (const CallPtr &call, guint status, const std::string &body,
    const char *content_type, Headers headers)
{
  if (call->disconnected)
    return;
  SoupServerMessage *msg = call->msg.get ();
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  for (const auto &[name, value] : headers)
    soup_message_headers_replace (h, name, value.c_str ());
  soup_server_message_set_status (msg, status, nullptr);
  if (!body.empty () || content_type)
    soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY,
        body.data (), body.size ());
  if (call->paused) {
    soup_server_message_unpause (msg);
    call->paused = false;
  }
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (n, status);
  log_set (call, "status", n);
}

void
Server::respond_paced (const CallPtr &call, const std::vector<std::string> &events,
    double first_ms, double spread_ms)
{
  SoupServerMessage *msg = call->msg.get ();
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (h, "text/event-stream", nullptr);
  soup_server_message_set_status (msg, 200, nullptr);
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (n, 200);
  log_set (call, "status", n);
  pause (call);
  for (gsize i = 0; i < events.size (); i++) {
    const double at = first_ms + spread_ms * double (i + 1) / double (events.size ());
    const bool last = i + 1 == events.size ();
    std::string data = "data: " + events[i] + "\r\n\r\n";
    defer (call, std::max (at, 1.0), [this, call, data, last] {
          if (call->disconnected)
            return;
          SoupMessageBody *body = soup_server_message_get_response_body (call->msg.get ());
          soup_message_body_append (body, SOUP_MEMORY_COPY, data.data (), data.size ());
          if (last)
            soup_message_body_complete (body);
          soup_server_message_unpause (call->msg.get ());
          call->paused = false;
        });
  }
}

void
Server::respond_error (const CallPtr &call, const ApiError &e, Headers headers)
{
  GST_DEBUG ("request %" G_GSIZE_FORMAT ": %u %s %s", call->log_index,
      e.code, e.status.c_str (), e.message.c_str ());
  respond (call, e.code, e.body (), "application/json; charset=UTF-8",
      headers);
}

void
Server::drop (const CallPtr &call)
{
  if (call->disconnected)
    return;
  GIOStream *stream = soup_server_message_steal_connection (call->msg.get ());
  if (stream) {
    g_io_stream_close (stream, nullptr, nullptr);
    g_object_unref (stream);
  }
  call->disconnected = true;
}

bool
Server::faulted (const CallPtr &call)
{
  {
    std::lock_guard<std::mutex> lk (lock);
    call->fault = script.take_fault (call->kind);
  }
  if (!call->fault)
    return false;
  const Fault &f = *call->fault;
  log_string (call, "fault", f.type);
  if (f.type == "http" && !(call->stream && f.mid_stream)) {
    respond_error (call, fault_error (f, call->model));
    return true;
  }
  if (f.type == "drop") {
    drop (call);
    return true;
  }
  if (f.type == "stall") {
    pause (call);
    return true;
  }
  return false;
}

void
Server::on_request (SoupServerMessage *msg, GHashTable *query)
{
  auto call = std::make_shared<Call> ();
  call->msg.reset (static_cast<SoupServerMessage *> (g_object_ref (msg)));
  call->disconnect_id = g_signal_connect (msg, "disconnected",
      G_CALLBACK (+[] (SoupServerMessage *, gpointer data) {
        static_cast<Call *> (data)->disconnected = true;
      }), call.get ());

  GUri *uri = soup_server_message_get_uri (msg);
  GPtr<gchar> path_c (g_uri_unescape_string (g_uri_get_path (uri), nullptr));
  call->path = path_c ? path_c.get () : g_uri_get_path (uri);
  call->method = soup_server_message_get_method (msg);
  if (query) {
    GHashTableIter it;
    gpointer name, value;
    g_hash_table_iter_init (&it, query);
    while (g_hash_table_iter_next (&it, &name, &value))
      call->params.emplace (static_cast<const char *> (name),
          static_cast<const char *> (value));
  }
  route (*call);
  record (call, uri);
  GST_DEBUG ("%s %s (%s)", call->method.c_str (), call->path.c_str (),
      call->kind.c_str ());
  dispatch (call);
}

/* The kind of request, as the log names it, and what its path says. */
void
Server::route (Call &call)
{
  const std::string &path = call.path, &method = call.method;
  std::vector<std::string> g;
  if (g_str_has_prefix (path.c_str (), "/emulator/")) {
    call.kind = "control";
  } else if (match ("^/(v1beta|v1)/models/([^/:]+):(generateContent|"
          "streamGenerateContent)$", path, g) && method == "POST") {
    call.version = g[0];
    call.model = g[1];
    call.kind = g[2] == "streamGenerateContent" ? "stream" :
        header (call.msg.get (), BATCH_REQUEST_HEADER).empty () ? "generate" :
        "batch_request";
  } else if (match ("^/(v1|v1beta1)/projects/[^/]+/locations/[^/]+/publishers/"
          "google/models/([^/:]+):(generateContent|streamGenerateContent)$",
          path, g) && method == "POST") {
    call.version = g[0];
    call.model = g[1];
    call.kind = g[2] == "generateContent" ? "generate" : "stream";
    call.vertex = true;
  } else if (match ("^/upload/(v1beta|v1)/files$", path, g) &&
      method == "POST") {
    call.kind = call.param ("upload_id") ? "upload_chunk" : "upload_start";
  } else if (match ("^/(v1beta|v1)/files/([a-z0-9-]+)$", path, g)) {
    call.id = g[1];
    call.kind = method == "GET" ? "file_get" :
        method == "DELETE" ? "file_delete" : "other";
  } else if (match ("^/(v1beta|v1)/files$", path, g) && method == "GET") {
    call.kind = "file_list";
  } else if (std::string k = BatchService::kind_of (method, path); !k.empty ()) {
    call.kind = k;
  } else if (match ("^/(v1beta|v1)/models/([^/:]+)$", path, g) && method == "GET") {
    call.model = g[1];
    call.kind = "model_get";
  } else if (match ("^/(v1beta|v1)/cachedContents$", path, g) && method == "POST") {
    call.kind = "cache_create";
  } else if (match ("^/(v1beta|v1)/cachedContents/([a-z0-9-]+)$", path, g)) {
    call.id = g[1];
    call.kind = method == "GET" ? "cache_get" :
        method == "DELETE" ? "cache_delete" : "other";
  } else {
    call.kind = "other";
  }
  call.stream = call.kind == "stream";
}

/* Adds the request to the log (all but a reset, which clears it), its
 * credentials only as whether they were there. */
void
Server::record (const CallPtr &call, GUri *uri)
{
  SoupMessageHeaders *req_headers =
      soup_server_message_get_request_headers (call->msg.get ());
  JsonObject *headers = json_object_new ();
  bool has_api_key = false, has_bearer = false;
  SoupMessageHeadersIter iter;
  const char *name, *value;
  soup_message_headers_iter_init (&iter, req_headers);
  while (soup_message_headers_iter_next (&iter, &name, &value)) {
    GPtr<gchar> lower (g_ascii_strdown (name, -1));
    if (g_str_equal (lower.get (), "x-goog-api-key")) {
      has_api_key = true;
    } else if (g_str_equal (lower.get (), "authorization")) {
      has_bearer = g_str_has_prefix (value, "Bearer ");
    } else {
      json_object_set_string_member (headers, lower.get (), value);
    }
  }

  JsonObject *entry = json_object_new ();
  json_object_set_double_member (entry, "time",
      (g_get_monotonic_time () - start_us) / 1e6);
  json_object_set_string_member (entry, "method", call->method.c_str ());
  json_object_set_string_member (entry, "path", call->path.c_str ());
  json_object_set_string_member (entry, "query", redacted_query (uri).c_str ());
  json_object_set_string_member (entry, "kind", call->kind.c_str ());
  if (call->model.empty ())
    json_object_set_null_member (entry, "model");
  else
    json_object_set_string_member (entry, "model", call->model.c_str ());
  json_object_set_int_member (entry, "status", 0);
  json_object_set_null_member (entry, "fault");
  json_object_set_boolean_member (entry, "api_key_in_query",
      call->param ("key") != nullptr);
  json_object_set_boolean_member (entry, "has_api_key", has_api_key);
  json_object_set_boolean_member (entry, "has_bearer", has_bearer);
  json_object_set_object_member (entry, "headers", headers);
  json_object_set_null_member (entry, "body");
  json_object_set_array_member (entry, "media", json_array_new ());
  json_object_set_null_member (entry, "prompt");
  json_object_set_null_member (entry, "clip");
  json_object_set_null_member (entry, "video_metadata");
  json_object_set_null_member (entry, "generation_config");
  json_object_set_null_member (entry, "upload");
  if (call->kind == "control" && call->path == "/emulator/reset") {
    json_object_unref (entry);
    call->log_index = G_MAXSIZE;
    return;
  }
  std::lock_guard<std::mutex> lk (lock);
  call->log_index = log.size ();
  json_object_set_int_member (entry, "index", (gint64) log.size ());
  call->entry.reset (json_object_ref (entry));
  log.emplace_back (entry);
}

namespace {

struct Endpoint {
  Credentials credentials;
  void (Server::*handle) (const CallPtr &);
};

/* The handler of a kind of request, and the credentials it takes. */
const Endpoint &
endpoint_of (const Call &call)
{
  using C = Credentials;
  static const std::map<std::string, Endpoint> by_kind = {
    { "control", { C::none, &Server::handle_control } },
    { "generate", { C::key_or_token, &Server::handle_generate } },
    { "stream", { C::key_or_token, &Server::handle_generate } },
    { "batch_request", { C::key_or_token, &Server::handle_generate } },
    { "model_get", { C::key, &Server::handle_model_get } },
    { "upload_start", { C::key_header, &Server::handle_upload_start } },
    { "upload_chunk", { C::none, &Server::handle_upload_chunk } },
    { "file_get", { C::key_header, &Server::handle_file_get } },
    { "file_list", { C::key, &Server::handle_file_list } },
    { "file_delete", { C::key_header, &Server::handle_file_delete } },
    { "cache_create", { C::key_header, &Server::handle_cache_create } },
    { "cache_get", { C::key_header, &Server::handle_cache_get } },
    { "cache_delete", { C::key_header, &Server::handle_cache_delete } },
  };
  static const Endpoint batch = { C::key, &Server::handle_batch };
  static const Endpoint unknown = { C::none, &Server::handle_unknown };
  if (auto it = by_kind.find (call.kind); it != by_kind.end ())
    return it->second;
  if (!BatchService::kind_of (call.method, call.path).empty ())
    return batch;
  return unknown;
}

}  // namespace

/* Every request passes here: its credentials are checked once, for all
 * routes, before the handler of its kind runs. */
void
Server::dispatch (const CallPtr &call)
{
  const Endpoint &e = endpoint_of (*call);
  if (admit (call, e.credentials))
    (this->*e.handle) (call);
}

bool
Server::admit (const CallPtr &call, Credentials credentials)
{
  switch (credentials) {
    case Credentials::none:
      return true;
    case Credentials::key_header:
      return check_api_key (call, false);
    case Credentials::key:
      return check_api_key (call, true);
    case Credentials::key_or_token:
      return call->vertex ? check_bearer (call) : check_api_key (call, true);
  }
  return false;
}

bool
Server::check_api_key (const CallPtr &call, bool from_query)
{
  std::string key = header (call->msg.get (), "x-goog-api-key");
  if (key.empty () && from_query && call->param ("key"))
    key = call->param ("key");
  key = g_strstrip (key.data ());
  key.resize (strlen (key.c_str ()));
  std::string expected;
  {
    std::lock_guard<std::mutex> lk (lock);
    expected = script.api_key;
  }
  if (key.empty ()) {
    respond_error (call, ApiError::make (403, "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without "
            "established identity). Please use API Key or other form of API "
            "consumer identity to call this API."));
    return false;
  }
  if (key != expected) {
    const char *text = "API key not valid. Please pass a valid API key.";
    ApiError e = ApiError::make (400, "INVALID_ARGUMENT", text);
    JsonObject *info = json_object_new ();
    json_object_set_string_member (info, "@type",
        "type.googleapis.com/google.rpc.ErrorInfo");
    json_object_set_string_member (info, "reason", "API_KEY_INVALID");
    json_object_set_string_member (info, "domain", "googleapis.com");
    JsonObject *meta = json_object_new ();
    json_object_set_string_member (meta, "service",
        "generativelanguage.googleapis.com");
    json_object_set_object_member (info, "metadata", meta);
    e.add_detail (info);
    JsonObject *loc = json_object_new ();
    json_object_set_string_member (loc, "@type",
        "type.googleapis.com/google.rpc.LocalizedMessage");
    json_object_set_string_member (loc, "locale", "en-US");
    json_object_set_string_member (loc, "message", text);
    e.add_detail (loc);
    respond_error (call, e);
    return false;
  }
  return true;
}

bool
Server::check_bearer (const CallPtr &call)
{
  std::string auth = header (call->msg.get (), "Authorization");
  std::string expected;
  {
    std::lock_guard<std::mutex> lk (lock);
    expected = "Bearer " + script.vertex_token;
  }
  if (auth != expected) {
    respond_error (call, ApiError::make (401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 "
            "access token, login cookie or other valid authentication "
            "credential. See https://developers.google.com/identity/sign-in/"
            "web/devconsole-project."));
    return false;
  }
  return true;
}

void
Server::handle_control (const CallPtr &call)
{
  const std::string &method = call->method, &path = call->path;
  if (path == "/emulator/log" && method == "GET") {
    respond (call, 200, log_json ());
  } else if (path == "/emulator/script" && method == "POST") {
    std::string error;
    if (set_script (body_string (call->msg.get ()), &error))
      respond (call, 200, "{}");
    else
      respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
              "Bad script: " + error));
  } else if (path == "/emulator/reset" && method == "POST") {
    reset ();
    respond (call, 200, "{}");
  } else {
    respond_error (call, ApiError::make (404, "NOT_FOUND",
            "Unknown emulator control endpoint " + method + " " + path));
  }
}

void
Server::handle_unknown (const CallPtr &call)
{
  respond_error (call, ApiError::make (404, "NOT_FOUND",
          "Method not found: " + call->method + " " + call->path));
}

}  // namespace gemini::test::emu
