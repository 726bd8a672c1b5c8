/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client configuration from the environment, URL shapes, and client
 * behaviour that needs no server (transport errors, cancellation during
 * backoff, destruction with calls in flight, key redaction). */
#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "assert_str.h"
#include "client.h"
#include "log_capture.h"

using namespace gemini;

namespace {

constexpr const char *CANARY = "canary-SECRET-123";

/* A port nothing listens on: connections are refused at once. */
constexpr const char *DEAD_ENDPOINT = "http://127.0.0.1:9";

void
clear_env ()
{
  for (const char *name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL",
           "GOOGLE_VERTEX_BASE_URL", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
           "GOOGLE_GENAI_USE_VERTEXAI"})
    g_unsetenv (name);
}

void
test_google_key_wins ()
{
  clear_env ();
  g_setenv ("GOOGLE_API_KEY", "google-key", TRUE);
  g_setenv ("GEMINI_API_KEY", "gemini-key", TRUE);

  test::LogCapture log;
  ClientConfig c;
  c.resolve_from_environment ();
  g_assert_cmpstr (c.api_key.c_str (), ==, "google-key");
  g_assert_true (log.contains ("both GOOGLE_API_KEY and GEMINI_API_KEY are set"));
  g_assert_false (log.contains ("google-key"));
  g_assert_false (log.contains ("gemini-key"));
  clear_env ();
}

void
test_gemini_key_when_google_empty ()
{
  clear_env ();
  g_setenv ("GOOGLE_API_KEY", "", TRUE);
  g_setenv ("GEMINI_API_KEY", " gemini-key \n", TRUE);
  ClientConfig c;
  c.resolve_from_environment ();
  g_assert_cmpstr (c.api_key.c_str (), ==, "gemini-key");
  g_assert_true (c.has_credentials ());

  ClientConfig explicit_key;
  explicit_key.api_key = "configured";
  explicit_key.resolve_from_environment ();
  g_assert_cmpstr (explicit_key.api_key.c_str (), ==, "configured");

  clear_env ();
  ClientConfig none;
  none.resolve_from_environment ();
  g_assert_true (none.api_key.empty ());
  g_assert_false (none.has_credentials ());
}

void
test_endpoint_resolution ()
{
  clear_env ();
  ClientConfig def;
  def.resolve_from_environment ();
  g_assert_cmpstr (def.endpoint.c_str (), ==, DEFAULT_API_ENDPOINT);
  g_assert_cmpstr (def.api_version.c_str (), ==, "v1beta");

  g_setenv ("GOOGLE_GEMINI_BASE_URL", "http://localhost:8080//", TRUE);
  ClientConfig env;
  env.resolve_from_environment ();
  g_assert_cmpstr (env.endpoint.c_str (), ==, "http://localhost:8080");

  ClientConfig configured;
  configured.endpoint = "https://proxy.example/";
  configured.resolve_from_environment ();
  g_assert_cmpstr (configured.endpoint.c_str (), ==, "https://proxy.example");
  clear_env ();
}

void
test_vertex_hosts ()
{
  clear_env ();
  struct { const char *location; const char *host; } cases[] = {
    {"global", "https://aiplatform.googleapis.com"},
    {"us", "https://aiplatform.us.rep.googleapis.com"},
    {"eu", "https://aiplatform.eu.rep.googleapis.com"},
    {"europe-west4", "https://europe-west4-aiplatform.googleapis.com"},
  };
  for (const auto &c : cases) {
    ClientConfig v;
    v.backend = Backend::Vertex;
    v.project = "proj";
    v.location = c.location;
    v.access_token = "token";
    v.resolve_from_environment ();
    g_assert_cmpstr (v.endpoint.c_str (), ==, c.host);
    g_assert_cmpstr (v.api_version.c_str (), ==, "v1");
  }

  g_setenv ("GOOGLE_VERTEX_BASE_URL", "http://127.0.0.1:1234/", TRUE);
  ClientConfig v;
  v.backend = Backend::Vertex;
  v.project = "proj";
  v.location = "us-central1";
  v.access_token = "token";
  v.resolve_from_environment ();
  g_assert_cmpstr (v.endpoint.c_str (), ==, "http://127.0.0.1:1234");

  /* Like the SDKs, the project may come from the environment. */
  g_setenv ("GOOGLE_CLOUD_PROJECT", "env-project", TRUE);
  ClientConfig from_env;
  from_env.backend = Backend::Vertex;
  from_env.access_token = "token";
  from_env.resolve_from_environment ();
  g_assert_cmpstr (from_env.project.c_str (), ==, "env-project");
  clear_env ();
}

/* As python-genai reads them (_api_client.py): the location of a Vertex
 * client that has none, and the backend of a caller that chose none. */
void
test_vertex_from_environment ()
{
  clear_env ();
  g_setenv ("GOOGLE_CLOUD_LOCATION", "europe-west9", TRUE);
  ClientConfig v;
  v.backend = Backend::Vertex;
  v.project = "proj";
  v.access_token = "token";
  v.resolve_from_environment ();
  g_assert_cmpstr (v.location.c_str (), ==, "europe-west9");
  g_assert_cmpstr (v.endpoint.c_str (), ==, "https://europe-west9-aiplatform.googleapis.com");

  ClientConfig chosen;
  chosen.backend = Backend::Vertex;
  chosen.location = "us";
  chosen.resolve_from_environment ();
  g_assert_cmpstr (chosen.location.c_str (), ==, "us");

  g_unsetenv ("GOOGLE_CLOUD_LOCATION");
  ClientConfig fallback;
  fallback.backend = Backend::Vertex;
  fallback.resolve_from_environment ();
  g_assert_cmpstr (fallback.location.c_str (), ==, "global");

  g_assert_false (vertex_from_environment ());
  for (const char *yes : {"true", "TRUE", "True", "1"}) {
    g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", yes, TRUE);
    g_assert_true (vertex_from_environment ());
  }
  for (const char *no : {"false", "0", "yes", "on", ""}) {
    g_setenv ("GOOGLE_GENAI_USE_VERTEXAI", no, TRUE);
    g_assert_false (vertex_from_environment ());
  }
  clear_env ();
}

void
test_model_urls ()
{
  clear_env ();
  ClientConfig dev;
  dev.api_key = "k";
  Client d (dev);
  assert_str_eq (d.model_url ("gemini-2.5-flash", "generateContent"), "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
  assert_str_eq (d.model_url ("models/gemini-2.5-flash", "countTokens"), "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens");

  ClientConfig vc;
  vc.backend = Backend::Vertex;
  vc.project = "my-proj";
  vc.location = "us-central1";
  vc.access_token = "tok";
  Client v (vc);
  assert_str_eq (v.model_url ("gemini-2.5-flash", "generateContent"), "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1"
      "/publishers/google/models/gemini-2.5-flash:generateContent");
}

ClientConfig
dead_config ()
{
  ClientConfig c;
  c.endpoint = DEAD_ENDPOINT;
  c.api_key = CANARY;
  c.retry.max_attempts = 3;
  c.retry.initial_delay = 10 * GST_MSECOND;
  c.retry.jitter = 0;
  return c;
}

GenerateRequest
text_request ()
{
  GenerateRequest req;
  req.parts.push_back (Part::text ("hello"));
  return req;
}

void
test_transport_error_retried_then_reported ()
{
  test::LogCapture log;
  Client client (dead_config ());
  auto r = client.generate_content_sync ("gemini-2.5-flash", text_request (), nullptr);
  g_assert_false (r.ok ());
  g_assert_true (r.error ().kind == Error::Kind::Transport);
  g_assert_cmpuint (client.stats ().requests, ==, 3);
  g_assert_cmpuint (client.stats ().retries, ==, 2);
  g_assert_true (client.stats ().bytes_sent > 0);
  g_assert_true (r.error ().describe ().find (CANARY) == std::string::npos);
  g_assert_true (log.contains ("geminiclient"));
  g_assert_false (log.contains (CANARY));
}

void
test_cancel_during_backoff_is_immediate ()
{
  ClientConfig c = dead_config ();
  c.retry.initial_delay = 30 * GST_SECOND;
  Client client (c);
  GPtr<GCancellable> cancellable (g_cancellable_new ());

  std::thread canceller ([&] {
    std::this_thread::sleep_for (std::chrono::milliseconds (300));
    g_cancellable_cancel (cancellable.get ());
  });
  const gint64 start = g_get_monotonic_time ();
  auto r = client.generate_content_sync ("m", text_request (), cancellable.get ());
  const gint64 elapsed = g_get_monotonic_time () - start;
  canceller.join ();

  g_assert_false (r.ok ());
  g_assert_true (r.error ().cancelled ());
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (client.stats ().requests, ==, 1);
}

void
test_already_cancelled_never_sends ()
{
  Client client (dead_config ());
  GPtr<GCancellable> cancellable (g_cancellable_new ());
  g_cancellable_cancel (cancellable.get ());
  auto r = client.generate_content_sync ("m", text_request (), cancellable.get ());
  g_assert_true (!r.ok () && r.error ().cancelled ());
  g_assert_cmpuint (client.stats ().requests, ==, 0);
}

void
test_destruction_cancels_in_flight ()
{
  std::atomic<int> calls{0};
  std::atomic<bool> cancelled{false};
  {
    ClientConfig c = dead_config ();
    c.retry.initial_delay = 30 * GST_SECOND;
    Client client (c);
    client.generate_content ("m", text_request (), nullptr,
        [&] (Result<GenerateResponse> r) {
          calls++;
          cancelled = !r.ok () && r.error ().cancelled ();
        });
    std::this_thread::sleep_for (std::chrono::milliseconds (200));
  }
  g_assert_cmpint (calls.load (), ==, 1);
  g_assert_true (cancelled.load ());
}

void
test_sync_call_on_client_thread_is_refused ()
{
  Client client (dead_config ());
  GPtr<GCancellable> cancellable (g_cancellable_new ());
  g_cancellable_cancel (cancellable.get ());

  std::optional<Error> inner;
  auto outer = client.generate_content_sync ("m", text_request (), nullptr);
  g_assert_false (outer.ok ());

  std::promise<void> done;
  client.get_file ("files/x", cancellable.get (), [&] (Result<FileInfo>) {
    auto r = client.delete_file_sync ("files/x", nullptr);
    inner = r.ok () ? std::nullopt : std::optional<Error> (r.error ());
    done.set_value ();
  });
  done.get_future ().wait ();
  g_assert_true (inner.has_value ());
  g_assert_true (inner->kind == Error::Kind::Protocol);
}

void
test_vertex_has_no_files_api ()
{
  ClientConfig c;
  c.backend = Backend::Vertex;
  c.project = "p";
  c.location = "us-central1";
  c.access_token = "t";
  Client client (c);
  GPtr<GBytes> data (g_bytes_new_static ("abc", 3));
  auto r = client.upload_file_sync (data.get (), "video/webm", "x", nullptr);
  g_assert_false (r.ok ());
  g_assert_true (r.error ().describe ().find ("Developer API") != std::string::npos);
  g_assert_cmpuint (client.stats ().requests, ==, 0);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/client/env-google-api-key-wins-and-warns", test_google_key_wins);
  g_test_add_func ("/client/env-gemini-api-key-used-when-google-empty",
      test_gemini_key_when_google_empty);
  g_test_add_func ("/client/env-base-url-override-strips-slashes", test_endpoint_resolution);
  g_test_add_func ("/client/vertex-host-follows-location", test_vertex_hosts);
  g_test_add_func ("/client/vertex-location-and-backend-from-environment",
      test_vertex_from_environment);
  g_test_add_func ("/client/model-url-developer-and-vertex", test_model_urls);
  g_test_add_func ("/client/transport-error-retried-then-reported-without-key",
      test_transport_error_retried_then_reported);
  g_test_add_func ("/client/cancel-during-backoff-ends-immediately",
      test_cancel_during_backoff_is_immediate);
  g_test_add_func ("/client/already-cancelled-never-sends", test_already_cancelled_never_sends);
  g_test_add_func ("/client/destruction-cancels-in-flight-once",
      test_destruction_cancels_in_flight);
  g_test_add_func ("/client/sync-call-on-client-thread-is-refused",
      test_sync_call_on_client_thread_is_refused);
  g_test_add_func ("/client/vertex-has-no-files-api", test_vertex_has_no_files_api);

  return g_test_run ();
}
