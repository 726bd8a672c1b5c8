/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Gemini REST client on libsoup 3.
 *
 * Every HTTP exchange is a Call: one logical request with its retries,
 * per-attempt timeout and cancellation, living on the worker thread. The
 * Files API upload and the file polling are chains of Calls; a wait between
 * two Calls is the next Call's initial delay, so every wait is a GSource on
 * the worker's context that the caller's GCancellable interrupts. */
#include "client.h"

#include <cmath>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "debug.h"
#include "json_doc.h"
#include "bounds.h"

GEMINI_DEBUG_CATEGORY (gemini_client_debug, "geminiclient",
    "Gemini REST client");
#define GST_CAT_DEFAULT gemini_client_debug

namespace gemini {

namespace {

constexpr gsize READ_SIZE = 64 * 1024;
constexpr gsize DEFAULT_GRANULARITY = 8 * 1024 * 1024;
constexpr guint CHUNK_STATUS_TRIES = 3;

/* Empty when unset or blank, as the SDKs treat "" as unset. */
std::string
env_string (const char *name)
{
  const char *value = g_getenv (name);
  if (!value)
    return {};
  GPtr<gchar> copy (g_strstrip (g_strdup (value)));
  return copy.get ();
}

std::string
strip_trailing_slashes (std::string s)
{
  while (!s.empty () && s.back () == '/')
    s.pop_back ();
  return s;
}

void
replace_all (std::string &s, const std::string &secret)
{
  if (secret.empty ())
    return;
  for (gsize pos = s.find (secret); pos != std::string::npos; pos = s.find (secret, pos))
    s.replace (pos, secret.size (), "<redacted>");
}

/* Invalid UTF-8 becomes U+FFFD; control characters, C1 ones included,
 * become spaces. */
std::string
printable_text (std::string_view text)
{
  GPtr<gchar> valid (g_utf8_make_valid (text.data (), static_cast<gssize> (text.size ())));
  std::string out;
  out.reserve (text.size ());
  for (const gchar *p = valid.get (); *p; p = g_utf8_next_char (p)) {
    const gunichar c = g_utf8_get_char (p);
    if (g_unichar_iscntrl (c))
      out += ' ';
    else
      out.append (p, g_utf8_next_char (p) - p);
  }
  return out;
}

std::string
format_seconds (GstClockTime t)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof (buf), "%.3f", static_cast<double> (t) / GST_SECOND);
  return buf;
}

void
clear_source (GPtr<GSource> &source)
{
  if (source) {
    g_source_destroy (source.get ());
    source.reset ();
  }
}

Error
cancelled_error ()
{
  return Error::make (Error::Kind::Cancelled, "cancelled");
}

Error
protocol_error (std::string message)
{
  return Error::make (Error::Kind::Protocol, std::move (message));
}

/* The server asks for a longer wait than limits::RETRY_DELAY: the error is
 * reported now, with that delay in its message, instead of sleeping. */
bool
waits_too_long (const Error &e)
{
  return e.retry_delay && *e.retry_delay > limits::RETRY_DELAY;
}

int
effective_port (GUri *uri)
{
  const int port = g_uri_get_port (uri);
  if (port != -1)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

/* "https://host:443": what the key may be sent to. */
std::string
origin_of (GUri *uri)
{
  const char *host = g_uri_get_host (uri);
  return std::string (g_uri_get_scheme (uri)) + "://" + (host ? host : "")
      + ":" + std::to_string (effective_port (uri));
}

bool
same_origin (GUri *a, GUri *b)
{
  const char *ha = g_uri_get_host (a), *hb = g_uri_get_host (b);
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0
      && ha && hb && g_ascii_strcasecmp (ha, hb) == 0
      && effective_port (a) == effective_port (b);
}

/* "123.4s" */
std::optional<GstClockTime>
parse_duration (const std::string &s)
{
  if (s.empty () || s.back () != 's')
    return std::nullopt;
  char *end = nullptr;
  const double secs = g_ascii_strtod (s.c_str (), &end);
  if (end != s.c_str () + s.size () - 1 || secs < 0)
    return std::nullopt;
  return static_cast<GstClockTime> (std::llround (secs * GST_SECOND));
}

/* A File resource, bare (GET) or wrapped in {"file": ...} (upload finalize). */
Result<FileInfo>
parse_file (std::string_view body)
{
  GError *raw_error = nullptr;
  GPtr<JsonNode> root = parse_json_document (body, &raw_error);
  if (!root) {
    GPtr<GError> error (raw_error);
    return protocol_error (std::string ("File is not JSON: ") + error->message);
  }
  if (!JSON_NODE_HOLDS_OBJECT (root.get ()))
    return protocol_error ("File is not a JSON object");

  JsonObject *obj = json_node_get_object (root.get ());
  if (JsonObject *wrapped = member_object (obj, "file"))
    obj = wrapped;

  FileInfo info;
  info.name = member_string (obj, "name");
  info.uri = member_string (obj, "uri");
  info.mime_type = member_string (obj, "mimeType");
  info.display_name = member_string (obj, "displayName");
  info.state = member_string (obj, "state");
  info.size_bytes = member_int (obj, "sizeBytes");
  info.video_duration =
      parse_duration (member_string (member_object (obj, "videoMetadata"), "videoDuration"));

  if (JsonObject *err = member_object (obj, "error")) {
    Error e = Error::make (Error::Kind::FileFailed, member_string (err, "message"));
    e.status = member_string (err, "status");
    if (e.message.empty ())
      e.message = "the service could not process the file";
    info.error = std::move (e);
  }

  if (info.name.empty ())
    return protocol_error ("File without a name");
  return info;
}

std::string
normalize_file_name (std::string_view name)
{
  if (g_str_has_prefix (std::string (name).c_str (), "files/"))
    return std::string (name);
  return "files/" + std::string (name);
}

/* What a Call hands back on success: the status, the message (for response
 * headers) and the body (empty for streams, which are consumed as they come). */
struct HttpReply {
  guint status = 0;
  GPtr<SoupMessage> message;
  std::string body;

  const char *header (const char *name) const
  {
    return soup_message_headers_get_one (
        soup_message_get_response_headers (message.get ()), name);
  }
};

struct CallSpec {
  const char *method = "GET";
  std::string url;
  GPtr<GBytes> body;
  std::string content_type;                 /* empty: no Content-Type */
  std::vector<std::pair<std::string, std::string>> headers;
  bool retry = true;                        /* RetryPolicy on retryable errors */
  bool model_call = false;                  /* a 404 means an unknown model */
  bool upload_payload = false;              /* counts into bytes_uploaded */
  GstClockTime initial_delay = 0;           /* a wait before the first attempt */
  GstClockTime timeout = GST_CLOCK_TIME_NONE;  /* per attempt; NONE: request_timeout */
  gsize max_body = limits::CONTROL_BODY;    /* of a 2xx answer; errors: limits::ERROR_BODY */
};

class Worker;

class Call {
public:
  using DoneFn = std::function<void (Result<HttpReply>)>;
  /* Streams only: bytes of a 2xx body; an Error aborts the call. */
  using DataFn = std::function<std::optional<Error> (std::string_view bytes)>;

  Call (Worker &worker, CallSpec spec, GCancellable *cancellable, DoneFn done, DataFn on_data)
      : worker_ (worker), spec_ (std::move (spec)), user_cancellable_ (ref_ptr (cancellable)),
        done_ (std::move (done)), on_data_ (std::move (on_data))
  {
  }

  void start ();
  void cancel ();

private:
  void attempt ();
  void sleep (GstClockTime delay);
  void start_timeout ();
  GstClockTime attempt_timeout () const;
  void read_next ();
  void attempt_finished ();
  Error redirect_error () const;
  void io_failed (const GError *error);
  void failed (Error e, bool may_retry);
  void abandon_stream ();
  void finish (Result<HttpReply> result);

  static void on_sent (GObject *source, GAsyncResult *res, gpointer user_data);
  static void on_read (GObject *source, GAsyncResult *res, gpointer user_data);
  static gboolean on_timeout (gpointer user_data);
  static gboolean on_sleep_done (gpointer user_data);
  static gboolean on_user_cancelled (GCancellable *cancellable, gpointer user_data);

  Worker &worker_;
  CallSpec spec_;
  GPtr<GCancellable> user_cancellable_;
  DoneFn done_;
  DataFn on_data_;

  guint attempt_ = 0;
  bool cancelled_ = false;
  bool timed_out_ = false;
  bool stream_started_ = false;             /* 2xx stream bytes went to on_data_ */
  GPtr<GSource> cancel_source_;
  GPtr<GSource> timeout_source_;
  GPtr<GSource> sleep_source_;
  GPtr<GCancellable> attempt_cancellable_;
  GPtr<SoupMessage> message_;
  GPtr<GInputStream> stream_;
  guint status_ = 0;
  std::string body_;
  gsize received_ = 0;                      /* body bytes of this attempt */
  gint64 stream_deadline_us_ = G_MAXINT64;  /* monotonic; streams only */
};

/* The client thread: its GMainContext, the SoupSession and the live Calls.
 * Everything but the stats and post() is touched on that thread only. */
class Worker {
public:
  explicit Worker (const ClientConfig &config)
      : config_ (config), context_ (g_main_context_new ()),
        loop_ (g_main_loop_new (context_.get (), FALSE))
  {
    thread_ = std::thread (&Worker::run, this);
  }

  ~Worker ()
  {
    post ([this] { shutdown (); });
    thread_.join ();
  }

  Worker (const Worker &) = delete;
  Worker &operator= (const Worker &) = delete;

  const ClientConfig &config () const { return config_; }
  GMainContext *context () const { return context_.get (); }
  SoupSession *session () const { return session_.get (); }
  bool on_worker_thread () const { return g_main_context_is_owner (context_.get ()); }

  /* Runs fn on the worker thread (at once when already there). fn may be
   * move-only: it is boxed, and the box freed even if never dispatched. */
  template <typename F> void post (F fn)
  {
    auto box = std::make_unique<F> (std::move (fn));
    g_main_context_invoke_full (context_.get (), G_PRIORITY_DEFAULT,
        [] (gpointer data) -> gboolean {
          (*static_cast<F *> (data)) ();
          return G_SOURCE_REMOVE;
        },
        box.release (),
        [] (gpointer data) { std::unique_ptr<F> owned (static_cast<F *> (data)); });
  }

  void start_call (CallSpec spec, GCancellable *cancellable, Call::DoneFn done,
      Call::DataFn on_data = {})
  {
    auto call = std::make_unique<Call> (*this, std::move (spec), cancellable,
        std::move (done), std::move (on_data));
    Call *raw = call.get ();
    calls_.emplace (raw, std::move (call));
    raw->start ();
  }

  /* Called by a Call that is done: destroys it. */
  void forget (Call *call)
  {
    calls_.erase (call);
  }

  void maybe_quit ()
  {
    if (shutting_down_ && calls_.empty ())
      g_main_loop_quit (loop_.get ());
  }

  bool shutting_down () const { return shutting_down_; }

  /* Error text comes from the server and goes to logs, bus messages,
   * files and terminals: without the key, as valid UTF-8, and without
   * control characters (no terminal escapes). */
  void redact (Error &e) const
  {
    for (std::string *text : {&e.message, &e.status, &e.reason}) {
      redact (*text);
      *text = printable_text (*text);
    }
  }

  /* A model's text keeps its newlines: only the secrets go. */
  void redact (std::string &text) const
  {
    replace_all (text, config_.api_key);
    replace_all (text, config_.access_token);
  }

  ClientStats stats () const
  {
    std::lock_guard<std::mutex> lock (stats_lock_);
    return stats_;
  }

  void count_request (gsize body_bytes, bool upload_payload, bool retry)
  {
    std::lock_guard<std::mutex> lock (stats_lock_);
    stats_.requests++;
    stats_.bytes_sent += body_bytes;
    if (upload_payload)
      stats_.bytes_uploaded += body_bytes;
    if (retry)
      stats_.retries++;
  }

  GstClockTime backoff (guint retry_index) const
  {
    const RetryPolicy &p = config_.retry;
    const double base = static_cast<double> (p.initial_delay)
        * std::pow (p.multiplier, static_cast<double> (retry_index));
    const double jitter = p.jitter > 0 ? g_random_double_range (0, static_cast<double> (p.jitter)) : 0;
    const double delay = std::min (base + jitter, static_cast<double> (p.max_delay));
    return static_cast<GstClockTime> (delay);
  }

private:
  void run ()
  {
    g_main_context_push_thread_default (context_.get ());
    /* No socket I/O timeout: libsoup's default (60 s without a byte) cut
     * every answer that took the model longer, such as an hour of media in
     * one request, which then failed on every retry. Each attempt is bounded
     * by request_timeout instead (Call::start_timeout). */
    session_.reset (soup_session_new_with_options ("max-conns", 64,
            "max-conns-per-host", 32, "user-agent", PACKAGE "/" PACKAGE_VERSION,
            "timeout", 0u, nullptr));

    g_main_loop_run (loop_.get ());

    /* Posts that raced with shutdown start Calls that end at once. */
    while (g_main_context_iteration (context_.get (), FALSE))
      ;
    soup_session_abort (session_.get ());
    session_.reset ();
    while (g_main_context_iteration (context_.get (), FALSE))
      ;
    g_main_context_pop_thread_default (context_.get ());
  }

  void shutdown ()
  {
    shutting_down_ = true;
    std::vector<Call *> live;
    for (auto &entry : calls_)
      live.push_back (entry.first);
    for (Call *call : live) {
      /* An earlier cancel may have finished (and destroyed) this one. */
      if (calls_.count (call))
        call->cancel ();
    }
    maybe_quit ();
  }

  ClientConfig config_;
  GPtr<GMainContext> context_;
  GPtr<GMainLoop> loop_;
  GPtr<SoupSession> session_;
  std::thread thread_;
  std::unordered_map<Call *, std::unique_ptr<Call>> calls_;
  bool shutting_down_ = false;

  mutable std::mutex stats_lock_;
  ClientStats stats_;
};

void
Call::start ()
{
  if (worker_.shutting_down ()
      || (user_cancellable_ && g_cancellable_is_cancelled (user_cancellable_.get ()))) {
    finish (cancelled_error ());
    return;
  }

  if (user_cancellable_) {
    cancel_source_.reset (g_cancellable_source_new (user_cancellable_.get ()));
    g_source_set_callback (cancel_source_.get (), G_SOURCE_FUNC (on_user_cancelled), this, nullptr);
    g_source_attach (cancel_source_.get (), worker_.context ());
  }

  if (spec_.initial_delay > 0)
    sleep (spec_.initial_delay);
  else
    attempt ();
}

void
Call::cancel ()
{
  cancelled_ = true;
  if (attempt_cancellable_) {
    /* The pending I/O completes with G_IO_ERROR_CANCELLED and finishes us. */
    g_cancellable_cancel (attempt_cancellable_.get ());
  } else {
    finish (cancelled_error ());
  }
}

gboolean
Call::on_user_cancelled (GCancellable *, gpointer user_data)
{
  auto self = static_cast<Call *> (user_data);
  GST_DEBUG ("%s %s cancelled by the caller", self->spec_.method, self->spec_.url.c_str ());
  self->cancel_source_.reset ();
  self->cancel ();
  return G_SOURCE_REMOVE;
}

void
Call::sleep (GstClockTime delay)
{
  sleep_source_.reset (g_timeout_source_new (
          static_cast<guint> ((delay + GST_MSECOND - 1) / GST_MSECOND)));
  g_source_set_callback (sleep_source_.get (), on_sleep_done, this, nullptr);
  g_source_attach (sleep_source_.get (), worker_.context ());
}

gboolean
Call::on_sleep_done (gpointer user_data)
{
  auto self = static_cast<Call *> (user_data);
  self->sleep_source_.reset ();
  self->attempt ();
  return G_SOURCE_REMOVE;
}

GstClockTime
Call::attempt_timeout () const
{
  return GST_CLOCK_TIME_IS_VALID (spec_.timeout) ? spec_.timeout
      : worker_.config ().request_timeout;
}

void
Call::start_timeout ()
{
  clear_source (timeout_source_);
  const GstClockTime timeout = attempt_timeout ();
  if (timeout == 0 || !GST_CLOCK_TIME_IS_VALID (timeout))
    return;
  timeout_source_.reset (g_timeout_source_new (
          static_cast<guint> ((timeout + GST_MSECOND - 1) / GST_MSECOND)));
  g_source_set_callback (timeout_source_.get (), on_timeout, this, nullptr);
  g_source_attach (timeout_source_.get (), worker_.context ());
}

gboolean
Call::on_timeout (gpointer user_data)
{
  auto self = static_cast<Call *> (user_data);
  self->timeout_source_.reset ();
  self->timed_out_ = true;
  if (self->attempt_cancellable_)
    g_cancellable_cancel (self->attempt_cancellable_.get ());
  return G_SOURCE_REMOVE;
}

void
Call::attempt ()
{
  const ClientConfig &config = worker_.config ();

  attempt_++;
  timed_out_ = false;
  status_ = 0;
  body_.clear ();
  received_ = 0;
  stream_.reset ();

  message_.reset (soup_message_new (spec_.method, spec_.url.c_str ()));
  if (!message_) {
    finish (protocol_error ("invalid URL " + spec_.url));
    return;
  }
  /* libsoup would follow a redirect with the key attached, to any origin,
   * and from https to http: a redirect is an error instead. */
  soup_message_set_flags (message_.get (), SOUP_MESSAGE_NO_REDIRECT);

  SoupMessageHeaders *headers = soup_message_get_request_headers (message_.get ());
  if (config.backend == Backend::Vertex && !config.access_token.empty ()) {
    std::string bearer = "Bearer " + config.access_token;
    soup_message_headers_replace (headers, "Authorization", bearer.c_str ());
  } else if (!config.api_key.empty ()) {
    soup_message_headers_replace (headers, "x-goog-api-key", config.api_key.c_str ());
  }

  const GstClockTime timeout = attempt_timeout ();
  if (timeout != 0 && GST_CLOCK_TIME_IS_VALID (timeout)) {
    std::string secs = std::to_string ((timeout + GST_SECOND - 1) / GST_SECOND);
    soup_message_headers_replace (headers, "X-Server-Timeout", secs.c_str ());
  }
  for (const auto &[name, value] : spec_.headers)
    soup_message_headers_replace (headers, name.c_str (), value.c_str ());

  gsize body_size = 0;
  if (spec_.body) {
    body_size = g_bytes_get_size (spec_.body.get ());
    soup_message_set_request_body_from_bytes (message_.get (),
        spec_.content_type.empty () ? nullptr : spec_.content_type.c_str (), spec_.body.get ());
  }

  worker_.count_request (body_size, spec_.upload_payload, attempt_ > 1);
  GST_DEBUG ("%s %s (attempt %u, %" G_GSIZE_FORMAT " bytes)", spec_.method,
      spec_.url.c_str (), attempt_, body_size);

  stream_deadline_us_ = G_MAXINT64;
  if (on_data_ && timeout != 0 && GST_CLOCK_TIME_IS_VALID (timeout)) {
    stream_deadline_us_ = g_get_monotonic_time ()
        + static_cast<gint64> (limits::STREAM_DEADLINE_FACTOR * timeout / GST_USECOND);
  }
  attempt_cancellable_.reset (g_cancellable_new ());
  start_timeout ();
  soup_session_send_async (worker_.session (), message_.get (), G_PRIORITY_DEFAULT,
      attempt_cancellable_.get (), on_sent, this);
}

void
Call::on_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  auto self = static_cast<Call *> (user_data);
  GError *raw_error = nullptr;
  GInputStream *stream = soup_session_send_finish (SOUP_SESSION (source), res, &raw_error);
  GPtr<GError> error (raw_error);

  if (!stream) {
    self->io_failed (error.get ());
    return;
  }

  self->stream_.reset (stream);
  self->status_ = soup_message_get_status (self->message_.get ());
  GST_DEBUG ("%s %s -> %u", self->spec_.method, self->spec_.url.c_str (), self->status_);
  self->read_next ();
}

void
Call::read_next ()
{
  g_input_stream_read_bytes_async (stream_.get (), READ_SIZE, G_PRIORITY_DEFAULT,
      attempt_cancellable_.get (), on_read, this);
}

void
Call::on_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  auto self = static_cast<Call *> (user_data);
  GError *raw_error = nullptr;
  GPtr<GBytes> bytes (g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &raw_error));
  GPtr<GError> error (raw_error);

  if (!bytes) {
    self->io_failed (error.get ());
    return;
  }

  gsize size = 0;
  auto data = static_cast<const char *> (g_bytes_get_data (bytes.get (), &size));
  if (size == 0) {
    g_input_stream_close (self->stream_.get (), nullptr, nullptr);
    self->stream_.reset ();
    self->attempt_finished ();
    return;
  }

  const bool success = SOUP_STATUS_IS_SUCCESSFUL (self->status_);
  self->received_ += size;
  if (success && self->received_ > self->spec_.max_body) {
    self->abandon_stream ();
    self->failed (protocol_error ("the answer is larger than "
            + std::to_string (self->spec_.max_body / 1024) + " KiB; abandoned"), false);
    return;
  }
  if (!success && self->received_ > limits::ERROR_BODY) {
    /* What came of an error body is enough to report it, with its status. */
    self->body_.append (data, size - std::min (size, self->received_ - limits::ERROR_BODY));
    self->abandon_stream ();
    self->attempt_finished ();
    return;
  }

  if (self->on_data_ && success) {
    if (g_get_monotonic_time () > self->stream_deadline_us_) {
      self->abandon_stream ();
      self->failed (Error::make (Error::Kind::Timeout, "the stream did not end within "
              + format_seconds (limits::STREAM_DEADLINE_FACTOR * self->attempt_timeout ())
              + " s"), false);
      return;
    }
    self->stream_started_ = true;
    /* For a stream the timeout bounds the silence between events. */
    self->start_timeout ();
    if (std::optional<Error> err = self->on_data_ (std::string_view (data, size))) {
      self->abandon_stream ();
      self->failed (std::move (*err), false);
      return;
    }
  } else {
    self->body_.append (data, size);
  }
  self->read_next ();
}

void
Call::abandon_stream ()
{
  clear_source (timeout_source_);
  if (!stream_)
    return;
  /* Closing reads the rest of the body unless the close is cancelled. */
  g_cancellable_cancel (attempt_cancellable_.get ());
  g_input_stream_close (stream_.get (), attempt_cancellable_.get (), nullptr);
  stream_.reset ();
}

void
Call::attempt_finished ()
{
  clear_source (timeout_source_);

  if (SOUP_STATUS_IS_SUCCESSFUL (status_)) {
    HttpReply reply;
    reply.status = status_;
    reply.message = std::move (message_);
    reply.body = std::move (body_);
    finish (std::move (reply));
    return;
  }

  if (SOUP_STATUS_IS_REDIRECTION (status_)) {
    failed (redirect_error (), false);
    return;
  }

  Error e = parse_error_body (status_, body_);
  e.model_call = spec_.model_call;
  failed (std::move (e), true);
}

Error
Call::redirect_error () const
{
  const char *location = soup_message_headers_get_one (
      soup_message_get_response_headers (message_.get ()), "Location");
  GPtr<GUri> target (location ? g_uri_parse_relative (soup_message_get_uri (message_.get ()),
          location, G_URI_FLAGS_ENCODED, nullptr) : nullptr);
  Error e;
  e.kind = Error::Kind::Http;
  e.http_status = status_;
  e.redirect = true;
  e.message = "the endpoint redirects to " + (target ? origin_of (target.get ())
      : std::string ("an unreadable location"))
      + "; redirects are never followed (the API key stays with the endpoint's origin)";
  return e;
}

void
Call::io_failed (const GError *error)
{
  abandon_stream ();

  const bool user_cancelled =
      user_cancellable_ && g_cancellable_is_cancelled (user_cancellable_.get ());
  if (cancelled_ || user_cancelled) {
    finish (cancelled_error ());
    return;
  }

  if (timed_out_) {
    failed (Error::make (Error::Kind::Timeout, "no answer within "
            + format_seconds (attempt_timeout ()) + " s"), true);
    return;
  }

  failed (Error::make (Error::Kind::Transport, error ? error->message : "I/O error"), true);
}

void
Call::failed (Error e, bool may_retry)
{
  worker_.redact (e);
  attempt_cancellable_.reset ();
  message_.reset ();

  const RetryPolicy &policy = worker_.config ().retry;
  if (!may_retry || !spec_.retry || !e.retryable () || stream_started_
      || attempt_ >= policy.max_attempts || waits_too_long (e)) {
    GST_INFO ("%s %s failed: %s", spec_.method, spec_.url.c_str (), e.describe ().c_str ());
    finish (std::move (e));
    return;
  }

  GstClockTime delay = worker_.backoff (attempt_ - 1);
  if (e.retry_delay && *e.retry_delay > delay)
    delay = *e.retry_delay;
  GST_INFO ("%s %s failed: %s; attempt %u/%u in %s s", spec_.method, spec_.url.c_str (),
      e.describe ().c_str (), attempt_ + 1, policy.max_attempts, format_seconds (delay).c_str ());
  sleep (delay);
}

void
Call::finish (Result<HttpReply> result)
{
  clear_source (cancel_source_);
  clear_source (timeout_source_);
  clear_source (sleep_source_);

  const bool user_cancelled =
      user_cancellable_ && g_cancellable_is_cancelled (user_cancellable_.get ());
  if (result.ok () && (cancelled_ || user_cancelled))
    result = Result<HttpReply> (cancelled_error ());

  DoneFn done = std::move (done_);
  Worker &worker = worker_;
  worker.forget (this);
  done (std::move (result));
  worker.maybe_quit ();
}

GPtr<GBytes>
json_bytes (JsonNode *root)
{
  GPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), root);
  gsize len = 0;
  gchar *data = json_generator_to_data (gen.get (), &len);
  return GPtr<GBytes> (g_bytes_new_take (data, len));
}

GPtr<GBytes>
request_body (const GenerateRequest &req)
{
  GPtr<JsonNode> root = request_to_json (req);
  return json_bytes (root.get ());
}

Result<Unit>
no_body (std::string_view)
{
  return Unit{};
}

/* A JSON call whose answer `parse` turns into the caller's type. */
template <typename T, typename Parse>
void
start_json_call (Worker &worker, CallSpec spec, GCancellable *cancellable,
    std::function<void (Result<T>)> done, Parse parse)
{
  worker.post ([&worker, spec = std::move (spec), c = ref_ptr (cancellable),
                   done = std::move (done), parse] () mutable {
    worker.start_call (std::move (spec), c.get (),
        [done = std::move (done), parse] (Result<HttpReply> reply) {
          if (!reply.ok ()) {
            done (reply.error ());
            return;
          }
          done (parse (reply->body));
        });
  });
}

/* A resumable upload: start, chunks, finalize. The bytes may arrive while
 * it runs (UploadStream): a chunk goes out as soon as a whole one is there,
 * the rest with "upload, finalize" once the writer says it has finished.
 * Touched on the client thread only; shared by the Calls of the chain. */
struct Upload {
  Worker &worker;
  std::string mime_type;
  std::string display_name;
  GPtr<GCancellable> cancellable;
  Client::FileCallback done;
  std::optional<gsize> declared_size;       /* sent at start when known */

  std::string upload_url;
  gsize chunk_size = DEFAULT_GRANULARITY;
  gsize offset = 0;                         /* bytes the service acknowledged */
  /* The bytes from `offset` on: the chunk in flight (taken out of
   * `pending`, so a streamed upload holds each byte once), then the rest. */
  GPtr<GBytes> chunk;
  std::string pending;
  bool finished = false;                    /* the writer has written everything */
  bool in_flight = false;
  bool completed = false;                   /* `done` was called */
  bool deferred = false;                    /* start waits for the total size */
  guint status_tries = 0;
  guint failures = 0;                       /* since the last acknowledged chunk */
};

void send_chunk (std::shared_ptr<Upload> up, GstClockTime delay);
void query_upload (std::shared_ptr<Upload> up, GstClockTime delay);
void start_upload (std::shared_ptr<Upload> up);

void
complete_upload (const std::shared_ptr<Upload> &up, Result<FileInfo> result)
{
  if (up->completed)
    return;
  up->completed = true;
  up->in_flight = false;
  up->chunk.reset ();
  up->pending.clear ();
  up->done (std::move (result));
}

/* Sends what can be sent: whole chunks while more may come, the rest as
 * the final chunk once the writer finished. */
void
pump_upload (std::shared_ptr<Upload> up)
{
  if (up->completed || up->in_flight || up->upload_url.empty ())
    return;
  if (up->pending.size () > up->chunk_size
      || (up->pending.size () == up->chunk_size && !up->finished)
      || up->finished)
    send_chunk (std::move (up), 0);
}

/* The session URL is used only at the endpoint's own origin: the key and
 * the media go nowhere else. Behind a base-URL override (a proxy, the
 * emulator) the service may name its public host, which is mapped to the
 * endpoint; any other origin is refused before a byte is sent. */
Result<std::string>
session_url (const ClientConfig &config, const char *url)
{
  GPtr<GUri> session (g_uri_parse (url, G_URI_FLAGS_ENCODED, nullptr));
  GPtr<GUri> base (g_uri_parse (config.endpoint.c_str (), G_URI_FLAGS_ENCODED, nullptr));
  GPtr<GUri> public_api (g_uri_parse (DEFAULT_API_ENDPOINT, G_URI_FLAGS_ENCODED, nullptr));
  if (!session || !base)
    return protocol_error ("the upload session URL is not a URL; not used");
  if (same_origin (session.get (), base.get ()))
    return std::string (url);
  if (!same_origin (session.get (), public_api.get ())) {
    return protocol_error ("the upload session URL names " + origin_of (session.get ())
        + ", not the endpoint " + origin_of (base.get ())
        + "; not used (neither the key nor the media is sent there)");
  }

  GPtr<GUri> merged (g_uri_build (G_URI_FLAGS_ENCODED, g_uri_get_scheme (base.get ()),
          g_uri_get_userinfo (base.get ()), g_uri_get_host (base.get ()),
          g_uri_get_port (base.get ()), g_uri_get_path (session.get ()),
          g_uri_get_query (session.get ()), nullptr));
  GPtr<gchar> str (g_uri_to_string (merged.get ()));
  return std::string (str.get ());
}

void
upload_started (std::shared_ptr<Upload> up, Result<HttpReply> reply)
{
  up->in_flight = false;
  if (!reply.ok ()) {
    /* Whether the service opens a session before it knows the size is not
     * documented (the SDKs always send it); whatever 4xx it refuses with,
     * the start is repeated with the size once the writer has finished (the
     * bytes wait in memory until then). Not for a refusal of the key. */
    const Error &e = reply.error ();
    if (!up->declared_size && e.kind == Error::Kind::Http && e.http_status >= 400
        && e.http_status < 500 && !e.fatal ()) {
      GST_INFO ("upload session refused without a size (%s); starting it at the end",
          reply.error ().describe ().c_str ());
      up->deferred = true;
      if (up->finished)
        start_upload (std::move (up));
      return;
    }
    complete_upload (up, reply.error ());
    return;
  }

  const char *url = reply->header ("X-Goog-Upload-URL");
  if (!url || !*url) {
    complete_upload (up, protocol_error ("upload start answer carries no X-Goog-Upload-URL"));
    return;
  }
  Result<std::string> session = session_url (up->worker.config (), url);
  if (!session.ok ()) {
    complete_upload (up, session.error ());
    return;
  }
  up->upload_url = std::move (session.value ());

  gsize granularity = DEFAULT_GRANULARITY;
  if (const char *g = reply->header ("X-Goog-Upload-Chunk-Granularity")) {
    const guint64 parsed = g_ascii_strtoull (g, nullptr, 10);
    if (parsed > 0)
      granularity = parsed;
  }
  /* Non-final chunks must be whole multiples of the granularity. */
  const gsize wanted = up->worker.config ().upload_chunk_size;
  up->chunk_size = std::max (granularity, wanted / granularity * granularity);

  GST_DEBUG ("upload session open, chunks of %" G_GSIZE_FORMAT " bytes, %s",
      up->chunk_size, up->declared_size ? "size known" : "size to come");
  pump_upload (std::move (up));
}

/* A chunk lost to the network or refused for a passing reason may have
 * reached the service in part, so the session is asked what it holds
 * instead of resending blindly. Within the retry policy; false when spent. */
bool
resume_upload (std::shared_ptr<Upload> &up, const Error &e)
{
  const RetryPolicy &policy = up->worker.config ().retry;
  if (!e.retryable () || waits_too_long (e) || ++up->failures >= policy.max_attempts)
    return false;

  GstClockTime delay = up->worker.backoff (up->failures - 1);
  if (e.retry_delay && *e.retry_delay > delay)
    delay = *e.retry_delay;
  GST_INFO ("upload at %" G_GSIZE_FORMAT " failed: %s; querying the session (attempt %u/%u) in %s s",
      up->offset, e.describe ().c_str (), up->failures + 1, policy.max_attempts,
      format_seconds (delay).c_str ());
  query_upload (std::move (up), delay);
  return true;
}

void
query_answered (std::shared_ptr<Upload> up, Result<HttpReply> reply)
{
  up->in_flight = false;
  if (!reply.ok ()) {
    if (!resume_upload (up, reply.error ()))
      complete_upload (up, reply.error ());
    return;
  }

  const char *status = reply->header ("X-Goog-Upload-Status");
  if (!status) {
    complete_upload (up, protocol_error ("upload query answer carries no X-Goog-Upload-Status"));
    return;
  }
  if (g_ascii_strcasecmp (status, "final") == 0) {
    complete_upload (up, parse_file (reply->body));
    return;
  }
  if (g_ascii_strcasecmp (status, "active") != 0) {
    complete_upload (up, protocol_error (
            std::string ("upload query answered X-Goog-Upload-Status ") + status));
    return;
  }

  /* Only the unacknowledged bytes are still here to resend; the chunk is
   * cut again from what the service holds. */
  if (up->chunk) {
    gsize size = 0;
    auto data = static_cast<const char *> (g_bytes_get_data (up->chunk.get (), &size));
    up->pending.insert (0, data, size);
    up->chunk.reset ();
  }
  const gsize held = up->offset + up->pending.size ();
  const char *received = reply->header ("X-Goog-Upload-Size-Received");
  guint64 n = 0;
  if (!received || !g_ascii_string_to_unsigned (received, 10, up->offset, held, &n, nullptr)) {
    complete_upload (up, protocol_error (
            std::string ("upload query answered X-Goog-Upload-Size-Received ")
            + (received ? received : "(none)") + " with " + std::to_string (up->offset)
            + " to " + std::to_string (held) + " bytes possible"));
    return;
  }

  /* Chunks are cut from the new offset, so the non-final ones keep their
   * granular size; with everything received an empty finalize closes it. */
  GST_INFO ("upload session holds %" G_GUINT64_FORMAT " bytes, resuming", n);
  up->pending.erase (0, n - up->offset);
  up->offset = n;
  pump_upload (std::move (up));
}

void
query_upload (std::shared_ptr<Upload> up, GstClockTime delay)
{
  CallSpec spec;
  spec.method = "POST";
  spec.url = up->upload_url;
  spec.headers = {{"X-Goog-Upload-Command", "query"}};
  spec.retry = false;
  spec.initial_delay = delay;

  up->in_flight = true;
  Worker &worker = up->worker;
  GCancellable *cancellable = up->cancellable.get ();
  worker.start_call (std::move (spec), cancellable,
      [up = std::move (up)] (Result<HttpReply> reply) mutable {
        query_answered (std::move (up), std::move (reply));
      });
}

void
chunk_answered (std::shared_ptr<Upload> up, gsize length, bool last, Result<HttpReply> reply)
{
  up->in_flight = false;
  if (!reply.ok ()) {
    if (!resume_upload (up, reply.error ()))
      complete_upload (up, reply.error ());
    return;
  }

  const char *status = reply->header ("X-Goog-Upload-Status");
  if (!status) {
    if (++up->status_tries >= CHUNK_STATUS_TRIES) {
      complete_upload (up, protocol_error ("upload chunk answer carries no X-Goog-Upload-Status"));
      return;
    }
    const GstClockTime delay = up->worker.backoff (up->status_tries - 1);
    GST_INFO ("upload chunk at %" G_GSIZE_FORMAT " not acknowledged, resending", up->offset);
    send_chunk (std::move (up), delay);
    return;
  }
  up->status_tries = 0;

  if (g_ascii_strcasecmp (status, "final") == 0) {
    if (!last) {
      complete_upload (up, protocol_error ("upload finalized before the last chunk"));
      return;
    }
    complete_upload (up, parse_file (reply->body));
    return;
  }

  if (g_ascii_strcasecmp (status, "active") == 0 && !last) {
    up->chunk.reset ();
    up->offset += length;
    up->failures = 0;
    pump_upload (std::move (up));
    return;
  }

  complete_upload (up, protocol_error (std::string ("upload ended with X-Goog-Upload-Status ")
          + status));
}

void
send_chunk (std::shared_ptr<Upload> up, GstClockTime delay)
{
  if (!up->chunk) {
    const gsize length = std::min (up->chunk_size, up->pending.size ());
    up->chunk.reset (g_bytes_new (up->pending.data (), length));
    up->pending.erase (0, length);
    /* A streamed upload's buffer peaks at about a chunk: give that back
     * rather than keep it for the rest of the input. */
    if (up->pending.capacity () > 2 * up->pending.size () + up->chunk_size / 4)
      up->pending.shrink_to_fit ();
  }
  const gsize length = g_bytes_get_size (up->chunk.get ());
  const bool last = up->finished && up->pending.empty ();

  CallSpec spec;
  spec.method = "POST";
  spec.url = up->upload_url;
  spec.body.reset (g_bytes_ref (up->chunk.get ()));
  spec.headers = {
    {"X-Goog-Upload-Command", last ? "upload, finalize" : "upload"},
    {"X-Goog-Upload-Offset", std::to_string (up->offset)},
  };
  spec.retry = false;
  spec.upload_payload = true;
  spec.initial_delay = delay;

  up->in_flight = true;
  Worker &worker = up->worker;
  GCancellable *cancellable = up->cancellable.get ();
  worker.start_call (std::move (spec), cancellable,
      [up = std::move (up), length, last] (Result<HttpReply> reply) mutable {
        chunk_answered (std::move (up), length, last, std::move (reply));
      });
}

/* The start request: the File's metadata, and the size when it is known. */
void
start_upload (std::shared_ptr<Upload> up)
{
  const ClientConfig &config = up->worker.config ();
  if (up->deferred)
    up->declared_size = up->pending.size ();

  GPtr<JsonBuilder> b (json_builder_new ());
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "file");
  json_builder_begin_object (b.get ());
  if (!up->display_name.empty ()) {
    json_builder_set_member_name (b.get (), "displayName");
    json_builder_add_string_value (b.get (), up->display_name.c_str ());
  }
  json_builder_set_member_name (b.get (), "mimeType");
  json_builder_add_string_value (b.get (), up->mime_type.c_str ());
  json_builder_end_object (b.get ());
  json_builder_end_object (b.get ());
  GPtr<JsonNode> root (json_builder_get_root (b.get ()));

  CallSpec spec;
  spec.method = "POST";
  spec.url = config.endpoint + "/upload/" + config.api_version + "/files";
  spec.body = json_bytes (root.get ());
  spec.content_type = "application/json";
  spec.headers = {
    {"X-Goog-Upload-Protocol", "resumable"},
    {"X-Goog-Upload-Command", "start"},
    {"X-Goog-Upload-Header-Content-Type", up->mime_type},
  };
  if (up->declared_size)
    spec.headers.emplace_back ("X-Goog-Upload-Header-Content-Length",
        std::to_string (*up->declared_size));

  up->in_flight = true;
  Worker &worker = up->worker;
  GCancellable *c = up->cancellable.get ();
  worker.start_call (std::move (spec), c, [up = std::move (up)] (Result<HttpReply> reply) mutable {
    upload_started (std::move (up), std::move (reply));
  });
}

using SharedCancellable = std::shared_ptr<GCancellable>;

SharedCancellable
share_ref (GCancellable *c)
{
  if (!c)
    return nullptr;
  return SharedCancellable (G_CANCELLABLE (g_object_ref (c)), g_object_unref);
}

/* Polls files/{id} until it leaves PROCESSING, for file_processing_timeout
 * from the first poll (`deadline_us`, monotonic; 0: from now). */
void
poll_file (Worker &worker, std::string url, SharedCancellable cancellable,
    Client::FileCallback done, GstClockTime delay, gint64 deadline_us = 0)
{
  if (deadline_us == 0) {
    deadline_us = g_get_monotonic_time ()
        + static_cast<gint64> (worker.config ().file_processing_timeout / GST_USECOND);
  }
  CallSpec spec;
  spec.url = url;
  spec.initial_delay = delay;
  GCancellable *c = cancellable.get ();

  worker.start_call (std::move (spec), c,
      [&worker, url = std::move (url), cancellable = std::move (cancellable),
          done = std::move (done), deadline_us] (Result<HttpReply> reply) mutable {
        if (!reply.ok ()) {
          done (reply.error ());
          return;
        }
        Result<FileInfo> file = parse_file (reply->body);
        if (!file.ok ()) {
          done (std::move (file));
          return;
        }
        if (file->state == "ACTIVE") {
          done (std::move (file));
          return;
        }
        if (file->state == "FAILED") {
          Error e = file->error.value_or (
              Error::make (Error::Kind::FileFailed, "the service could not process the file"));
          e.kind = Error::Kind::FileFailed;
          worker.redact (e);
          done (std::move (e));
          return;
        }
        GST_LOG ("%s is %s", file->name.c_str (), file->state.c_str ());
        if (g_get_monotonic_time () >= deadline_us) {
          done (Error::make (Error::Kind::Timeout, "the uploaded file is still "
                  + file->state + " after "
                  + format_seconds (worker.config ().file_processing_timeout)
                  + " s; given up"));
          return;
        }
        poll_file (worker, std::move (url), std::move (cancellable), std::move (done),
            worker.config ().file_poll_interval, deadline_us);
      });
}

template <typename T, typename Start>
Result<T>
run_sync (const Worker &worker, Start start)
{
  if (worker.on_worker_thread ()) {
    GST_ERROR ("a *_sync call was made on the client thread; it would deadlock");
    return protocol_error ("synchronous call made on the client thread");
  }
  std::promise<Result<T>> promise;
  std::future<Result<T>> future = promise.get_future ();
  start ([&promise] (Result<T> r) { promise.set_value (std::move (r)); });
  return future.get ();
}

}  // namespace

bool
vertex_from_environment ()
{
  GPtr<gchar> v (g_ascii_strdown (env_string ("GOOGLE_GENAI_USE_VERTEXAI").c_str (), -1));
  return g_str_equal (v.get (), "true") || g_str_equal (v.get (), "1");
}

void
ClientConfig::resolve_from_environment ()
{
  ensure_debug_category ();

  const bool wants_key = backend == Backend::Developer || access_token.empty ();
  if (api_key.empty () && wants_key) {
    std::string google = env_string ("GOOGLE_API_KEY");
    std::string gemini = env_string ("GEMINI_API_KEY");
    if (!google.empty () && !gemini.empty ())
      GST_WARNING ("both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY");
    api_key = !google.empty () ? std::move (google) : std::move (gemini);
  }

  if (api_version.empty ())
    api_version = backend == Backend::Vertex ? "v1" : "v1beta";
  if (backend == Backend::Vertex && project.empty ())
    project = env_string ("GOOGLE_CLOUD_PROJECT");
  if (backend == Backend::Vertex && location.empty ())
    location = env_string ("GOOGLE_CLOUD_LOCATION");
  if (location.empty ())
    location = "global";

  if (endpoint.empty ()) {
    if (backend == Backend::Developer) {
      endpoint = env_string ("GOOGLE_GEMINI_BASE_URL");
      if (endpoint.empty ())
        endpoint = DEFAULT_API_ENDPOINT;
    } else {
      endpoint = env_string ("GOOGLE_VERTEX_BASE_URL");
      if (endpoint.empty ()) {
        const bool express = project.empty () && !api_key.empty ();
        if (express || location.empty () || location == "global")
          endpoint = "https://aiplatform.googleapis.com";
        else if (location == "us" || location == "eu")
          endpoint = "https://aiplatform." + location + ".rep.googleapis.com";
        else
          endpoint = "https://" + location + "-aiplatform.googleapis.com";
      }
    }
  }
  endpoint = strip_trailing_slashes (std::move (endpoint));
}

bool
ClientConfig::has_credentials () const
{
  if (backend == Backend::Vertex)
    return !access_token.empty () || !api_key.empty ();
  return !api_key.empty ();
}

/* The Files API exists only on the Developer API: on Vertex every call
 * fails at once, through the callback like any other error. */
template <typename Callback>
bool
reject_files_api_on_vertex (const ClientConfig &config, Worker &worker, Callback &done)
{
  if (config.backend != Backend::Vertex)
    return false;
  worker.post ([done = std::move (done)] {
    done (protocol_error ("the Files API exists only on the Gemini Developer API"));
  });
  return true;
}

std::string
file_url (const ClientConfig &config, std::string_view name)
{
  return config.endpoint + "/" + config.api_version + "/" + normalize_file_name (name);
}

struct Client::Impl {
  explicit Impl (const ClientConfig &config) : worker (config) {}
  Worker worker;
};

Client::Client (ClientConfig config) : config_ (std::move (config))
{
  ensure_debug_category ();
  config_.resolve_from_environment ();
  impl_ = std::make_unique<Impl> (config_);
  GST_DEBUG ("client for %s (%s API %s)", config_.endpoint.c_str (),
      config_.backend == Backend::Vertex ? "Vertex AI" : "Developer",
      config_.api_version.c_str ());
}

Client::~Client () = default;

ClientStats
Client::stats () const
{
  return impl_->worker.stats ();
}

void
Client::redact (Error &e) const
{
  impl_->worker.redact (e);
}

std::string
Client::without_secrets (std::string text) const
{
  impl_->worker.redact (text);
  return text;
}

std::string
Client::model_url (std::string_view model, std::string_view method) const
{
  std::string m (model);
  std::string url = config_.endpoint + "/" + config_.api_version + "/";

  if (config_.backend == Backend::Vertex) {
    if (g_str_has_prefix (m.c_str (), "models/"))
      m.erase (0, strlen ("models/"));
    if (m.find ('/') == std::string::npos)
      m = "publishers/google/models/" + m;
    if (!config_.project.empty () && !g_str_has_prefix (m.c_str (), "projects/"))
      url += "projects/" + config_.project + "/locations/" + config_.location + "/";
  } else if (m.find ('/') == std::string::npos) {
    m = "models/" + m;
  }

  url += m;
  url += ':';
  url += method;
  return url;
}

void
Client::generate_content (std::string_view model, const GenerateRequest &req,
    GCancellable *cancellable, GenerateCallback done)
{
  CallSpec spec;
  spec.method = "POST";
  spec.url = model_url (model, "generateContent");
  spec.body = request_body (req);
  spec.content_type = "application/json";
  spec.model_call = true;
  spec.timeout = req.attempt_timeout;
  spec.max_body = limits::ANSWER_BODY;

  Worker &worker = impl_->worker;
  worker.post ([&worker, spec = std::move (spec), c = ref_ptr (cancellable),
                   done = std::move (done)] () mutable {
    worker.start_call (std::move (spec), c.get (),
        [&worker, done = std::move (done)] (Result<HttpReply> reply) {
          if (!reply.ok ()) {
            done (reply.error ());
            return;
          }
          Result<GenerateResponse> parsed = parse_generate_response (reply->body);
          if (!parsed.ok ()) {
            Error e = parsed.error ();
            e.model_call = true;
            worker.redact (e);
            done (std::move (e));
            return;
          }
          worker.redact (parsed->text);
          done (std::move (parsed));
        });
  });
}

namespace {

struct StreamState {
  SseDecoder decoder;
  GenerateResponse merged;
  bool got_event = false;
  std::optional<Error> error;
  Client::ChunkCallback on_chunk;

  void on_event (std::string_view data)
  {
    if (error)
      return;
    Result<GenerateResponse> chunk = parse_generate_response (data);
    if (!chunk.ok ()) {
      error = chunk.error ();
      error->model_call = true;
      return;
    }
    got_event = true;
    merged.merge_chunk (chunk.value ());
    if (on_chunk)
      on_chunk (chunk.value ());
  }
};

}  // namespace

void
Client::stream_generate_content (std::string_view model, const GenerateRequest &req,
    GCancellable *cancellable, ChunkCallback on_chunk, GenerateCallback done)
{
  CallSpec spec;
  spec.method = "POST";
  spec.url = model_url (model, "streamGenerateContent") + "?alt=sse";
  spec.body = request_body (req);
  spec.content_type = "application/json";
  spec.model_call = true;
  spec.timeout = req.attempt_timeout;
  spec.max_body = limits::ANSWER_BODY;

  auto state = std::make_shared<StreamState> ();
  state->on_chunk = std::move (on_chunk);

  Worker &worker = impl_->worker;
  worker.post ([&worker, spec = std::move (spec), c = ref_ptr (cancellable), state,
                   done = std::move (done)] () mutable {
    auto on_data = [state] (std::string_view bytes) -> std::optional<Error> {
      state->decoder.push (bytes, [&] (std::string_view data) { state->on_event (data); });
      return state->error;
    };
    worker.start_call (std::move (spec), c.get (),
        [&worker, state, done = std::move (done)] (Result<HttpReply> reply) {
          if (!reply.ok ()) {
            done (reply.error ());
            return;
          }
          const bool complete =
              state->decoder.finish ([&] (std::string_view data) { state->on_event (data); });
          std::optional<Error> error = state->error;
          if (!error && !complete)
            error = protocol_error ("stream ended in the middle of an event");
          else if (!error && !state->got_event)
            error = protocol_error ("stream ended without any event");
          if (error) {
            worker.redact (*error);
            done (std::move (*error));
            return;
          }
          worker.redact (state->merged.text);
          done (std::move (state->merged));
        },
        std::move (on_data));
  });
}

void
Client::upload_file (GBytes *data, std::string mime_type, std::string display_name,
    GCancellable *cancellable, FileCallback done)
{
  Worker &worker = impl_->worker;

  if (config_.backend == Backend::Vertex || !data) {
    Error e = protocol_error (data ? "the Files API exists only on the Gemini Developer API; "
                                     "Vertex AI reads media from gs:// URIs"
                                   : "no data to upload");
    worker.post ([e = std::move (e), done = std::move (done)] { done (e); });
    return;
  }

  auto up = std::make_shared<Upload> (Upload{worker, std::move (mime_type),
      std::move (display_name), ref_ptr (cancellable), std::move (done),
      g_bytes_get_size (data)});
  gsize size = 0;
  auto bytes = static_cast<const char *> (g_bytes_get_data (data, &size));
  up->pending.assign (bytes, size);
  up->finished = true;
  worker.post ([up = std::move (up)] () mutable { start_upload (std::move (up)); });
}

/* Answers a waiter even when the client is destroyed with the session
 * open and no Call left to end it. */
struct FilePromise {
  std::promise<Result<FileInfo>> promise;
  bool set_ = false;

  void set (Result<FileInfo> r)
  {
    set_ = true;
    promise.set_value (std::move (r));
  }
  ~FilePromise ()
  {
    if (!set_)
      promise.set_value (Error::make (Error::Kind::Cancelled, "the client went away"));
  }
};

struct UploadStream::Impl {
  explicit Impl (Worker &w) : worker (w) {}
  Worker &worker;
  std::shared_ptr<Upload> upload;
  std::future<Result<FileInfo>> result;
};

UploadStream::UploadStream (Key, std::unique_ptr<Impl> impl) : impl_ (std::move (impl)) {}

UploadStream::~UploadStream ()
{
  cancel ();
}

void
UploadStream::write (GBytes *bytes)
{
  gsize size = 0;
  auto data = static_cast<const char *> (g_bytes_get_data (bytes, &size));
  if (size == 0)
    return;
  impl_->worker.post ([up = impl_->upload, chunk = std::string (data, size)] () mutable {
    if (up->completed)
      return;
    up->pending += chunk;
    pump_upload (std::move (up));
  });
}

void
UploadStream::finish ()
{
  impl_->worker.post ([up = impl_->upload] () mutable {
    if (up->completed || up->finished)
      return;
    up->finished = true;
    if (up->deferred && !up->in_flight)
      start_upload (std::move (up));
    else
      pump_upload (std::move (up));
  });
}

void
UploadStream::cancel ()
{
  /* A chunk in flight is cancelled by the cancellable; a session waiting
   * for bytes has no Call to cancel, so it is ended here. */
  impl_->worker.post ([up = impl_->upload] {
    if (!up->in_flight)
      complete_upload (up, Error::make (Error::Kind::Cancelled, "cancelled"));
  });
  g_cancellable_cancel (impl_->upload->cancellable.get ());
}

bool
UploadStream::sized_at_end () const
{
  return impl_->upload && impl_->upload->deferred;
}

Result<FileInfo>
UploadStream::wait ()
{
  if (impl_->worker.on_worker_thread ())
    return protocol_error ("UploadStream::wait called on the client thread");
  return impl_->result.get ();
}

std::unique_ptr<UploadStream>
Client::open_upload (std::string mime_type, std::string display_name)
{
  Worker &worker = impl_->worker;
  auto promise = std::make_shared<FilePromise> ();
  auto impl = std::make_unique<UploadStream::Impl> (worker);
  impl->result = promise->promise.get_future ();
  impl->upload = std::make_shared<Upload> (Upload{worker, std::move (mime_type),
      std::move (display_name), GPtr<GCancellable> (g_cancellable_new ()),
      [promise] (Result<FileInfo> r) { promise->set (std::move (r)); }, std::nullopt});

  if (config_.backend == Backend::Vertex) {
    worker.post ([up = impl->upload] {
      complete_upload (up, protocol_error ("the Files API exists only on the Gemini "
              "Developer API; Vertex AI reads media from gs:// URIs"));
    });
  } else {
    worker.post ([up = impl->upload] () mutable { start_upload (std::move (up)); });
  }
  return std::make_unique<UploadStream> (UploadStream::Key{}, std::move (impl));
}

void
Client::get_file (std::string_view name, GCancellable *cancellable, FileCallback done)
{
  Worker &worker = impl_->worker;
  if (reject_files_api_on_vertex (config_, worker, done))
    return;

  CallSpec spec;
  spec.url = file_url (config_, name);
  start_json_call<FileInfo> (worker, std::move (spec), cancellable, std::move (done),
      parse_file);
}

void
Client::wait_until_active (std::string_view name, GCancellable *cancellable, FileCallback done)
{
  Worker &worker = impl_->worker;
  if (reject_files_api_on_vertex (config_, worker, done))
    return;

  std::string url = file_url (config_, name);
  worker.post ([&worker, url = std::move (url), c = ref_ptr (cancellable),
                   done = std::move (done)] () mutable {
    poll_file (worker, std::move (url), share_ref (c.get ()), std::move (done), 0);
  });
}

void
Client::delete_file (std::string_view name, GCancellable *cancellable, DoneCallback done)
{
  Worker &worker = impl_->worker;
  if (reject_files_api_on_vertex (config_, worker, done))
    return;

  CallSpec spec;
  spec.method = "DELETE";
  spec.url = file_url (config_, name);
  start_json_call<Unit> (worker, std::move (spec), cancellable, std::move (done),
      no_body);
}

/* ---- Batch API ---- */

namespace {

std::string
batch_url (const ClientConfig &config, std::string_view name)
{
  std::string n (name);
  if (!g_str_has_prefix (n.c_str (), "batches/"))
    n = "batches/" + n;
  return config.endpoint + "/" + config.api_version + "/" + n;
}

Result<GPtr<JsonNode>>
parse_json_object (std::string_view body)
{
  GError *raw = nullptr;
  GPtr<JsonNode> root = parse_json_document (body, &raw);
  GPtr<GError> error (raw);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return protocol_error ("the batch answer is not a JSON object");
  return root;
}

Result<GPtr<GBytes>>
body_bytes (std::string_view body)
{
  return GPtr<GBytes> (g_bytes_new (body.data (), body.size ()));
}

/* Batch calls exist on the Developer API only, like the Files API. */
template <typename T, typename Parse>
void
start_batch_call (const ClientConfig &config, Worker &worker, CallSpec spec,
    GCancellable *cancellable, std::function<void (Result<T>)> done, Parse parse)
{
  if (reject_files_api_on_vertex (config, worker, done))
    return;
  start_json_call<T> (worker, std::move (spec), cancellable, std::move (done), parse);
}

}  // namespace

void
Client::create_batch (std::string_view model, GBytes *body, GCancellable *cancellable,
    JsonCallback done)
{
  CallSpec spec;
  spec.method = "POST";
  spec.url = model_url (model, "batchGenerateContent");
  spec.body = ref_ptr (body);
  spec.content_type = "application/json";
  spec.model_call = true;
  start_batch_call<GPtr<JsonNode>> (config_, impl_->worker, std::move (spec), cancellable,
      std::move (done), parse_json_object);
}

void
Client::get_batch (std::string_view name, GCancellable *cancellable, JsonCallback done)
{
  CallSpec spec;
  spec.url = batch_url (config_, name);
  spec.max_body = limits::BATCH_BODY;
  start_batch_call<GPtr<JsonNode>> (config_, impl_->worker, std::move (spec), cancellable,
      std::move (done), parse_json_object);
}

void
Client::list_batches (guint page_size, std::string_view page_token, GCancellable *cancellable,
    JsonCallback done)
{
  CallSpec spec;
  spec.url = config_.endpoint + "/" + config_.api_version + "/batches?pageSize=" +
      std::to_string (page_size);
  if (!page_token.empty ()) {
    GPtr<gchar> escaped (g_uri_escape_string (std::string (page_token).c_str (), nullptr, TRUE));
    spec.url += std::string ("&pageToken=") + escaped.get ();
  }
  start_batch_call<GPtr<JsonNode>> (config_, impl_->worker, std::move (spec), cancellable,
      std::move (done), parse_json_object);
}

void
Client::cancel_batch (std::string_view name, GCancellable *cancellable, DoneCallback done)
{
  CallSpec spec;
  spec.method = "POST";
  spec.url = batch_url (config_, name) + ":cancel";
  spec.body.reset (g_bytes_new_static ("{}", 2));
  spec.content_type = "application/json";
  start_batch_call<Unit> (config_, impl_->worker, std::move (spec), cancellable,
      std::move (done), no_body);
}

void
Client::delete_batch (std::string_view name, GCancellable *cancellable, DoneCallback done)
{
  CallSpec spec;
  spec.method = "DELETE";
  spec.url = batch_url (config_, name);
  start_batch_call<Unit> (config_, impl_->worker, std::move (spec), cancellable,
      std::move (done), no_body);
}

void
Client::download_file (std::string_view name, GCancellable *cancellable, BytesCallback done)
{
  CallSpec spec;
  spec.url = file_url (config_, name) + ":download?alt=media";
  spec.max_body = limits::BATCH_BODY;
  start_batch_call<GPtr<GBytes>> (config_, impl_->worker, std::move (spec), cancellable,
      std::move (done), body_bytes);
}

Result<GPtr<JsonNode>>
Client::create_batch_sync (std::string_view model, GBytes *body, GCancellable *cancellable)
{
  return run_sync<GPtr<JsonNode>> (impl_->worker, [&] (JsonCallback done) {
    create_batch (model, body, cancellable, std::move (done));
  });
}

Result<GPtr<JsonNode>>
Client::get_batch_sync (std::string_view name, GCancellable *cancellable)
{
  return run_sync<GPtr<JsonNode>> (impl_->worker, [&] (JsonCallback done) {
    get_batch (name, cancellable, std::move (done));
  });
}

Result<GPtr<JsonNode>>
Client::list_batches_sync (guint page_size, std::string_view page_token,
    GCancellable *cancellable)
{
  return run_sync<GPtr<JsonNode>> (impl_->worker, [&] (JsonCallback done) {
    list_batches (page_size, page_token, cancellable, std::move (done));
  });
}

Result<Unit>
Client::cancel_batch_sync (std::string_view name, GCancellable *cancellable)
{
  return run_sync<Unit> (impl_->worker, [&] (DoneCallback done) {
    cancel_batch (name, cancellable, std::move (done));
  });
}

Result<Unit>
Client::delete_batch_sync (std::string_view name, GCancellable *cancellable)
{
  return run_sync<Unit> (impl_->worker, [&] (DoneCallback done) {
    delete_batch (name, cancellable, std::move (done));
  });
}

Result<GPtr<GBytes>>
Client::download_file_sync (std::string_view name, GCancellable *cancellable)
{
  return run_sync<GPtr<GBytes>> (impl_->worker, [&] (BytesCallback done) {
    download_file (name, cancellable, std::move (done));
  });
}

Result<GenerateResponse>
Client::generate_content_sync (std::string_view model, const GenerateRequest &req,
    GCancellable *cancellable)
{
  return run_sync<GenerateResponse> (impl_->worker, [&] (GenerateCallback done) {
    generate_content (model, req, cancellable, std::move (done));
  });
}

Result<GenerateResponse>
Client::stream_generate_content_sync (std::string_view model, const GenerateRequest &req,
    GCancellable *cancellable, ChunkCallback on_chunk)
{
  return run_sync<GenerateResponse> (impl_->worker, [&] (GenerateCallback done) {
    stream_generate_content (model, req, cancellable, std::move (on_chunk), std::move (done));
  });
}

Result<FileInfo>
Client::upload_file_sync (GBytes *data, std::string mime_type, std::string display_name,
    GCancellable *cancellable)
{
  return run_sync<FileInfo> (impl_->worker, [&] (FileCallback done) {
    upload_file (data, std::move (mime_type), std::move (display_name), cancellable,
        std::move (done));
  });
}

Result<FileInfo>
Client::wait_until_active_sync (std::string_view name, GCancellable *cancellable)
{
  return run_sync<FileInfo> (impl_->worker, [&] (FileCallback done) {
    wait_until_active (name, cancellable, std::move (done));
  });
}

Result<Unit>
Client::delete_file_sync (std::string_view name, GCancellable *cancellable)
{
  return run_sync<Unit> (impl_->worker, [&] (DoneCallback done) {
    delete_file (name, cancellable, std::move (done));
  });
}

namespace {

Result<ModelInfo>
parse_model (std::string_view body)
{
  GError *raw_error = nullptr;
  GPtr<JsonNode> root = parse_json_document (body, &raw_error);
  GPtr<GError> error (raw_error);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return protocol_error ("the model is not a JSON object");
  JsonObject *obj = json_node_get_object (root.get ());
  ModelInfo info;
  info.name = member_string (obj, "name");
  info.input_token_limit = std::max<gint64> (0, member_int (obj, "inputTokenLimit"));
  info.output_token_limit = std::max<gint64> (0, member_int (obj, "outputTokenLimit"));
  return info;
}

}  // namespace

Result<ModelInfo>
Client::get_model_sync (std::string_view model, GCancellable *cancellable)
{
  /* Vertex's publisher models answer with other fields. */
  if (config_.backend == Backend::Vertex)
    return protocol_error ("models.get is read on the Gemini Developer API only");
  CallSpec spec;
  spec.url = model_url (model, "");
  spec.url.pop_back ();               /* the ':' before a method */
  return run_sync<ModelInfo> (impl_->worker, [&] (std::function<void (Result<ModelInfo>)> done) {
    start_json_call<ModelInfo> (impl_->worker, std::move (spec), cancellable, std::move (done),
        parse_model);
  });
}

namespace {

Result<CachedContentInfo>
parse_cached_content (std::string_view body)
{
  GPtr<JsonNode> root = parse_json_document (body, nullptr);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return protocol_error ("the cachedContents answer is not a JSON object");
  JsonObject *obj = json_node_get_object (root.get ());
  CachedContentInfo info;
  info.name = member_string (obj, "name");
  info.expire_time = member_string (obj, "expireTime");
  if (JsonNode *u = json_object_get_member (obj, "usageMetadata"); u && JSON_NODE_HOLDS_OBJECT (u))
    info.total_tokens = member_int (json_node_get_object (u), "totalTokenCount");
  if (!g_str_has_prefix (info.name.c_str (), "cachedContents/"))
    return protocol_error ("the cachedContents answer names no cachedContents/ entry");
  return info;
}

}  // namespace

Result<CachedContentInfo>
Client::create_cached_content_sync (std::string_view model, const GenerateRequest &contents,
    GstClockTime ttl, std::string_view display_name, GCancellable *cancellable)
{
  if (config_.backend == Backend::Vertex)
    return protocol_error ("context caching is only implemented for the Gemini Developer API");

  /* The cache takes the request's user turn as it would be sent. */
  GPtr<JsonNode> request = request_to_json (contents);
  JsonObject *body = json_object_new ();
  std::string m (model);
  if (m.find ('/') == std::string::npos)
    m = "models/" + m;
  json_object_set_string_member (body, "model", m.c_str ());
  json_object_set_member (body, "contents", json_node_copy (
          json_object_get_member (json_node_get_object (request.get ()), "contents")));
  json_object_set_string_member (body, "ttl", duration_to_wire (ttl).c_str ());
  if (!display_name.empty ())
    json_object_set_string_member (body, "displayName", std::string (display_name).c_str ());
  GPtr<JsonNode> root (json_node_init_object (json_node_alloc (), body));
  json_object_unref (body);

  CallSpec spec;
  spec.method = "POST";
  spec.url = config_.endpoint + "/" + config_.api_version + "/cachedContents";
  spec.body = json_bytes (root.get ());
  spec.content_type = "application/json";
  spec.model_call = true;

  Worker &worker = impl_->worker;
  return run_sync<CachedContentInfo> (worker,
      [&] (std::function<void (Result<CachedContentInfo>)> done) {
        start_json_call<CachedContentInfo> (worker, std::move (spec), cancellable,
            std::move (done), parse_cached_content);
      });
}

Result<Unit>
Client::delete_cached_content_sync (std::string_view name, GCancellable *cancellable)
{
  CallSpec spec;
  spec.method = "DELETE";
  spec.url = config_.endpoint + "/" + config_.api_version + "/" + std::string (name);

  Worker &worker = impl_->worker;
  return run_sync<Unit> (worker, [&] (DoneCallback done) {
    start_json_call<Unit> (worker, std::move (spec), cancellable, std::move (done), no_body);
  });
}

}  // namespace gemini
