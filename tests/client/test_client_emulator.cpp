/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client against the in-process Gemini emulator: request shapes as the
 * server sees them, uploads, polling, SSE, retries, timeouts, cancellation,
 * key redaction and the Vertex path. */
#include <gst/gst.h>

#include <chrono>
#include <thread>

#include "assert_str.h"
#include "client.h"
#include "emulator.h"
#include "log_capture.h"

using namespace gemini;
using gemini::test::Emulator;
using gemini::test::log_entries;

namespace {

constexpr const char *MODEL = "gemini-2.5-flash";
constexpr const char *CANARY = "canary-SECRET-123";

ClientConfig
config_for (const Emulator &emu)
{
  ClientConfig c;
  c.endpoint = emu.url ();
  c.api_key = "test-key";
  c.retry.initial_delay = 10 * GST_MSECOND;
  c.retry.max_delay = 100 * GST_MSECOND;
  c.retry.jitter = 0;
  c.file_poll_interval = 20 * GST_MSECOND;
  c.request_timeout = 10 * GST_SECOND;
  return c;
}

/* 1 s of 16 kHz mono silence as a WAV file: small, decodable media. */
GPtr<GBytes>
silent_wav ()
{
  const guint32 rate = 16000, samples = 16000, data_size = samples * 2;
  std::string wav;
  auto u32 = [&] (guint32 v) { for (int i = 0; i < 4; i++) wav += char ((v >> (8 * i)) & 0xff); };
  auto u16 = [&] (guint16 v) { wav += char (v & 0xff); wav += char (v >> 8); };
  wav += "RIFF";
  u32 (36 + data_size);
  wav += "WAVEfmt ";
  u32 (16);
  u16 (1);
  u16 (1);
  u32 (rate);
  u32 (rate * 2);
  u16 (2);
  u16 (16);
  wav += "data";
  u32 (data_size);
  wav.append (data_size, '\0');
  return GPtr<GBytes> (g_bytes_new (wav.data (), wav.size ()));
}

GPtr<GBytes>
random_bytes (gsize n)
{
  GByteArray *a = g_byte_array_sized_new (n);
  g_byte_array_set_size (a, n);
  for (gsize i = 0; i < n; i++)
    a->data[i] = g_random_int_range (0, 256);
  return GPtr<GBytes> (g_byte_array_free_to_bytes (a));
}

GenerateRequest
text_request ()
{
  GenerateRequest req;
  req.parts.push_back (Part::text ("Say hello."));
  return req;
}

gsize
count (const Emulator &emu, const char *kind)
{
  GPtr<JsonNode> log = emu.log ();
  return log_entries (log.get (), kind).size ();
}

std::string
to_string (JsonNode *node)
{
  GPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  GPtr<gchar> s (json_generator_to_data (gen.get (), nullptr));
  return s.get ();
}

void
cancel_after (GCancellable *c, int ms, std::thread &t)
{
  t = std::thread ([c, ms] {
    std::this_thread::sleep_for (std::chrono::milliseconds (ms));
    g_cancellable_cancel (c);
  });
}

void
test_inline_request_shape ()
{
  Emulator emu (R"({"api_key": "test-key", "responses": [{"text": "hello"}]})");
  Client client (config_for (emu));

  GenerateRequest req;
  Part media;
  media.data = InlineDataPart{"audio/wav", silent_wav ()};
  req.parts.push_back (std::move (media));
  req.parts.push_back (Part::text ("Transcribe."));
  req.config.temperature = 0.25;

  auto r = client.generate_content_sync (MODEL, req, nullptr);
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  assert_str_eq (r->text, "hello");

  GPtr<JsonNode> log = emu.log ();
  auto gens = log_entries (log.get (), "generate");
  g_assert_cmpuint (gens.size (), ==, 1);
  JsonObject *e = gens[0];
  assert_str_eq (json_object_get_string_member (e, "path"),
      "/v1beta/models/gemini-2.5-flash:generateContent");
  g_assert_cmpint (json_object_get_int_member (e, "status"), ==, 200);
  g_assert_true (json_object_get_boolean_member (e, "has_api_key"));
  g_assert_false (json_object_get_boolean_member (e, "api_key_in_query"));
  JsonObject *headers = json_object_get_object_member (e, "headers");
  assert_str_eq (json_object_get_string_member (headers, "x-server-timeout"), "10");

  JsonObject *body = json_object_get_object_member (e, "body");
  JsonObject *content = json_array_get_object_element (
      json_object_get_array_member (body, "contents"), 0);
  assert_str_eq (json_object_get_string_member (content, "role"), "user");
  JsonArray *parts = json_object_get_array_member (content, "parts");
  g_assert_cmpuint (json_array_get_length (parts), ==, 2);
  JsonObject *inl = json_object_get_object_member (json_array_get_object_element (parts, 0),
      "inlineData");
  assert_str_eq (json_object_get_string_member (inl, "mimeType"), "audio/wav");
  assert_str_eq (json_object_get_string_member (json_array_get_object_element (parts, 1), "text"),
      "Transcribe.");
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (body,
              "generationConfig"), "temperature"), ==, 0.25);
}

void
test_stream_sse ()
{
  Emulator emu (R"({"responses": [{"text": "The quick brown fox jumps over the lazy dog."}]})");
  Client client (config_for (emu));

  std::vector<std::string> chunks;
  auto r = client.stream_generate_content_sync (MODEL, text_request (), nullptr,
      [&] (const GenerateResponse &c) { chunks.push_back (c.text); });
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  assert_str_eq (r->text, "The quick brown fox jumps over the lazy dog.");
  g_assert_cmpuint (chunks.size (), >=, 2);
  std::string joined;
  for (const auto &c : chunks)
    joined += c;
  assert_str_eq (joined, r->text.c_str ());
  assert_str_eq (r->finish_reason, "STOP");
  g_assert_cmpint (r->usage.total_tokens, >, 0);
  g_assert_cmpint (r->usage.prompt_tokens, >, 0);

  GPtr<JsonNode> log = emu.log ();
  auto streams = log_entries (log.get (), "stream");
  g_assert_cmpuint (streams.size (), ==, 1);
  assert_str_eq (json_object_get_string_member (streams[0], "query"), "alt=sse");
}

void
test_stream_mid_stream_error ()
{
  Emulator emu (R"({"responses": [{"text": "The quick brown fox jumps over the lazy dog."}],
    "faults": [{"match": "stream", "type": "http", "mid_stream": true, "status": 500,
      "grpc_status": "INTERNAL", "message": "broke mid-stream"}]})");
  Client client (config_for (emu));
  auto r = client.stream_generate_content_sync (MODEL, text_request (), nullptr, {});
  g_assert_false (r.ok ());
  g_assert_true (r.error ().kind == Error::Kind::Http);
  g_assert_true (r.error ().message.find ("broke mid-stream") != std::string::npos);
}

void
test_single_upload_and_polling ()
{
  Emulator emu (R"({"file_processing_polls": 2})");
  Client client (config_for (emu));

  GPtr<GBytes> data = random_bytes (1000);
  auto up = client.upload_file_sync (data.get (), "application/octet-stream", "blob", nullptr);
  if (!up.ok ())
    g_error ("%s", up.error ().describe ().c_str ());
  g_assert_true (g_str_has_prefix (up->name.c_str (), "files/"));
  g_assert_cmpint (up->size_bytes, ==, 1000);
  assert_str_eq (up->display_name, "blob");

  auto active = client.wait_until_active_sync (up->name, nullptr);
  if (!active.ok ())
    g_error ("%s", active.error ().describe ().c_str ());
  assert_str_eq (active->state, "ACTIVE");
  g_assert_false (active->uri.empty ());

  g_assert_cmpuint (count (emu, "upload_start"), ==, 1);
  g_assert_cmpuint (count (emu, "file_get"), ==, 3);
  GPtr<JsonNode> log = emu.log ();
  auto chunks = log_entries (log.get (), "upload_chunk");
  g_assert_cmpuint (chunks.size (), ==, 1);
  JsonObject *u = json_object_get_object_member (chunks[0], "upload");
  assert_str_eq (json_object_get_string_member (u, "command"), "upload, finalize");
  g_assert_cmpint (json_object_get_int_member (u, "chunk_bytes"), ==, 1000);
  g_assert_cmpuint (client.stats ().bytes_uploaded, ==, 1000);

  auto del = client.delete_file_sync (up->name, nullptr);
  g_assert_true (del.ok ());
  auto gone = client.wait_until_active_sync (up->name, nullptr);
  g_assert_false (gone.ok ());
  /* The service answers 403 (not 404) for a file that is gone. */
  g_assert_true (gone.error ().http_status == 403 || gone.error ().http_status == 404);
  g_assert_cmpuint (count (emu, "file_delete"), ==, 1);
}

void
test_chunked_upload_granularity ()
{
  Emulator emu ("{}");
  ClientConfig c = config_for (emu);
  /* Not a multiple of the 8 MiB granularity: must be rounded down to it. */
  c.upload_chunk_size = 12 * 1024 * 1024;
  Client client (c);

  const gsize total = 9 * 1024 * 1024;
  GPtr<GBytes> data = random_bytes (total);
  auto up = client.upload_file_sync (data.get (), "application/octet-stream", "big", nullptr);
  if (!up.ok ())
    g_error ("%s", up.error ().describe ().c_str ());
  g_assert_cmpint (up->size_bytes, ==, (gint64) total);

  GPtr<JsonNode> log = emu.log ();
  auto chunks = log_entries (log.get (), "upload_chunk");
  g_assert_cmpuint (chunks.size (), ==, 2);
  JsonObject *first = json_object_get_object_member (chunks[0], "upload");
  JsonObject *second = json_object_get_object_member (chunks[1], "upload");
  assert_str_eq (json_object_get_string_member (first, "command"), "upload");
  g_assert_cmpint (json_object_get_int_member (first, "offset"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (first, "chunk_bytes"), ==, 8 * 1024 * 1024);
  assert_str_eq (json_object_get_string_member (second, "command"), "upload, finalize");
  g_assert_cmpint (json_object_get_int_member (second, "offset"), ==, 8 * 1024 * 1024);
  g_assert_cmpint (json_object_get_int_member (second, "chunk_bytes"), ==, 1024 * 1024);
  g_assert_cmpuint (client.stats ().bytes_uploaded, ==, total);
}

void
test_failed_file ()
{
  Emulator emu (R"({"faults": [{"match": "upload_start", "type": "file_failed",
    "message": "Video is corrupt."}]})");
  Client client (config_for (emu));
  GPtr<GBytes> data = random_bytes (100);
  auto up = client.upload_file_sync (data.get (), "application/octet-stream", "bad", nullptr);
  if (!up.ok ())
    g_error ("%s", up.error ().describe ().c_str ());
  auto r = client.wait_until_active_sync (up->name, nullptr);
  g_assert_false (r.ok ());
  g_assert_true (r.error ().kind == Error::Kind::FileFailed);
  g_assert_true (r.error ().message.find ("Video is corrupt.") != std::string::npos);
  g_assert_false (r.error ().retryable ());
}

void
check_retried (guint status, const char *grpc, const char *retry_delay)
{
  std::string script = std::string (R"({"responses": [{"text": "ok"}], "faults": [{"match": "generate",
    "type": "http", "nth": 1, "count": 1, "status": )") + std::to_string (status)
      + R"(, "grpc_status": ")" + grpc + R"(", "message": "try later")"
      + (retry_delay ? std::string (R"(, "retry_delay": ")") + retry_delay + "\"" : "") + "}]}";
  Emulator emu (script);
  Client client (config_for (emu));

  const gint64 start = g_get_monotonic_time ();
  auto r = client.generate_content_sync (MODEL, text_request (), nullptr);
  const gint64 elapsed = g_get_monotonic_time () - start;
  if (!r.ok ())
    g_error ("%u: %s", status, r.error ().describe ().c_str ());
  assert_str_eq (r->text, "ok");
  g_assert_cmpuint (count (emu, "generate"), ==, 2);
  g_assert_cmpuint (client.stats ().retries, ==, 1);
  g_assert_cmpuint (client.stats ().requests, ==, 2);
  if (retry_delay)
    g_assert_cmpint (elapsed, >=, 300 * 1000);
}

void
test_429_honours_retry_info ()
{
  check_retried (429, "RESOURCE_EXHAUSTED", "0.3s");
}

void
test_5xx_retried ()
{
  check_retried (500, "INTERNAL", nullptr);
  check_retried (503, "UNAVAILABLE", nullptr);
}

void
test_4xx_not_retried ()
{
  struct { guint status; const char *grpc; bool fatal; } cases[] = {
    {400, "INVALID_ARGUMENT", false},
    {403, "PERMISSION_DENIED", true},
    {404, "NOT_FOUND", true},
  };
  for (const auto &c : cases) {
    std::string script = R"({"faults": [{"match": "generate", "type": "http", "status": )"
        + std::to_string (c.status) + R"(, "grpc_status": ")" + c.grpc
        + R"(", "message": "scripted failure"}]})";
    Emulator emu (script);
    Client client (config_for (emu));
    auto r = client.generate_content_sync (MODEL, text_request (), nullptr);
    g_assert_false (r.ok ());
    g_assert_true (r.error ().kind == Error::Kind::Http);
    g_assert_cmpuint (r.error ().http_status, ==, c.status);
    assert_str_eq (r.error ().status, c.grpc);
    assert_str_eq (r.error ().message, "scripted failure");
    g_assert_true (r.error ().fatal () == c.fatal);
    g_assert_cmpuint (count (emu, "generate"), ==, 1);
  }

  Emulator emu ("{}");
  Client client (config_for (emu));
  auto unknown = client.generate_content_sync ("gemini-0-nonexistent", text_request (), nullptr);
  g_assert_false (unknown.ok ());
  g_assert_cmpuint (unknown.error ().http_status, ==, 404);
  g_assert_true (unknown.error ().fatal ());
  g_assert_cmpuint (count (emu, "generate"), ==, 1);
}

void
test_timeout_retried ()
{
  Emulator emu (R"({"responses": [{"text": "late but fine"}],
    "faults": [{"match": "generate", "type": "stall", "nth": 1, "count": 1}]})");
  ClientConfig c = config_for (emu);
  c.request_timeout = 500 * GST_MSECOND;
  Client client (c);

  const gint64 start = g_get_monotonic_time ();
  auto r = client.generate_content_sync (MODEL, text_request (), nullptr);
  const gint64 elapsed = g_get_monotonic_time () - start;
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  assert_str_eq (r->text, "late but fine");
  g_assert_cmpint (elapsed, >=, 500 * 1000);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (count (emu, "generate"), ==, 2);

  emu.set_script (R"({"faults": [{"match": "generate", "type": "stall"}]})");
  c.retry.max_attempts = 1;
  Client once (c);
  auto t = once.generate_content_sync (MODEL, text_request (), nullptr);
  g_assert_false (t.ok ());
  g_assert_true (t.error ().kind == Error::Kind::Timeout);
}

/* The model may think for minutes before the first byte of a unary
 * answer (an hour of media in one request): only request_timeout bounds an
 * attempt, not a socket idle timeout (libsoup's default is 60 s). */
void
test_answer_after_a_minute_of_silence ()
{
  Emulator emu (R"({"faults": [{"match": "generate", "type": "delay", "ms": 62000}]})");
  ClientConfig c = config_for (emu);
  c.request_timeout = 90 * GST_SECOND;
  Client client (c);
  auto r = client.generate_content_sync (MODEL, text_request (), nullptr);
  g_assert_true (r.ok ());
  g_assert_cmpuint (count (emu, "generate"), ==, 1);
}

/* A request may carry a longer limit for its attempts than the client's
 * (a long clip takes the model longer to answer): both are enforced. */
void
test_a_request_may_wait_longer_than_request_timeout ()
{
  Emulator emu (R"({"faults": [{"match": "generate", "type": "delay", "ms": 2000}]})");
  ClientConfig c = config_for (emu);
  c.request_timeout = 1 * GST_SECOND;
  c.retry.max_attempts = 1;
  Client client (c);

  auto cut = client.generate_content_sync (MODEL, text_request (), nullptr);
  g_assert_false (cut.ok ());
  g_assert_true (cut.error ().kind == Error::Kind::Timeout);
  g_assert_nonnull (strstr (cut.error ().message.c_str (), "within 1.000 s"));

  GenerateRequest patient = text_request ();
  patient.attempt_timeout = 5 * GST_SECOND;
  auto r = client.generate_content_sync (MODEL, patient, nullptr);
  g_assert_true (r.ok ());
  GPtr<JsonNode> log = emu.log ();
  auto calls = log_entries (log.get (), "generate");
  g_assert_cmpuint (calls.size (), ==, 2);
}

void
test_cancel_mid_request ()
{
  Emulator emu (R"({"faults": [{"match": "generate", "type": "delay", "ms": 5000}]})");
  Client client (config_for (emu));
  GPtr<GCancellable> cancellable (g_cancellable_new ());

  std::thread canceller;
  cancel_after (cancellable.get (), 300, canceller);
  const gint64 start = g_get_monotonic_time ();
  auto r = client.generate_content_sync (MODEL, text_request (), cancellable.get ());
  const gint64 elapsed = g_get_monotonic_time () - start;
  canceller.join ();

  g_assert_false (r.ok ());
  g_assert_true (r.error ().cancelled ());
  g_assert_cmpint (elapsed, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (count (emu, "generate"), ==, 1);
}

void
test_cancel_mid_upload ()
{
  Emulator emu (R"({"faults": [{"match": "upload_chunk", "type": "delay", "ms": 5000}]})");
  Client client (config_for (emu));
  GPtr<GCancellable> cancellable (g_cancellable_new ());
  GPtr<GBytes> data = random_bytes (9 * 1024 * 1024);

  std::thread canceller;
  cancel_after (cancellable.get (), 500, canceller);
  const gint64 start = g_get_monotonic_time ();
  auto r = client.upload_file_sync (data.get (), "application/octet-stream", "x",
      cancellable.get ());
  const gint64 elapsed = g_get_monotonic_time () - start;
  canceller.join ();

  g_assert_false (r.ok ());
  g_assert_true (r.error ().cancelled ());
  g_assert_cmpint (elapsed, <, 4 * G_USEC_PER_SEC);
  g_assert_cmpuint (count (emu, "upload_chunk"), ==, 1);
}

void
test_dropped_chunk_resumes_from_query ()
{
  Emulator emu (R"({"faults": [{"match": "upload_chunk", "nth": 2, "count": 1,
    "type": "drop"}]})");
  Client client (config_for (emu));
  const gsize total = 9 * 1024 * 1024;
  GPtr<GBytes> data = random_bytes (total);

  auto up = client.upload_file_sync (data.get (), "application/octet-stream", "x", nullptr);
  if (!up.ok ())
    g_error ("%s", up.error ().describe ().c_str ());
  g_assert_cmpint (up->size_bytes, ==, (gint64) total);

  GPtr<JsonNode> log = emu.log ();
  auto chunks = log_entries (log.get (), "upload_chunk");
  g_assert_cmpuint (chunks.size (), ==, 4);
  auto upload = [&] (gsize i) { return json_object_get_object_member (chunks[i], "upload"); };
  g_assert_cmpint (json_object_get_int_member (upload (0), "offset"), ==, 0);
  assert_str_eq (json_object_get_string_member (chunks[1], "fault"), "drop");
  g_assert_cmpint (json_object_get_int_member (chunks[1], "status"), ==, 0);
  assert_str_eq (json_object_get_string_member (upload (2), "command"), "query");
  g_assert_cmpint (json_object_get_int_member (chunks[2], "status"), ==, 200);
  assert_str_eq (json_object_get_string_member (upload (3), "command"), "upload, finalize");
  g_assert_cmpint (json_object_get_int_member (upload (3), "offset"), ==, 8 * 1024 * 1024);
  g_assert_cmpint (json_object_get_int_member (upload (3), "chunk_bytes"), ==, 1024 * 1024);
}

void
test_dropped_chunk_within_retry_budget ()
{
  Emulator emu (R"({"faults": [{"match": "upload_chunk", "type": "drop"}]})");
  ClientConfig c = config_for (emu);
  c.retry.max_attempts = 3;
  Client client (c);
  GPtr<GBytes> data = random_bytes (1000);

  auto up = client.upload_file_sync (data.get (), "application/octet-stream", "x", nullptr);
  g_assert_false (up.ok ());
  g_assert_true (up.error ().kind == Error::Kind::Transport);

  GPtr<JsonNode> log = emu.log ();
  guint sent = 0, queries = 0;
  for (JsonObject *e : log_entries (log.get (), "upload_chunk")) {
    const std::string command =
        json_object_get_string_member (json_object_get_object_member (e, "upload"), "command");
    if (command == "query")
      queries++;
    else
      sent++;
  }
  g_assert_cmpuint (sent, ==, 3);
  g_assert_cmpuint (queries, ==, 2);
}

void
test_key_never_leaks ()
{
  test::LogCapture log;
  Emulator emu (R"({"faults": [{"match": "generate", "type": "http", "nth": 1, "count": 1,
    "status": 500, "grpc_status": "INTERNAL", "message": "oops"}]})");
  ClientConfig c = config_for (emu);
  c.api_key = CANARY;
  Client client (c);

  auto r = client.generate_content_sync (MODEL, text_request (), nullptr);
  g_assert_false (r.ok ());
  g_assert_cmpuint (r.error ().http_status, ==, 400);
  g_assert_true (r.error ().fatal ());
  GPtr<GBytes> data = random_bytes (10);
  auto up = client.upload_file_sync (data.get (), "application/octet-stream", "x", nullptr);
  g_assert_false (up.ok ());
  auto s = client.stream_generate_content_sync (MODEL, text_request (), nullptr, {});
  g_assert_false (s.ok ());

  for (const Error *e : {&r.error (), &up.error (), &s.error ()}) {
    g_assert_true (e->describe ().find (CANARY) == std::string::npos);
    g_assert_true (e->message.find (CANARY) == std::string::npos);
  }
  g_assert_true (log.contains ("geminiclient"));
  g_assert_false (log.contains (CANARY));

  GPtr<JsonNode> server_log = emu.log ();
  g_assert_false (to_string (server_log.get ()).find (CANARY) != std::string::npos);
  for (JsonObject *e : log_entries (server_log.get (), nullptr)) {
    g_assert_false (json_object_get_boolean_member (e, "api_key_in_query"));
    g_assert_true (json_object_get_boolean_member (e, "has_api_key"));
  }
}

void
test_vertex_path_and_bearer ()
{
  Emulator emu (R"({"vertex_token": "test-token", "responses": [{"text": "from vertex"}]})");
  ClientConfig c;
  c.backend = Backend::Vertex;
  c.endpoint = emu.url ();
  c.project = "my-proj";
  c.location = "us-central1";
  c.access_token = "test-token";
  c.retry.initial_delay = 10 * GST_MSECOND;
  c.retry.jitter = 0;
  Client client (c);

  auto r = client.generate_content_sync (MODEL, text_request (), nullptr);
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  assert_str_eq (r->text, "from vertex");

  GPtr<JsonNode> log = emu.log ();
  auto gens = log_entries (log.get (), "generate");
  g_assert_cmpuint (gens.size (), ==, 1);
  assert_str_eq (json_object_get_string_member (gens[0], "path"),
      "/v1/projects/my-proj/locations/us-central1/publishers/google/models/"
      "gemini-2.5-flash:generateContent");
  g_assert_true (json_object_get_boolean_member (gens[0], "has_bearer"));
  g_assert_false (json_object_get_boolean_member (gens[0], "has_api_key"));
}


/* Whole chunks leave while the writer is still producing: the first one is
 * on the server before finish(). The start declares no size. */
void
test_stream_upload_sends_chunks_as_produced ()
{
  Emulator emu ("{}");
  Client client (config_for (emu));
  auto up = client.open_upload ("application/octet-stream", "growing");
  const gsize piece = 1024 * 1024;
  for (int i = 0; i < 9; i++) {
    GPtr<GBytes> b = random_bytes (piece);
    up->write (b.get ());
  }
  for (int i = 0; i < 200 && count (emu, "upload_chunk") == 0; i++)
    std::this_thread::sleep_for (std::chrono::milliseconds (10));
  g_assert_cmpuint (count (emu, "upload_chunk"), ==, 1);

  for (int i = 0; i < 11; i++) {
    GPtr<GBytes> b = random_bytes (piece);
    up->write (b.get ());
  }
  up->finish ();
  auto file = up->wait ();
  if (!file.ok ())
    g_error ("%s", file.error ().describe ().c_str ());
  g_assert_cmpint (file->size_bytes, ==, (gint64) (20 * piece));

  GPtr<JsonNode> log = emu.log ();
  auto starts = log_entries (log.get (), "upload_start");
  g_assert_cmpuint (starts.size (), ==, 1);
  JsonObject *headers = json_object_get_object_member (starts[0], "headers");
  g_assert_false (json_object_has_member (headers, "x-goog-upload-header-content-length"));
  auto chunks = log_entries (log.get (), "upload_chunk");
  g_assert_cmpuint (chunks.size (), ==, 3);
  const gint64 offsets[] = {0, 8 * 1024 * 1024, 16 * 1024 * 1024};
  for (int i = 0; i < 3; i++) {
    JsonObject *u = json_object_get_object_member (chunks[i], "upload");
    g_assert_cmpint (json_object_get_int_member (u, "offset"), ==, offsets[i]);
    assert_str_eq (json_object_get_string_member (u, "command"),
        i == 2 ? "upload, finalize" : "upload");
  }
}

/* A service that wants the size up front gets it once the writer is done,
 * whatever 4xx it refuses a sizeless start with. */
void
test_stream_upload_deferred_when_size_required ()
{
  for (guint refusal : {400u, 411u, 412u}) {
    Emulator emu ("{\"require_upload_size\": " + std::to_string (refusal) + "}");
    Client client (config_for (emu));
    auto up = client.open_upload ("application/octet-stream", "sized");
    GPtr<GBytes> b = random_bytes (3 * 1024 * 1024);
    up->write (b.get ());
    up->finish ();
    auto file = up->wait ();
    if (!file.ok ())
      g_error ("%u: %s", refusal, file.error ().describe ().c_str ());
    g_assert_cmpint (file->size_bytes, ==, 3 * 1024 * 1024);
    g_assert_true (up->sized_at_end ());

    GPtr<JsonNode> log = emu.log ();
    auto starts = log_entries (log.get (), "upload_start");
    g_assert_cmpuint (starts.size (), ==, 2);
    g_assert_cmpint (json_object_get_int_member (starts[0], "status"), ==, refusal);
    g_assert_cmpint (json_object_get_int_member (starts[1], "status"), ==, 200);
    JsonObject *headers = json_object_get_object_member (starts[1], "headers");
    assert_str_eq (json_object_get_string_member (headers,
            "x-goog-upload-header-content-length"), "3145728");
  }

  /* a service that takes it streams while the bytes are written */
  Emulator emu ("{}");
  Client client (config_for (emu));
  auto up = client.open_upload ("application/octet-stream", "streamed");
  GPtr<GBytes> b = random_bytes (1024 * 1024);
  up->write (b.get ());
  up->finish ();
  g_assert_true (up->wait ().ok ());
  g_assert_false (up->sized_at_end ());
}

void
test_stream_upload_cancel ()
{
  Emulator emu ("{}");
  Client client (config_for (emu));
  auto up = client.open_upload ("application/octet-stream", "dropped");
  GPtr<GBytes> b = random_bytes (1024 * 1024);
  up->write (b.get ());
  up->cancel ();
  auto file = up->wait ();
  g_assert_false (file.ok ());
  g_assert_true (file.error ().cancelled ());
  g_assert_cmpuint (count (emu, "upload_chunk"), ==, 0);
}

/* Create, use (the hit is reported in usageMetadata), delete; a deleted
 * cache is gone for the service too. */
void
test_cached_content_lifecycle ()
{
  Emulator emu (R"({"min_cache_tokens": 100})");
  Client client (config_for (emu));
  GenerateRequest contents;
  contents.parts.push_back (Part::text (std::string (2000, 'x')));
  auto cache = client.create_cached_content_sync (MODEL, contents, 90 * GST_SECOND,
      "test cache", nullptr);
  if (!cache.ok ())
    g_error ("%s", cache.error ().describe ().c_str ());
  g_assert_true (g_str_has_prefix (cache->name.c_str (), "cachedContents/"));
  g_assert_cmpint (cache->total_tokens, ==, 500);
  g_assert_false (cache->expire_time.empty ());

  GenerateRequest req = text_request ();
  req.cached_content = cache->name;
  auto answer = client.generate_content_sync (MODEL, req, nullptr);
  if (!answer.ok ())
    g_error ("%s", answer.error ().describe ().c_str ());
  g_assert_cmpint (answer->usage.cached_tokens, ==, 500);

  GPtr<JsonNode> log = emu.log ();
  auto creates = log_entries (log.get (), "cache_create");
  g_assert_cmpuint (creates.size (), ==, 1);
  JsonObject *body = json_object_get_object_member (creates[0], "body");
  assert_str_eq (json_object_get_string_member (body, "model"), "models/gemini-2.5-flash");
  assert_str_eq (json_object_get_string_member (body, "ttl"), "90s");

  g_assert_true (client.delete_cached_content_sync (cache->name, nullptr).ok ());
  auto again = client.generate_content_sync (MODEL, req, nullptr);
  g_assert_false (again.ok ());
  g_assert_cmpuint (again.error ().http_status, ==, 403);
  g_assert_false (client.delete_cached_content_sync (cache->name, nullptr).ok ());
}

void
test_cache_too_small_is_not_retried ()
{
  Emulator emu ("{}");
  Client client (config_for (emu));
  GenerateRequest contents = text_request ();
  auto cache = client.create_cached_content_sync (MODEL, contents, 60 * GST_SECOND, "",
      nullptr);
  g_assert_false (cache.ok ());
  g_assert_cmpuint (cache.error ().http_status, ==, 400);
  g_assert_true (cache.error ().message.find ("too small") != std::string::npos);
  g_assert_cmpuint (count (emu, "cache_create"), ==, 1);
}
}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/client/emulator/inline-request-shape-as-logged", test_inline_request_shape);
  g_test_add_func ("/client/emulator/answer-after-a-minute-of-silence",
      test_answer_after_a_minute_of_silence);
  g_test_add_func ("/client/emulator/a-request-may-wait-longer-than-request-timeout",
      test_a_request_may_wait_longer_than_request_timeout);
  g_test_add_func ("/client/emulator/stream-sse-chunks-and-usage", test_stream_sse);
  g_test_add_func ("/client/emulator/stream-error-mid-stream-is-reported",
      test_stream_mid_stream_error);
  g_test_add_func ("/client/emulator/single-chunk-upload-then-polls-until-active",
      test_single_upload_and_polling);
  g_test_add_func ("/client/emulator/chunked-upload-respects-granularity",
      test_chunked_upload_granularity);
  g_test_add_func ("/client/emulator/failed-file-is-file-failed-error", test_failed_file);
  g_test_add_func ("/client/emulator/retries-429-honours-retry-info",
      test_429_honours_retry_info);
  g_test_add_func ("/client/emulator/retries-500-and-503", test_5xx_retried);
  g_test_add_func ("/client/emulator/no-retry-on-400-403-404", test_4xx_not_retried);
  g_test_add_func ("/client/emulator/timeout-cancels-attempt-and-retries", test_timeout_retried);
  g_test_add_func ("/client/emulator/cancel-mid-request", test_cancel_mid_request);
  g_test_add_func ("/client/emulator/cancel-mid-upload", test_cancel_mid_upload);
  g_test_add_func ("/client/emulator/dropped-chunk-resumes-from-queried-offset",
      test_dropped_chunk_resumes_from_query);
  g_test_add_func ("/client/emulator/dropped-chunk-gives-up-after-max-attempts",
      test_dropped_chunk_within_retry_budget);
  g_test_add_func ("/client/emulator/api-key-never-leaks", test_key_never_leaks);
  g_test_add_func ("/client/emulator/vertex-path-and-bearer", test_vertex_path_and_bearer);
  g_test_add_func ("/client/emulator/stream-upload-sends-chunks-as-produced",
      test_stream_upload_sends_chunks_as_produced);
  g_test_add_func ("/client/emulator/stream-upload-deferred-when-size-required",
      test_stream_upload_deferred_when_size_required);
  g_test_add_func ("/client/emulator/stream-upload-cancel", test_stream_upload_cancel);
  g_test_add_func ("/client/emulator/cached-content-lifecycle", test_cached_content_lifecycle);
  g_test_add_func ("/client/emulator/cache-too-small-is-not-retried",
      test_cache_too_small_is_not_retried);

  return g_test_run ();
}
