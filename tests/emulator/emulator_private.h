/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's server, shared by the files that implement it: server.cpp
 * (the SoupServer, its thread, routing, credentials, faults and the log),
 * the handlers of each group of routes (generate_handlers.cpp,
 * file_handlers.cpp, cache_handlers.cpp) and emulator.cpp (the public API). */
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <libsoup/soup.h>

#include "answers.h"
#include "api_error.h"
#include "batch.h"
#include "cache_store.h"
#include "emulator.h"
#include "file_store.h"
#include "glib_ptr.h"
#include "script.h"
#include "validator.h"

namespace gemini::test::emu {

/* One HTTP request in flight. Lives on the server thread; worker threads
 * never hold it. */
struct Call {
  GPtr<SoupServerMessage> msg;
  std::string method, path;
  std::map<std::string, std::string> params;   /* the query */
  gsize log_index = 0;
  /* owns a reference: the log may be cleared while the call is in flight */
  GPtr<JsonObject> entry;

  /* what the route says */
  std::string kind;
  std::string model;
  std::string version;             /* "v1beta", "v1", "v1beta1" */
  std::string id;                  /* of the file or cache in the path */
  bool vertex = false;

  bool paused = false;
  bool disconnected = false;
  gulong disconnect_id = 0;

  /* drawn by Server::faulted () */
  std::optional<Fault> fault;

  /* generateContent */
  bool stream = false;
  bool sse = true;
  ParsedRequest req;
  gint64 request_index = 0;

  ~Call ();

  /* A query parameter, or null. */
  const char *param (const char *name) const;
  /* What a "delay" fault adds before the answer. */
  double fault_delay_ms () const;
};
using CallPtr = std::shared_ptr<Call>;

using Headers = std::initializer_list<std::pair<const char *, std::string>>;

/* What a route takes as the caller's credentials. */
enum class Credentials {
  none,          /* the control endpoints; an upload session's URL */
  key_header,    /* x-goog-api-key only */
  key,           /* x-goog-api-key or ?key= */
  key_or_token,  /* as `key`, or on a Vertex path the Bearer token */
};

struct Server {
  Server ();

  /* guards the script, the log and the request counter; the stores and
   * the batch service lock themselves (taken after this one, never before) */
  mutable std::mutex lock;
  Script script;
  std::vector<GPtr<JsonObject>> log;
  gint64 generate_count = 0;

  FileStore files;
  CacheStore caches;
  std::unique_ptr<BatchService> batches;

  /* set before the server answers its first request */
  gint64 start_us = g_get_monotonic_time ();
  guint port = 0;
  std::string base_url;

  /* server thread only */
  GPtr<GMainContext> ctx{g_main_context_new ()};
  GPtr<GMainLoop> loop{g_main_loop_new (ctx.get (), FALSE)};
  SoupServer *server = nullptr;
  std::set<GSource *> timers;
  std::thread thread;

  std::atomic<bool> stopping{false};
  std::mutex workers_lock;
  std::condition_variable workers_done;
  int workers = 0;

  void run (guint want_port, std::promise<bool> &ready);
  void shutdown ();

  /* ---- script and log, from any thread ---- */

  bool set_script (std::string_view text, std::string *error);
  /* Clears the log, the stores and every counter. */
  void reset ();
  std::string log_json () const;

  /* ---- async plumbing ---- */

  void pause (const CallPtr &call);
  /* Runs @fn after @ms on the server thread (at once when @ms <= 0). */
  void defer (const CallPtr &call, double ms, std::function<void ()> fn);
  /* Runs @work on a worker thread, then @done back on the server thread. */
  void offload (const CallPtr &call, std::function<void ()> work,
      std::function<void ()> done);

  /* ---- log ---- */

  void log_set (const CallPtr &call, const char *name, JsonNode *value);
  void log_string (const CallPtr &call, const char *name, const std::string &v);
  /* The request body as the log keeps it: inline data as its size. */
  void log_body (const CallPtr &call, const std::string &body);

  /* ---- answers ---- */

  void respond (const CallPtr &call, guint status, const std::string &body,
      const char *content_type = "application/json; charset=UTF-8",
      Headers headers = {});
  /* SSE events written one at a time as a chunked body: the first after
   * `first_ms`, the others spread over the next `spread_ms`, as the text is
   * generated. */
  void respond_paced (const CallPtr &call, const std::vector<std::string> &events,
      double first_ms, double spread_ms);
  void respond_error (const CallPtr &call, const ApiError &e,
      Headers headers = {});
  void drop (const CallPtr &call);

  /* Draws the request's scripted fault into call->fault and plays the fault
   * types that act alike on every route (http, drop, stall). True when that
   * answered the request. Handlers call it once their own checks have
   * passed, so that a request they refuse uses up no fault. */
  bool faulted (const CallPtr &call);

  /* ---- routing ---- */

  void on_request (SoupServerMessage *msg, GHashTable *query);
  void route (Call &call);
  void record (const CallPtr &call, GUri *uri);
  void dispatch (const CallPtr &call);
  bool admit (const CallPtr &call, Credentials credentials);
  bool check_api_key (const CallPtr &call, bool from_query);
  bool check_bearer (const CallPtr &call);

  /* ---- handlers ---- */

  void handle_control (const CallPtr &call);
  void handle_unknown (const CallPtr &call);
  void handle_generate (const CallPtr &call);
  bool read_generate_request (const CallPtr &call);
  void inspect_and_answer (const CallPtr &call);
  void finish_generate (const CallPtr &call);
  void send_answer (const CallPtr &call, const Answer &answer, double latency,
      double chars_per_second);
  void handle_model_get (const CallPtr &call);
  void handle_upload_start (const CallPtr &call);
  void handle_upload_chunk (const CallPtr &call);
  void finish_upload (const CallPtr &call, UploadSession session);
  void handle_file_get (const CallPtr &call);
  void handle_file_list (const CallPtr &call);
  void handle_file_delete (const CallPtr &call);
  void handle_cache_create (const CallPtr &call);
  void handle_cache_get (const CallPtr &call);
  void handle_cache_delete (const CallPtr &call);
  void handle_batch (const CallPtr &call);
  BatchHost batch_host ();
};

/* The request's header, or "". */
std::string header (SoupServerMessage *msg, const char *name);
GBytes *request_body (SoupServerMessage *msg);
std::string body_string (SoupServerMessage *msg);

}  // namespace gemini::test::emu

namespace gemini::test {

struct Emulator::Impl : emu::Server {};

}  // namespace gemini::test
