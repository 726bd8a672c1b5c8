/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client against hostile servers written here with libsoup, apart from
 * the emulator, so that the client is not tested against its own
 * assumptions: redirects, foreign upload URLs, bodies that never end, JSON
 * nested past any stack, streams of keep-alives, absurd retry delays, files
 * that never leave PROCESSING, and error text that is not text. Each server
 * listens on 127.0.0.1 only; a second one stands for another origin and
 * must never see a request. */
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#include <libsoup/soup.h>

#include "bounds.h"
#include "client.h"
#include "glib_ptr.h"

using namespace gemini;

namespace {

constexpr const char *MODEL = "gemini-2.5-flash";
constexpr const char *CANARY = "hostile-canary-KEY-9431";
/* What an endless body sends at the most before it gives up by itself. */
constexpr gsize ENDLESS_CAP = 4 * limits::ANSWER_BODY;
constexpr gsize CHUNK = 64 * 1024;

const char *VALID_ANSWER = R"({"candidates":[{"content":{"role":"model","parts":[{"text":)"
    R"("{\"task1_transcripts\":[],\"task2_speakers\":[]}"}]},"finishReason":"STOP"}]})";

/* A SoupServer on its own thread and main context. The handler runs there
 * and answers the message (it may pause it and answer later). */
class Server {
public:
  using Handler = std::function<void (Server &, SoupServerMessage *, const char *path)>;

  explicit Server (Handler handler) : handler_ (std::move (handler))
  {
    std::promise<std::string> ready;
    std::future<std::string> url = ready.get_future ();
    thread_ = std::thread ([this, &ready] { run (ready); });
    url_ = url.get ();
  }

  ~Server ()
  {
    g_main_context_invoke (context_.get (), [] (gpointer loop) -> gboolean {
          g_main_loop_quit (static_cast<GMainLoop *> (loop));
          return G_SOURCE_REMOVE;
        }, loop_.get ());
    thread_.join ();
  }

  struct Trickle {
    GPtr<SoupServerMessage> msg;
    std::string piece;
    guint left;
    bool gone = false;
  };
  /* Called on the server's thread only. */
  Trickle &keep (Trickle t)
  {
    trickles_.push_back (std::make_unique<Trickle> (std::move (t)));
    return *trickles_.back ();
  }

  const std::string &url () const { return url_; }
  guint requests () const { return requests_; }
  bool saw_key () const { return saw_key_; }
  GMainContext *context () const { return context_.get (); }

private:
  void run (std::promise<std::string> &ready)
  {
    g_main_context_push_thread_default (context_.get ());
    GPtr<SoupServer> server (SOUP_SERVER (g_object_new (SOUP_TYPE_SERVER, nullptr)));
    soup_server_add_handler (server.get (), nullptr, on_request, this, nullptr);
    GError *error = nullptr;
    if (!soup_server_listen_local (server.get (), 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
      g_error ("cannot listen on 127.0.0.1: %s", error->message);
    GSList *uris = soup_server_get_uris (server.get ());
    GPtr<gchar> url (g_uri_to_string (static_cast<GUri *> (uris->data)));
    g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    std::string base (url.get ());
    while (!base.empty () && base.back () == '/')
      base.pop_back ();
    ready.set_value (base);
    g_main_loop_run (loop_.get ());
    soup_server_disconnect (server.get ());
    server.reset ();
    while (g_main_context_iteration (context_.get (), FALSE)) {
    }
    trickles_.clear ();
    g_main_context_pop_thread_default (context_.get ());
  }

  static void on_request (SoupServer *, SoupServerMessage *msg, const char *path,
      GHashTable *, gpointer user_data)
  {
    auto self = static_cast<Server *> (user_data);
    self->requests_++;
    SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
    SoupMessageHeadersIter iter;
    soup_message_headers_iter_init (&iter, h);
    const char *name, *value;
    while (soup_message_headers_iter_next (&iter, &name, &value)) {
      if (strstr (value, CANARY))
        self->saw_key_ = true;
    }
    self->handler_ (*self, msg, path);
  }

  Handler handler_;
  GPtr<GMainContext> context_ {g_main_context_new ()};
  GPtr<GMainLoop> loop_ {g_main_loop_new (context_.get (), FALSE)};
  std::thread thread_;
  std::string url_;
  std::atomic<guint> requests_ {0};
  std::atomic<bool> saw_key_ {false};
  std::vector<std::unique_ptr<Trickle>> trickles_;
};

void
answer (SoupServerMessage *msg, guint status, std::string_view body,
    const char *type = "application/json")
{
  soup_server_message_set_status (msg, status, nullptr);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body.data (), body.size ());
}

/* A chunked body that repeats `piece` until ENDLESS_CAP or the client goes. */
void
answer_endless (SoupServerMessage *msg, guint status, const char *type, std::string piece)
{
  soup_server_message_set_status (msg, status, nullptr);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (h, type, nullptr);
  auto *state = g_new0 (gsize, 1);
  g_object_set_data_full (G_OBJECT (msg), "sent", state, g_free);
  g_object_set_data_full (G_OBJECT (msg), "piece", g_strdup (piece.c_str ()), g_free);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  soup_message_body_append (body, SOUP_MEMORY_COPY, piece.data (), piece.size ());
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (+[] (SoupServerMessage *m, gpointer) {
        auto sent = static_cast<gsize *> (g_object_get_data (G_OBJECT (m), "sent"));
        auto p = static_cast<const char *> (g_object_get_data (G_OBJECT (m), "piece"));
        const gsize len = strlen (p);
        *sent += len;
        SoupMessageBody *b = soup_server_message_get_response_body (m);
        if (*sent >= ENDLESS_CAP)
          soup_message_body_complete (b);
        else
          soup_message_body_append (b, SOUP_MEMORY_COPY, p, len);
      }), nullptr);
}

/* A chunked body that sends `piece` every `period_ms`, `count` times, then
 * ends; the Server owns its state until it stops. */
void
answer_trickle (Server &server, SoupServerMessage *msg, const char *type, std::string piece,
    guint period_ms, guint count)
{
  soup_server_message_set_status (msg, 200, nullptr);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (h, type, nullptr);
  Server::Trickle &tr = server.keep (Server::Trickle {
        GPtr<SoupServerMessage> (SOUP_SERVER_MESSAGE (g_object_ref (msg))),
        std::move (piece), count});
  g_signal_connect (msg, "disconnected", G_CALLBACK (+[] (SoupServerMessage *, gpointer t) {
        static_cast<Server::Trickle *> (t)->gone = true;
      }), &tr);
  soup_server_message_pause (msg);
  GPtr<GSource> timer (g_timeout_source_new (period_ms));
  g_source_set_callback (timer.get (), [] (gpointer t) -> gboolean {
        auto &tr = *static_cast<Server::Trickle *> (t);
        if (tr.gone)
          return G_SOURCE_REMOVE;
        SoupMessageBody *b = soup_server_message_get_response_body (tr.msg.get ());
        soup_message_body_append (b, SOUP_MEMORY_COPY, tr.piece.data (), tr.piece.size ());
        if (--tr.left == 0)
          soup_message_body_complete (b);
        /* A new chunk of a chunked body is sent on unpause. */
        soup_server_message_unpause (tr.msg.get ());
        return tr.left == 0 ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
      }, &tr, nullptr);
  g_source_attach (timer.get (), server.context ());
}

std::string
deep_json (guint levels)
{
  return std::string (levels, '[') + std::string (levels, ']');
}

ClientConfig
config_for (const Server &server)
{
  ClientConfig c;
  c.endpoint = server.url ();
  c.api_key = CANARY;
  c.retry.initial_delay = 10 * GST_MSECOND;
  c.retry.max_delay = 50 * GST_MSECOND;
  c.retry.jitter = 0;
  c.file_poll_interval = 20 * GST_MSECOND;
  c.request_timeout = 10 * GST_SECOND;
  return c;
}

GenerateRequest
small_request ()
{
  GenerateRequest req;
  req.parts.push_back (Part::text ("Transcribe."));
  return req;
}

double
seconds_since (std::chrono::steady_clock::time_point t0)
{
  return std::chrono::duration<double> (std::chrono::steady_clock::now () - t0).count ();
}

long
peak_rss_mb ()
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

Result<GenerateResponse>
generate (ClientConfig config)
{
  Client client (std::move (config));
  return client.generate_content_sync (MODEL, small_request (), nullptr);
}

Result<GenerateResponse>
generate_streamed (ClientConfig config)
{
  Client client (std::move (config));
  return client.stream_generate_content_sync (MODEL, small_request (), nullptr, nullptr);
}

void
report (const char *what, std::chrono::steady_clock::time_point t0, const Error &e)
{
  g_print ("%s: %.2f s, peak RSS %ld MB: %s\n", what, seconds_since (t0), peak_rss_mb (),
      e.describe ().c_str ());
}

/* ---------------------------------------------------------------------- */

void
check_redirect_refused (guint status)
{
  Server foreign ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 200, VALID_ANSWER);
      });
  const std::string location = foreign.url () + "/v1beta/models/x:generateContent";
  Server endpoint ([&, status] (Server &, SoupServerMessage *msg, const char *) {
        soup_server_message_set_redirect (msg, status, location.c_str ());
      });

  Result<GenerateResponse> r = generate (config_for (endpoint));
  g_assert_false (r.ok ());
  g_assert_true (r.error ().redirect);
  g_assert_cmpuint (r.error ().http_status, ==, status);
  g_assert_true (r.error ().fatal ());
  g_assert_false (r.error ().retryable ());
  g_assert_nonnull (strstr (r.error ().message.c_str (), "127.0.0.1"));
  g_assert_cmpuint (endpoint.requests (), ==, 1);   /* not retried */
  g_assert_cmpuint (foreign.requests (), ==, 0);
}

void test_redirect_301 () { check_redirect_refused (301); }
void test_redirect_302 () { check_redirect_refused (302); }
void test_redirect_307 () { check_redirect_refused (307); }

/* A redirect to itself used to be followed and retried: 105 requests. */
void
test_redirect_loop_is_one_request ()
{
  Server endpoint ([&] (Server &, SoupServerMessage *msg, const char *path) {
        soup_server_message_set_redirect (msg, 302, path);
      });
  Result<GenerateResponse> r = generate (config_for (endpoint));
  g_assert_false (r.ok ());
  g_assert_cmpuint (endpoint.requests (), ==, 1);
}

void
test_file_poll_redirect_refused ()
{
  Server foreign ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 200, R"({"name":"files/abc","state":"ACTIVE"})");
      });
  const std::string location = foreign.url () + "/v1beta/files/abc";
  Server endpoint ([&] (Server &, SoupServerMessage *msg, const char *) {
        soup_server_message_set_redirect (msg, 307, location.c_str ());
      });
  Client client (config_for (endpoint));
  Result<FileInfo> r = client.wait_until_active_sync ("files/abc", nullptr);
  g_assert_false (r.ok ());
  g_assert_true (r.error ().redirect);
  g_assert_cmpuint (foreign.requests (), ==, 0);
}

/* The upload session URL names another origin: neither the key nor a
 * byte of media goes there. */
void
test_upload_url_of_another_origin_is_refused ()
{
  Server foreign ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 200, R"({"file":{"name":"files/evil","state":"ACTIVE"}})");
      });
  const std::string session = foreign.url () + "/upload/v1beta/files?upload_id=evil";
  Server endpoint ([&] (Server &, SoupServerMessage *msg, const char *) {
        soup_message_headers_replace (soup_server_message_get_response_headers (msg),
            "X-Goog-Upload-URL", session.c_str ());
        soup_message_headers_replace (soup_server_message_get_response_headers (msg),
            "X-Goog-Upload-Status", "active");
        answer (msg, 200, "{}");
      });
  Client client (config_for (endpoint));
  GPtr<GBytes> media (g_bytes_new_static ("media bytes", 11));
  Result<FileInfo> r = client.upload_file_sync (media.get (), "audio/ogg", "clip", nullptr);
  g_assert_false (r.ok ());
  g_assert_nonnull (strstr (r.error ().message.c_str (), "not used"));
  g_assert_cmpuint (foreign.requests (), ==, 0);
  g_assert_false (foreign.saw_key ());
}

/* json-glib recurses per level: 80,000 levels overflowed the stack. */
void
test_deep_json_answer ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 200, deep_json (80000));
      });
  Result<GenerateResponse> r = generate (config_for (endpoint));
  g_assert_false (r.ok ());
  g_assert_true (r.error ().kind == Error::Kind::Protocol);
}

void
test_deep_json_error_keeps_its_status ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 503, deep_json (80000));
      });
  ClientConfig c = config_for (endpoint);
  c.retry.max_attempts = 2;
  Result<GenerateResponse> r = generate (c);
  g_assert_false (r.ok ());
  g_assert_cmpuint (r.error ().http_status, ==, 503);
}

void
test_deep_json_file_poll ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 200, deep_json (80000));
      });
  Client client (config_for (endpoint));
  Result<FileInfo> r = client.wait_until_active_sync ("files/abc", nullptr);
  g_assert_false (r.ok ());
  g_assert_true (r.error ().kind == Error::Kind::Protocol);
}

void
test_endless_answer_is_cut ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer_endless (msg, 200, "application/json", std::string (CHUNK, ' '));
      });
  const auto t0 = std::chrono::steady_clock::now ();
  Result<GenerateResponse> r = generate (config_for (endpoint));
  g_assert_false (r.ok ());
  report ("endless 200", t0, r.error ());
  g_assert_nonnull (strstr (r.error ().message.c_str (), "larger than"));
  g_assert_cmpuint (endpoint.requests (), ==, 1);
  g_assert_cmpfloat (seconds_since (t0), <, 8.0);
}

void
test_endless_error_body_keeps_its_status ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer_endless (msg, 500, "application/json", std::string (CHUNK, 'x'));
      });
  ClientConfig c = config_for (endpoint);
  c.retry.max_attempts = 3;
  const auto t0 = std::chrono::steady_clock::now ();
  Result<GenerateResponse> r = generate (c);
  g_assert_false (r.ok ());
  report ("endless 500", t0, r.error ());
  g_assert_cmpuint (r.error ().http_status, ==, 500);
  g_assert_cmpuint (endpoint.requests (), ==, 3);
  g_assert_cmpfloat (seconds_since (t0), <, 8.0);
}

/* Decoding used to rescan the whole buffer on every read: quadratic. */
void
test_sse_without_newline_is_cut ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer_endless (msg, 200, "text/event-stream", "data: " + std::string (CHUNK, 'x'));
      });
  const auto t0 = std::chrono::steady_clock::now ();
  Result<GenerateResponse> r = generate_streamed (config_for (endpoint));
  g_assert_false (r.ok ());
  report ("SSE without newline", t0, r.error ());
  g_assert_cmpfloat (seconds_since (t0), <, 8.0);
}

/* Keep-alives restart the silence timeout; the stream's deadline ends it. */
void
test_sse_keepalives_meet_the_deadline ()
{
  Server endpoint ([] (Server &server, SoupServerMessage *msg, const char *) {
        answer_trickle (server, msg, "text/event-stream", ": keep-alive\n\n", 200, 100);
      });
  ClientConfig c = config_for (endpoint);
  c.request_timeout = 1 * GST_SECOND;
  const auto t0 = std::chrono::steady_clock::now ();
  Result<GenerateResponse> r = generate_streamed (c);
  g_assert_false (r.ok ());
  report ("SSE keep-alives", t0, r.error ());
  g_assert_true (r.error ().kind == Error::Kind::Timeout);
  const double took = seconds_since (t0);
  g_assert_cmpfloat (took, >=, 1.9);
  g_assert_cmpfloat (took, <, 4.0);
}

void
check_retry_delay_not_waited (const char *delay)
{
  const std::string body = std::string (R"({"error":{"code":429,"message":"Resource exhausted",)")
      + R"("status":"RESOURCE_EXHAUSTED","details":[{"@type":)"
      + R"("type.googleapis.com/google.rpc.RetryInfo","retryDelay":")" + delay + R"("}]}})";
  Server endpoint ([&] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 429, body);
      });
  const auto t0 = std::chrono::steady_clock::now ();
  Result<GenerateResponse> r = generate (config_for (endpoint));
  g_assert_false (r.ok ());
  report (delay, t0, r.error ());
  g_assert_cmpuint (r.error ().http_status, ==, 429);
  g_assert_true (r.error ().retry_delay.has_value ());
  g_assert_cmpuint (*r.error ().retry_delay, >, limits::RETRY_DELAY);
  g_assert_cmpuint (endpoint.requests (), ==, 1);
  g_assert_cmpfloat (seconds_since (t0), <, 2.0);
}

void test_retry_delay_of_a_day () { check_retry_delay_not_waited ("86400s"); }
/* 18446744074 s times 10^9 wraps round a 64-bit clock time to 0.3 s. */
void test_retry_delay_that_overflows () { check_retry_delay_not_waited ("18446744074s"); }

void
test_file_processing_has_a_deadline ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 200, R"({"name":"files/abc","state":"PROCESSING"})");
      });
  ClientConfig c = config_for (endpoint);
  c.file_processing_timeout = 1 * GST_SECOND;
  Client client (c);
  const auto t0 = std::chrono::steady_clock::now ();
  Result<FileInfo> r = client.wait_until_active_sync ("files/abc", nullptr);
  g_assert_false (r.ok ());
  report ("PROCESSING for ever", t0, r.error ());
  g_assert_true (r.error ().kind == Error::Kind::Timeout);
  g_assert_cmpfloat (seconds_since (t0), <, 3.0);
}

/* Server text reaches logs, messages and terminals: no key, valid UTF-8,
 * no control characters, and the HTTP status whatever the body. */
void
test_error_text_is_cleaned ()
{
  const std::string body = std::string (R"({"error":{"code":400,"message":"API key )") + CANARY
      + " not valid \xff\xfe\xc3\x28 \\u001b[31mRED\\u001b[0m \\u001b]0;pwned\\u0007 title\","
      + R"("status":"INVALID_ARGUMENT"}})";
  Server endpoint ([&] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 400, body);
      });
  Result<GenerateResponse> r = generate (config_for (endpoint));
  g_assert_false (r.ok ());
  const std::string text = r.error ().describe ();
  g_assert_cmpuint (r.error ().http_status, ==, 400);
  g_assert_null (strstr (text.c_str (), CANARY));
  g_assert_true (g_utf8_validate (text.c_str (), text.size (), nullptr));
  for (const char *p = text.c_str (); *p; p = g_utf8_next_char (p)) {
    const gunichar c = g_utf8_get_char (p);
    g_assert_false (g_unichar_iscntrl (c));
  }
}

void
test_invalid_utf8_error_keeps_its_status ()
{
  Server endpoint ([] (Server &, SoupServerMessage *msg, const char *) {
        answer (msg, 503, "overloaded \xff\xfe\xc3\x28\x1b[2J", "text/plain");
      });
  ClientConfig c = config_for (endpoint);
  c.retry.max_attempts = 1;
  Result<GenerateResponse> r = generate (c);
  g_assert_false (r.ok ());
  g_assert_cmpuint (r.error ().http_status, ==, 503);
  const std::string text = r.error ().describe ();
  g_assert_true (g_utf8_validate (text.c_str (), text.size (), nullptr));
  g_assert_nonnull (strstr (text.c_str (), "overloaded"));
  g_assert_null (strchr (text.c_str (), '\x1b'));
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/hostile/redirect-301-not-followed", test_redirect_301);
  g_test_add_func ("/hostile/redirect-302-not-followed", test_redirect_302);
  g_test_add_func ("/hostile/redirect-307-not-followed", test_redirect_307);
  g_test_add_func ("/hostile/redirect-loop-is-one-request", test_redirect_loop_is_one_request);
  g_test_add_func ("/hostile/file-poll-redirect-refused", test_file_poll_redirect_refused);
  g_test_add_func ("/hostile/upload-url-of-another-origin-is-refused",
      test_upload_url_of_another_origin_is_refused);
  g_test_add_func ("/hostile/deep-json-answer", test_deep_json_answer);
  g_test_add_func ("/hostile/deep-json-error-keeps-its-status",
      test_deep_json_error_keeps_its_status);
  g_test_add_func ("/hostile/deep-json-file-poll", test_deep_json_file_poll);
  g_test_add_func ("/hostile/endless-answer-is-cut", test_endless_answer_is_cut);
  g_test_add_func ("/hostile/endless-error-body-keeps-its-status",
      test_endless_error_body_keeps_its_status);
  g_test_add_func ("/hostile/sse-without-newline-is-cut", test_sse_without_newline_is_cut);
  g_test_add_func ("/hostile/sse-keepalives-meet-the-deadline",
      test_sse_keepalives_meet_the_deadline);
  g_test_add_func ("/hostile/retry-delay-of-a-day", test_retry_delay_of_a_day);
  g_test_add_func ("/hostile/retry-delay-that-overflows", test_retry_delay_that_overflows);
  g_test_add_func ("/hostile/file-processing-has-a-deadline",
      test_file_processing_has_a_deadline);
  g_test_add_func ("/hostile/error-text-is-cleaned", test_error_text_is_cleaned);
  g_test_add_func ("/hostile/invalid-utf8-error-keeps-its-status",
      test_invalid_utf8_error_keeps_its_status);
  return g_test_run ();
}
