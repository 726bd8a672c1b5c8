/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator must behave like the real service where the client depends
 * on it: these tests drive it with a plain SoupSession, never the project's
 * client, so a client bug cannot hide an emulator bug. */
#include <string>
#include <vector>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include "emulator.h"

using gemini::GPtr;
using gemini::test::Emulator;

namespace {

const char *kKey = "test-key";

struct Reply {
  guint status = 0;
  std::string body;
  GPtr<JsonNode> json;
  std::string upload_url, upload_status, granularity;

  JsonObject *object () const {
    g_assert_nonnull (json);
    g_assert_true (JSON_NODE_HOLDS_OBJECT (json.get ()));
    return json_node_get_object (json.get ());
  }
  JsonObject *error () const {
    return json_object_get_object_member (object (), "error");
  }
};

Reply
send (const std::string &method, const std::string &url,
    const std::string &body = {}, const char *key = kKey,
    std::vector<std::pair<std::string, std::string>> headers = {})
{
  GPtr<SoupSession> session (soup_session_new ());
  GPtr<SoupMessage> msg (soup_message_new (method.c_str (), url.c_str ()));
  g_assert_nonnull (msg);
  SoupMessageHeaders *h = soup_message_get_request_headers (msg.get ());
  if (key)
    soup_message_headers_replace (h, "x-goog-api-key", key);
  for (const auto &[name, value] : headers)
    soup_message_headers_replace (h, name.c_str (), value.c_str ());
  if (!body.empty () || method == "POST") {
    GPtr<GBytes> b (g_bytes_new (body.data (), body.size ()));
    soup_message_set_request_body_from_bytes (msg.get (), "application/json",
        b.get ());
  }
  GError *err = nullptr;
  GPtr<GBytes> out (soup_session_send_and_read (session.get (), msg.get (),
          nullptr, &err));
  g_assert_no_error (err);
  Reply r;
  r.status = soup_message_get_status (msg.get ());
  gsize size = 0;
  auto data = static_cast<const char *> (g_bytes_get_data (out.get (), &size));
  r.body.assign (data ? data : "", size);
  SoupMessageHeaders *rh = soup_message_get_response_headers (msg.get ());
  auto get = [&] (const char *n) {
    const char *v = soup_message_headers_get_one (rh, n);
    return std::string (v ? v : "");
  };
  r.upload_url = get ("x-goog-upload-url");
  r.upload_status = get ("x-goog-upload-status");
  r.granularity = get ("x-goog-upload-chunk-granularity");
  GPtr<JsonParser> parser (json_parser_new ());
  if (!r.body.empty () && json_parser_load_from_data (parser.get (),
          r.body.c_str (), (gssize) r.body.size (), nullptr))
    r.json.reset (json_node_copy (json_parser_get_root (parser.get ())));
  return r;
}

std::string
generate_url (const Emulator &emu, const char *model = "gemini-2.5-flash",
    const char *method = "generateContent")
{
  return emu.url () + "/v1beta/models/" + model + ":" + method;
}

std::string
text_request (const std::string &prompt)
{
  GPtr<JsonObject> root (json_object_new ());
  JsonArray *contents = json_array_new ();
  JsonObject *content = json_object_new ();
  json_object_set_string_member (content, "role", "user");
  JsonArray *parts = json_array_new ();
  JsonObject *part = json_object_new ();
  json_object_set_string_member (part, "text", prompt.c_str ());
  json_array_add_object_element (parts, part);
  json_object_set_array_member (content, "parts", parts);
  json_array_add_object_element (contents, content);
  json_object_set_array_member (root.get (), "contents", contents);
  GPtr<JsonNode> node (json_node_init_object (json_node_alloc (), root.get ()));
  GPtr<gchar> s (json_to_string (node.get (), FALSE));
  return s.get ();
}

std::string
inline_request (const std::string &b64, const char *mime,
    const std::string &prompt)
{
  return "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inlineData\":"
      "{\"mimeType\":\"" + std::string (mime) + "\",\"data\":\"" + b64 +
      "\"}},{\"text\":\"" + prompt + "\"}]}]}";
}

/* 3 s of 160x120 VP8 at 10 fps + mono Opus, made with a real pipeline. */
std::string
make_webm ()
{
  static std::string contents;
  if (!contents.empty ())
    return contents;
  gchar *path = nullptr;
  int fd = g_file_open_tmp ("emu-test-XXXXXX.webm", &path, nullptr);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  GPtr<gchar> owned (path);
  GPtr<gchar> desc (g_strdup_printf ("videotestsrc num-buffers=30 ! "
          "video/x-raw,width=160,height=120,framerate=10/1 ! vp8enc deadline=1 "
          "! m. audiotestsrc num-buffers=150 samplesperbuffer=960 ! "
          "audio/x-raw,rate=48000,channels=1 ! opusenc ! m. webmmux name=m ! "
          "filesink location=%s", path));
  GError *err = nullptr;
  GPtr<GstElement> pipeline (gst_parse_launch (desc.get (), &err));
  g_assert_no_error (err);
  gst_element_set_state (pipeline.get (), GST_STATE_PLAYING);
  GPtr<GstBus> bus (gst_element_get_bus (pipeline.get ()));
  GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus.get (),
          30 * GST_SECOND, (GstMessageType) (GST_MESSAGE_EOS |
              GST_MESSAGE_ERROR)));
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg.get ()), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  gchar *data = nullptr;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &data, &size, nullptr));
  contents.assign (data, size);
  g_free (data);
  g_unlink (path);
  return contents;
}

std::string
base64 (const std::string &s)
{
  GPtr<gchar> b (g_base64_encode ((const guchar *) s.data (), s.size ()));
  return b.get ();
}

JsonObject *
log_entry (const Emulator &emu, guint index, GPtr<JsonNode> &holder)
{
  holder = emu.log ();
  JsonArray *requests = json_object_get_array_member (
      json_node_get_object (holder.get ()), "requests");
  g_assert_cmpuint (json_array_get_length (requests), >, index);
  return json_array_get_object_element (requests, index);
}

Reply
upload_start (const Emulator &emu, gsize size, const char *mime)
{
  return send ("POST", emu.url () + "/upload/v1beta/files",
      std::string ("{\"file\": {\"display_name\": \"clip\", \"mime_type\": \"")
      + mime + "\"}}", kKey, {
        { "X-Goog-Upload-Protocol", "resumable" },
        { "X-Goog-Upload-Command", "start" },
        { "X-Goog-Upload-Header-Content-Length", std::to_string (size) },
        { "X-Goog-Upload-Header-Content-Type", mime } });
}

Reply
upload_chunk (const std::string &url, const std::string &bytes, gsize offset,
    bool finalize)
{
  return send ("POST", url, bytes, kKey, {
        { "X-Goog-Upload-Command", finalize ? "upload, finalize" : "upload" },
        { "X-Goog-Upload-Offset", std::to_string (offset) } });
}

/* ---------- tests ---------- */

void
test_missing_key_is_403 ()
{
  Emulator emu;
  Reply r = send ("POST", generate_url (emu), text_request ("hi"), nullptr);
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_cmpstr (json_object_get_string_member (r.error (), "status"), ==,
      "PERMISSION_DENIED");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (r.error (),
              "message"), "Method doesn't allow unregistered callers"));
}

void
test_wrong_key_is_400_api_key_invalid ()
{
  Emulator emu;
  Reply r = send ("POST", generate_url (emu), text_request ("hi"), "nope");
  g_assert_cmpuint (r.status, ==, 400);
  g_assert_cmpstr (json_object_get_string_member (r.error (), "message"), ==,
      "API key not valid. Please pass a valid API key.");
  JsonArray *details = json_object_get_array_member (r.error (), "details");
  JsonObject *info = json_array_get_object_element (details, 0);
  g_assert_cmpstr (json_object_get_string_member (info, "reason"), ==,
      "API_KEY_INVALID");

  /* the key in the query works but is flagged, and never logged */
  Reply q = send ("POST", generate_url (emu) + "?key=test-key",
      text_request ("hi"), nullptr);
  g_assert_cmpuint (q.status, ==, 200);
  GPtr<JsonNode> log;
  JsonObject *e = log_entry (emu, 1, log);
  g_assert_true (json_object_get_boolean_member (e, "api_key_in_query"));
  g_assert_cmpstr (json_object_get_string_member (e, "query"), ==,
      "key=REDACTED");
  GPtr<gchar> all (json_to_string (log.get (), FALSE));
  g_assert_null (strstr (all.get (), "nope"));
}

void
test_unknown_model_is_404 ()
{
  Emulator emu;
  Reply r = send ("POST", generate_url (emu, "gemini-0.1-nano"),
      text_request ("hi"));
  g_assert_cmpuint (r.status, ==, 404);
  g_assert_cmpstr (json_object_get_string_member (r.error (), "status"), ==,
      "NOT_FOUND");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (r.error (),
              "message"), "models/gemini-0.1-nano is not found for API "
          "version v1beta"));
}

void
test_bad_base64_is_400 ()
{
  Emulator emu;
  Reply r = send ("POST", generate_url (emu),
      inline_request ("not*base64!", "video/webm", "x"));
  g_assert_cmpuint (r.status, ==, 400);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (r.error (),
              "message"), "Invalid value at 'contents[0].parts[0].inline_data"
          ".data' (TYPE_BYTES), Base64 decoding failed"));
}

void
test_unknown_field_is_400_naming_it ()
{
  Emulator emu;
  Reply r = send ("POST", generate_url (emu),
      "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
      "\"generationConfig\":{\"foo\":1}}");
  g_assert_cmpuint (r.status, ==, 400);
  g_assert_cmpstr (json_object_get_string_member (r.error (), "message"), ==,
      "Invalid JSON payload received. Unknown name \"foo\" at "
      "'generation_config': Cannot find field.");

  Reply lower = send ("POST", generate_url (emu),
      "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":"
      "{\"responseMimeType\":\"application/json\",\"responseSchema\":"
      "{\"type\":\"object\"}}}");
  g_assert_cmpuint (lower.status, ==, 400);
  g_assert_nonnull (strstr (json_object_get_string_member (lower.error (),
              "message"), "generation_config.response_schema.type"));

  Reply fine = send ("POST", generate_url (emu),
      "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generation_config\":"
      "{\"response_mime_type\":\"application/json\",\"responseSchema\":"
      "{\"type\":\"OBJECT\",\"properties\":{\"a\":{\"type\":\"STRING\"}}}}}");
  g_assert_cmpuint (fine.status, ==, 200);
}

void
test_upload_single_chunk_processing_then_active ()
{
  Emulator emu ("{\"file_processing_polls\": 2}");
  std::string webm = make_webm ();
  Reply start = upload_start (emu, webm.size (), "video/webm");
  g_assert_cmpuint (start.status, ==, 200);
  g_assert_cmpstr (start.upload_status.c_str (), ==, "active");
  g_assert_cmpstr (start.granularity.c_str (), ==, "8388608");
  g_assert_true (g_str_has_prefix (start.upload_url.c_str (),
          (emu.url () + "/upload/v1beta/files?upload_id=").c_str ()));

  Reply fin = upload_chunk (start.upload_url, webm, 0, true);
  g_assert_cmpuint (fin.status, ==, 200);
  g_assert_cmpstr (fin.upload_status.c_str (), ==, "final");
  JsonObject *file = json_object_get_object_member (fin.object (), "file");
  g_assert_cmpstr (json_object_get_string_member (file, "state"), ==,
      "PROCESSING");
  std::string size = std::to_string (webm.size ());
  g_assert_cmpstr (json_object_get_string_member (file, "sizeBytes"), ==,
      size.c_str ());
  g_assert_cmpstr (json_object_get_string_member (file, "displayName"), ==,
      "clip");
  std::string name = json_object_get_string_member (file, "name");
  std::string uri = json_object_get_string_member (file, "uri");
  std::string expected_uri = emu.url () + "/v1beta/" + name;
  g_assert_cmpstr (uri.c_str (), ==, expected_uri.c_str ());

  /* a PROCESSING file cannot be used yet */
  std::string use = "{\"contents\":[{\"parts\":[{\"fileData\":{\"mimeType\":"
      "\"video/webm\",\"fileUri\":\"" + uri + "\"}},{\"text\":\"x\"}]}]}";
  Reply early = send ("POST", generate_url (emu), use);
  g_assert_cmpuint (early.status, ==, 400);
  g_assert_cmpstr (json_object_get_string_member (early.error (), "status"),
      ==, "FAILED_PRECONDITION");

  for (const char *expected : { "PROCESSING", "PROCESSING", "ACTIVE" }) {
    Reply g = send ("GET", emu.url () + "/v1beta/" + name);
    g_assert_cmpuint (g.status, ==, 200);
    g_assert_cmpstr (json_object_get_string_member (g.object (), "state"), ==,
        expected);
    if (g_str_equal (expected, "ACTIVE")) {
      JsonObject *vm = json_object_get_object_member (g.object (),
          "videoMetadata");
      g_assert_cmpstr (json_object_get_string_member (vm, "videoDuration"),
          ==, "3s");
    }
  }
  Reply ok = send ("POST", generate_url (emu), use);
  g_assert_cmpuint (ok.status, ==, 200);

  Reply list = send ("GET", emu.url () + "/v1beta/files");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
              list.object (), "files")), ==, 1);
  Reply del = send ("DELETE", emu.url () + "/v1beta/" + name);
  g_assert_cmpuint (del.status, ==, 200);
  g_assert_cmpstr (del.body.c_str (), ==, "{}");
  Reply gone = send ("GET", emu.url () + "/v1beta/" + name);
  g_assert_cmpuint (gone.status, ==, 403);
}

void
test_upload_two_chunks ()
{
  Emulator emu ("{\"file_processing_polls\": 0}");
  std::string data (8388608 + 1000, 'x');
  Reply start = upload_start (emu, data.size (), "application/octet-stream");
  Reply first = upload_chunk (start.upload_url, data.substr (0, 8388608), 0,
      false);
  g_assert_cmpuint (first.status, ==, 200);
  g_assert_cmpstr (first.upload_status.c_str (), ==, "active");
  Reply last = upload_chunk (start.upload_url, data.substr (8388608), 8388608,
      true);
  g_assert_cmpuint (last.status, ==, 200);
  g_assert_cmpstr (last.upload_status.c_str (), ==, "final");
  JsonObject *file = json_object_get_object_member (last.object (), "file");
  g_assert_cmpstr (json_object_get_string_member (file, "state"), ==, "ACTIVE");
  g_assert_cmpstr (json_object_get_string_member (file, "sizeBytes"), ==,
      "8389608");

  GPtr<JsonNode> log;
  JsonObject *e = log_entry (emu, 2, log);
  JsonObject *u = json_object_get_object_member (e, "upload");
  g_assert_cmpint (json_object_get_int_member (u, "offset"), ==, 8388608);
  g_assert_cmpint (json_object_get_int_member (u, "chunk_bytes"), ==, 1000);
}

void
test_upload_bad_offset_and_granularity_are_400 ()
{
  Emulator emu;
  std::string data (5000, 'y');
  Reply start = upload_start (emu, data.size (), "application/octet-stream");
  Reply bad_offset = upload_chunk (start.upload_url, data, 10, true);
  g_assert_cmpuint (bad_offset.status, ==, 400);
  Reply not_granular = upload_chunk (start.upload_url, data.substr (0, 4000),
      0, false);
  g_assert_cmpuint (not_granular.status, ==, 400);
  Reply short_final = upload_chunk (start.upload_url, data.substr (0, 4000),
      0, true);
  g_assert_cmpuint (short_final.status, ==, 400);
}

void
test_file_failed_fault ()
{
  Emulator emu ("{\"file_processing_polls\": 1, \"faults\": [{\"match\": "
      "\"upload_start\", \"type\": \"file_failed\", \"message\": \"bad\"}]}");
  std::string webm = make_webm ();
  Reply start = upload_start (emu, webm.size (), "video/webm");
  Reply fin = upload_chunk (start.upload_url, webm, 0, true);
  g_assert_cmpuint (fin.status, ==, 200);
  std::string name = json_object_get_string_member (
      json_object_get_object_member (fin.object (), "file"), "name");
  Reply processing = send ("GET", emu.url () + "/v1beta/" + name);
  g_assert_cmpstr (json_object_get_string_member (processing.object (),
          "state"), ==, "PROCESSING");
  Reply failed = send ("GET", emu.url () + "/v1beta/" + name);
  g_assert_cmpstr (json_object_get_string_member (failed.object (), "state"),
      ==, "FAILED");
  JsonObject *err = json_object_get_object_member (failed.object (), "error");
  g_assert_cmpstr (json_object_get_string_member (err, "message"), ==, "bad");
}

std::string
answer_text (const Reply &r)
{
  JsonArray *cands = json_object_get_array_member (r.object (), "candidates");
  JsonObject *content = json_object_get_object_member (
      json_array_get_object_element (cands, 0), "content");
  JsonArray *parts = json_object_get_array_member (content, "parts");
  return json_object_get_string_member (json_array_get_object_element (parts,
          0), "text");
}

void
test_timeline_answer_with_shuffled_voices ()
{
  Emulator emu (R"({"transcript": {
      "speakers": [
        {"id": "alice", "name": "Alice Martin", "company": "Acme",
         "position": "CEO", "role_in_video": "host"},
        {"id": "bob", "name": "Bob Stone", "company": "Initech",
         "position": "CTO", "role_in_video": "guest", "visible_from": 90}],
      "utterances": [
        {"start": 61.0, "end": 63.4, "speaker": "bob", "text": "Hi."},
        {"start": 62.0, "end": 64.5, "speaker": "alice", "text": "Hello."},
        {"start": 95.0, "end": 96.0, "speaker": "alice", "text": "Later."}],
      "shuffle_voices": true}})");
  std::string prompt = "This clip covers 0:01:00.000 to 0:01:30.000 of the "
      "stream.";
  Reply a = send ("POST", generate_url (emu), text_request (prompt));
  g_assert_cmpuint (a.status, ==, 200);
  std::string text = answer_text (a);
  g_assert_cmpstr (text.c_str (), ==,
      "{\"language\":\"en\",\"task1_transcripts\":["
      "{\"start\":\"00:01\",\"end\":\"00:03\",\"text\":\"Hi.\",\"voice\":1},"
      "{\"start\":\"00:02\",\"end\":\"00:05\",\"text\":\"Hello.\",\"voice\":2}"
      "],\"task2_speakers\":["
      "{\"voice\":1,\"name\":\"?\",\"company\":\"?\",\"position\":\"?\","
      "\"role_in_video\":\"guest\"},"
      "{\"voice\":2,\"name\":\"Alice Martin\",\"company\":\"Acme\","
      "\"position\":\"CEO\",\"role_in_video\":\"host\"}]}");

  /* the same clip again: the same people under other voice numbers */
  Reply b = send ("POST", generate_url (emu), text_request (prompt));
  GPtr<JsonParser> p (json_parser_new ());
  std::string second = answer_text (b);
  g_assert_true (json_parser_load_from_data (p.get (), second.c_str (), -1,
          nullptr));
  JsonArray *lines = json_object_get_array_member (json_node_get_object (
          json_parser_get_root (p.get ())), "task1_transcripts");
  g_assert_cmpint (json_object_get_int_member (
          json_array_get_object_element (lines, 0), "voice"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (
          json_array_get_object_element (lines, 1), "voice"), ==, 1);

  GPtr<JsonNode> log;
  JsonObject *clip = json_object_get_object_member (log_entry (emu, 0, log),
      "clip");
  g_assert_cmpfloat (json_object_get_double_member (clip, "start"), ==, 60.0);
  g_assert_cmpfloat (json_object_get_double_member (clip, "end"), ==, 90.0);
}

void
test_429_fault_carries_retry_info ()
{
  Emulator emu (R"({"faults": [{"nth": 2, "type": "http", "status": 429,
      "grpc_status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded",
      "retry_delay": "0.3s", "quota_id": "PerDayPerProject"}]})");
  g_assert_cmpuint (send ("POST", generate_url (emu),
          text_request ("a")).status, ==, 200);
  Reply r = send ("POST", generate_url (emu), text_request ("b"));
  g_assert_cmpuint (r.status, ==, 429);
  g_assert_cmpint (json_object_get_int_member (r.error (), "code"), ==, 429);
  g_assert_cmpstr (json_object_get_string_member (r.error (), "status"), ==,
      "RESOURCE_EXHAUSTED");
  JsonArray *details = json_object_get_array_member (r.error (), "details");
  bool retry_info = false, quota = false;
  for (guint i = 0; i < json_array_get_length (details); i++) {
    JsonObject *d = json_array_get_object_element (details, i);
    std::string type = json_object_get_string_member (d, "@type");
    if (type == "type.googleapis.com/google.rpc.RetryInfo") {
      retry_info = true;
      g_assert_cmpstr (json_object_get_string_member (d, "retryDelay"), ==,
          "0.3s");
    } else if (type == "type.googleapis.com/google.rpc.QuotaFailure") {
      quota = true;
      JsonObject *v = json_array_get_object_element (
          json_object_get_array_member (d, "violations"), 0);
      g_assert_cmpstr (json_object_get_string_member (v, "quotaId"), ==,
          "PerDayPerProject");
    }
  }
  g_assert_true (retry_info);
  g_assert_true (quota);
  g_assert_cmpuint (send ("POST", generate_url (emu),
          text_request ("c")).status, ==, 200);
  GPtr<JsonNode> log;
  g_assert_cmpstr (json_object_get_string_member (log_entry (emu, 1, log),
          "fault"), ==, "http");
}

void
test_sse_framing ()
{
  Emulator emu (R"({"responses": [{"text": "abcdefghijklmnopqrstuvwxyz"}],
      "faults": [{"match": "stream", "nth": 2, "type": "http", "status": 503,
      "mid_stream": true, "message": "overloaded"}]})");
  Reply r = send ("POST", generate_url (emu, "gemini-2.5-flash",
          "streamGenerateContent") + "?alt=sse", text_request ("x"));
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_true (g_str_has_suffix (r.body.c_str (), "\r\n\r\n"));
  gchar **events = g_strsplit (r.body.c_str (), "\r\n\r\n", -1);
  std::string text;
  guint n = 0;
  for (gchar **e = events; *e && **e; e++, n++) {
    g_assert_true (g_str_has_prefix (*e, "data: "));
    GPtr<JsonParser> p (json_parser_new ());
    g_assert_true (json_parser_load_from_data (p.get (), *e + 6, -1, nullptr));
    JsonObject *o = json_node_get_object (json_parser_get_root (p.get ()));
    JsonObject *cand = json_array_get_object_element (
        json_object_get_array_member (o, "candidates"), 0);
    JsonObject *part = json_array_get_object_element (
        json_object_get_array_member (json_object_get_object_member (cand,
                "content"), "parts"), 0);
    text += json_object_get_string_member (part, "text");
    bool last = !*(e + 1) || !**(e + 1);
    g_assert_cmpint (json_object_has_member (cand, "finishReason"), ==, last);
    g_assert_cmpint (json_object_has_member (o, "usageMetadata"), ==, last);
  }
  g_strfreev (events);
  g_assert_cmpuint (n, >, 1);
  g_assert_cmpstr (text.c_str (), ==, "abcdefghijklmnopqrstuvwxyz");

  Reply broken = send ("POST", generate_url (emu, "gemini-2.5-flash",
          "streamGenerateContent") + "?alt=sse", text_request ("x"));
  g_assert_cmpuint (broken.status, ==, 200);
  g_assert_true (g_str_has_prefix (broken.body.c_str (), "data: {\"candidates"));
  g_assert_nonnull (strstr (broken.body.c_str (),
          "data: {\"error\":{\"code\":503,\"message\":\"overloaded\""));
}

void
test_inspects_generated_webm ()
{
  Emulator emu;
  std::string webm = make_webm ();
  std::string body = "{\"contents\":[{\"role\":\"user\",\"parts\":["
      "{\"inlineData\":{\"mimeType\":\"video/webm\",\"data\":\"" +
      base64 (webm) + "\"},\"videoMetadata\":{\"fps\":2}},"
      "{\"text\":\"transcribe\"}]}]}";
  Reply r = send ("POST", generate_url (emu), body);
  g_assert_cmpuint (r.status, ==, 200);

  GPtr<JsonNode> log;
  JsonObject *e = log_entry (emu, 0, log);
  JsonObject *m = json_array_get_object_element (
      json_object_get_array_member (e, "media"), 0);
  g_assert_true (json_object_get_boolean_member (m, "decodable"));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m,
          "duration_s"), 3.0, 0.05);
  g_assert_cmpint (json_object_get_int_member (m, "video_frames"), ==, 30);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "fps"),
      10.0, 0.2);
  g_assert_cmpint (json_object_get_int_member (m, "width"), ==, 160);
  g_assert_cmpstr (json_object_get_string_member (m, "video_codec"), ==,
      "video/x-vp8");
  g_assert_cmpstr (json_object_get_string_member (m, "audio_codec"), ==,
      "audio/x-opus");
  g_assert_cmpint (json_object_get_int_member (m, "audio_rate"), ==, 48000);
  GPtr<gchar> logged (json_to_string (json_object_get_member (e, "body"),
          FALSE));
  g_assert_nonnull (strstr (logged.get (), ("\"data\":\"<" +
              std::to_string (webm.size ()) + " bytes>\"").c_str ()));

  /* usage: 3 s at 2 fps x 258 + 3 s x 32 audio */
  JsonObject *usage = json_object_get_object_member (r.object (),
      "usageMetadata");
  JsonArray *details = json_object_get_array_member (usage,
      "promptTokensDetails");
  g_assert_cmpint (json_object_get_int_member (
          json_array_get_object_element (details, 1), "tokenCount"), ==,
      6 * 258);
  g_assert_cmpint (json_object_get_int_member (
          json_array_get_object_element (details, 2), "tokenCount"), ==, 96);

  /* Gemini 3.x: 70 per frame by default and at MEDIUM, 280 at HIGH (set
   * on the request or on the part). */
  auto video_tokens = [&] (const std::string &request) {
    Reply g3 = send ("POST", generate_url (emu, "gemini-3.6-flash"), request);
    g_assert_cmpuint (g3.status, ==, 200);
    JsonArray *d = json_object_get_array_member (json_object_get_object_member (
            g3.object (), "usageMetadata"), "promptTokensDetails");
    return json_object_get_int_member (json_array_get_object_element (d, 1), "tokenCount");
  };
  g_assert_cmpint (video_tokens (body), ==, 6 * 70);
  std::string high = body;
  high.insert (high.size () - 1,
      ",\"generationConfig\":{\"mediaResolution\":\"MEDIA_RESOLUTION_HIGH\"}");
  g_assert_cmpint (video_tokens (high), ==, 6 * 280);
  std::string part_medium = high;
  part_medium.replace (part_medium.find ("\"videoMetadata\""), 0,
      "\"mediaResolution\":{\"level\":\"MEDIA_RESOLUTION_MEDIUM\"},");
  g_assert_cmpint (video_tokens (part_medium), ==, 6 * 70);

  /* garbage with a video MIME type is rejected and logged as undecodable */
  Reply junk = send ("POST", generate_url (emu),
      inline_request (base64 (std::string (4096, 'z')), "video/mp4", "x"));
  g_assert_cmpuint (junk.status, ==, 400);
  g_assert_cmpstr (json_object_get_string_member (junk.error (), "message"),
      ==, "Request contains an invalid argument.");
}

/* ---------- Batch API ---------- */

const char *kBatchScript = R"({"batch": {"pending_ms": 60, "running_ms": 120},
    "transcript": {"speakers": [{"id": "a", "name": "Alice"}],
      "utterances": [{"start": 1.0, "end": 2.0, "speaker": "a", "text": "Hi."}]},
    "faults": [{"match": "batch_request", "nth": 2, "type": "http", "status": 429,
      "message": "Quota exceeded"}]})";

std::string
batch_url (const Emulator &emu)
{
  return generate_url (emu, "gemini-2.5-flash", "batchGenerateContent");
}

std::string
inline_batch (std::initializer_list<const char *> keys)
{
  std::string items;
  for (const char *k : keys)
    items += std::string (items.empty () ? "" : ",") + "{\"request\":" +
        text_request (k) + ",\"metadata\":{\"key\":\"" + k + "\"}}";
  return "{\"batch\":{\"displayName\":\"t\",\"inputConfig\":{\"requests\":"
      "{\"requests\":[" + items + "]}}}}";
}

const char *
batch_state (const Reply &r)
{
  return json_object_get_string_member (json_object_get_object_member (r.object (),
          "metadata"), "state");
}

/* Polls the job until it is done; every state seen, in order. */
std::vector<std::string>
wait_done (const Emulator &emu, const std::string &name, Reply &last)
{
  std::vector<std::string> seen;
  for (int i = 0; i < 500; i++) {
    last = send ("GET", emu.url () + "/v1beta/" + name);
    g_assert_cmpuint (last.status, ==, 200);
    if (seen.empty () || seen.back () != batch_state (last))
      seen.emplace_back (batch_state (last));
    if (json_object_get_boolean_member_with_default (last.object (), "done", FALSE))
      return seen;
    g_usleep (10000);
  }
  g_assert_not_reached ();
}

void
test_batch_inline_job ()
{
  Emulator emu (kBatchScript);
  Reply created = send ("POST", batch_url (emu), inline_batch ({ "k1", "k2", "k3" }));
  g_assert_cmpuint (created.status, ==, 200);
  g_assert_cmpstr (batch_state (created), ==, "BATCH_STATE_PENDING");
  std::string name = json_object_get_string_member (created.object (), "name");
  g_assert_true (g_str_has_prefix (name.c_str (), "batches/"));

  Reply done;
  auto seen = wait_done (emu, name, done);
  g_assert_cmpuint (seen.size (), ==, 3);
  g_assert_cmpstr (seen[1].c_str (), ==, "BATCH_STATE_RUNNING");
  g_assert_cmpstr (seen[2].c_str (), ==, "BATCH_STATE_SUCCEEDED");
  JsonObject *meta = json_object_get_object_member (done.object (), "metadata");
  JsonObject *stats = json_object_get_object_member (meta, "batchStats");
  g_assert_cmpstr (json_object_get_string_member (stats, "requestCount"), ==, "3");
  g_assert_cmpstr (json_object_get_string_member (stats, "failedRequestCount"), ==, "1");
  JsonArray *list = json_object_get_array_member (json_object_get_object_member (
          json_object_get_object_member (meta, "output"), "inlinedResponses"),
      "inlinedResponses");
  g_assert_cmpuint (json_array_get_length (list), ==, 3);
  for (guint i = 0; i < 3; i++) {
    JsonObject *r = json_array_get_object_element (list, i);
    const std::string key = "k" + std::to_string (i + 1);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (r,
                "metadata"), "key"), ==, key.c_str ());
    /* the second request met the batch_request fault: an error kept with its key */
    g_assert_cmpint (json_object_has_member (r, "error"), ==, i == 1);
    if (i == 1) {
      JsonObject *e = json_object_get_object_member (r, "error");
      g_assert_cmpint (json_object_get_int_member (e, "code"), ==, 8);
      g_assert_cmpstr (json_object_get_string_member (e, "message"), ==, "Quota exceeded");
    } else {
      g_assert_nonnull (strstr (answer_text (Reply{200, {}, GPtr<JsonNode> (json_node_copy (
                  json_object_get_member (r, "response")))}).c_str (), "\"Hi.\""));
    }
  }

  /* each request went through generateContent, in the log as batch_request */
  GPtr<JsonNode> log;
  JsonObject *create = log_entry (emu, 0, log);
  g_assert_cmpstr (json_object_get_string_member (create, "kind"), ==, "batch_create");
  g_assert_cmpstr (json_object_get_string_member (create, "model"), ==, "gemini-2.5-flash");
  std::vector<std::string> tags;
  for (JsonObject *e : gemini::test::log_entries (log.get (), "batch_request"))
    tags.emplace_back (json_object_get_string_member (json_object_get_object_member (e,
            "headers"), "x-emulator-batch"));
  g_assert_cmpuint (tags.size (), ==, 3);
  for (guint i = 0; i < 3; i++) {
    const std::string want = name + " k" + std::to_string (i + 1);
    g_assert_cmpstr (tags[i].c_str (), ==, want.c_str ());
  }

  Reply second = send ("POST", batch_url (emu), inline_batch ({ "x" }));
  Reply page = send ("GET", emu.url () + "/v1beta/batches?pageSize=1");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (page.object (),
              "operations")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (page.object (), "nextPageToken"), ==, "1");
  Reply rest = send ("GET", emu.url () + "/v1beta/batches?pageSize=5&pageToken=1");
  g_assert_false (json_object_has_member (rest.object (), "nextPageToken"));

  g_assert_cmpuint (send ("DELETE", emu.url () + "/v1beta/" + name).status, ==, 200);
  Reply gone = send ("GET", emu.url () + "/v1beta/" + name);
  g_assert_cmpuint (gone.status, ==, 404);
  g_assert_cmpstr (json_object_get_string_member (gone.error (), "status"), ==, "NOT_FOUND");
}

void
test_batch_file_job ()
{
  Emulator emu (kBatchScript);
  std::string jsonl = "{\"key\":\"a\",\"request\":" + text_request ("one") + "}\n"
      "{\"key\":\"b\",\"request\":" + text_request ("two") + "}\n";
  Reply start = upload_start (emu, jsonl.size (), "application/jsonl");
  Reply up = upload_chunk (start.upload_url, jsonl, 0, true);
  std::string input = json_object_get_string_member (json_object_get_object_member (
          up.object (), "file"), "name");
  send ("GET", emu.url () + "/v1beta/" + input);
  Reply created = send ("POST", emu.url () + "/v1/models/gemini-2.5-flash:batchGenerateContent",
      "{\"batch\":{\"displayName\":\"f\",\"inputConfig\":{\"fileName\":\"" + input + "\"}}}");
  g_assert_cmpuint (created.status, ==, 200);
  Reply done;
  wait_done (emu, json_object_get_string_member (created.object (), "name"), done);
  g_assert_cmpstr (batch_state (done), ==, "BATCH_STATE_SUCCEEDED");
  std::string results = json_object_get_string_member (json_object_get_object_member (
          json_object_get_object_member (done.object (), "metadata"), "output"),
      "responsesFile");

  Reply file = send ("GET", emu.url () + "/v1beta/" + results);
  g_assert_cmpstr (json_object_get_string_member (file.object (), "source"), ==, "GENERATED");
  Reply bytes = send ("GET", emu.url () + "/v1beta/" + results + ":download?alt=media");
  g_assert_cmpuint (bytes.status, ==, 200);
  gchar **lines = g_strsplit (bytes.body.c_str (), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_true (g_str_has_prefix (lines[0], "{\"key\":\"a\",\"response\":{"));
  g_assert_true (g_str_has_prefix (lines[1], "{\"key\":\"b\",\"error\":{\"code\":8,"));
  g_strfreev (lines);

  g_assert_cmpuint (send ("GET", emu.url () + "/v1beta/" + results + ":download").status,
      ==, 400);
  Reply uploaded = send ("GET", emu.url () + "/v1beta/" + input + ":download?alt=media");
  g_assert_cmpuint (uploaded.status, ==, 400);
}

void
test_batch_is_strict ()
{
  Emulator emu (kBatchScript);
  auto message = [&] (const std::string &body, guint status = 400) {
    Reply r = send ("POST", batch_url (emu), body);
    g_assert_cmpuint (r.status, ==, status);
    return std::string (json_object_get_string_member (r.error (), "message"));
  };
  const std::string unknown = message ("{\"batch\":{\"inputConfig\":{\"requests\":"
      "{\"requests\":[]}},\"colour\":1}}");
  g_assert_cmpstr (unknown.c_str (), ==,
      "Invalid JSON payload received. Unknown name \"colour\" at 'batch': Cannot find field.");
  const std::string both = message ("{\"batch\":{\"inputConfig\":{\"fileName\":\"files/x\","
      "\"requests\":{\"requests\":[]}}}}");
  g_assert_nonnull (strstr (both.c_str (), "exactly one of"));
  const std::string empty = message ("{\"batch\":{\"inputConfig\":{\"requests\":"
      "{\"requests\":[]}}}}");
  g_assert_nonnull (strstr (empty.c_str (), "must not be empty"));
  const std::string bad_role = message ("{\"batch\":{\"inputConfig\":{\"requests\":{\"requests\":"
      "[{\"request\":{\"contents\":[{\"role\":\"robot\",\"parts\":[{\"text\":\"x\"}]}]}}]}}}}");
  g_assert_true (g_str_has_prefix (bad_role.c_str (),
          "batch.input_config.requests.requests[0].request: "));
  const std::string unnamed = message ("{\"batch\":{\"inputConfig\":{\"requests\":{\"requests\":"
      "[{\"request\":{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}}]}}}}");
  g_assert_cmpstr (unnamed.c_str (), ==, "batch.display_name is required.");
  const std::string missing = message ("{\"batch\":{\"inputConfig\":{\"fileName\":"
      "\"files/nosuchfile\"}}}", 403);
  g_assert_nonnull (strstr (missing.c_str (), "nosuchfile"));
  Reply unknown_model = send ("POST", generate_url (emu, "gemini-0-nope",
          "batchGenerateContent"), inline_batch ({ "a" }));
  g_assert_cmpuint (unknown_model.status, ==, 404);
  g_assert_cmpuint (send ("POST", batch_url (emu), inline_batch ({ "a" }), nullptr).status, ==,
      403);
  /* nothing was created */
  g_assert_false (json_object_has_member (send ("GET", emu.url () +
              "/v1beta/batches").object (), "operations"));
}

void
test_batch_outcomes_and_cancel ()
{
  Emulator emu (R"({"batch": {"pending_ms": 30, "running_ms": 30, "outcomes": [
      {"nth": 1, "state": "FAILED", "message": "Batch failed: model overloaded"},
      {"nth": 2, "state": "EXPIRED"}]}})");
  Reply failed;
  wait_done (emu, json_object_get_string_member (send ("POST", batch_url (emu),
              inline_batch ({ "a" })).object (), "name"), failed);
  g_assert_cmpstr (batch_state (failed), ==, "BATCH_STATE_FAILED");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
              failed.object (), "error"), "message"), ==, "Batch failed: model overloaded");
  g_assert_false (json_object_has_member (json_object_get_object_member (failed.object (),
              "metadata"), "output"));
  Reply expired;
  wait_done (emu, json_object_get_string_member (send ("POST", batch_url (emu),
              inline_batch ({ "a" })).object (), "name"), expired);
  g_assert_cmpstr (batch_state (expired), ==, "BATCH_STATE_EXPIRED");

  emu.set_script (R"({"batch": {"pending_ms": 5000}})");
  std::string name = json_object_get_string_member (send ("POST", batch_url (emu),
          inline_batch ({ "a" })).object (), "name");
  g_assert_cmpuint (send ("POST", emu.url () + "/v1beta/" + name + ":cancel").status, ==, 200);
  Reply cancelled;
  wait_done (emu, name, cancelled);
  g_assert_cmpstr (batch_state (cancelled), ==, "BATCH_STATE_CANCELLED");
  Reply again = send ("POST", emu.url () + "/v1beta/" + name + ":cancel");
  g_assert_cmpuint (again.status, ==, 400);
  g_assert_cmpstr (json_object_get_string_member (again.error (), "status"), ==,
      "FAILED_PRECONDITION");
  /* a failed, an expired or a cancelled job never ran a request */
  GPtr<JsonNode> log = emu.log ();
  g_assert_true (gemini::test::log_entries (log.get (), "batch_request").empty ());
}

/* models.get: the limits model.proto names, as scripted; 404 for a model
 * the script does not list. */
void
test_model_get ()
{
  Emulator emu (R"({"models": ["gemini-3.8-flash", "gemini-2.5-flash"],
      "model_limits": {"gemini-2.5-flash": {"input": 1000, "output": 500}}})");
  Reply r = send ("GET", emu.url () + "/v1beta/models/gemini-3.8-flash");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (r.object (), "name"), ==,
      "models/gemini-3.8-flash");
  g_assert_cmpint (json_object_get_int_member (r.object (), "inputTokenLimit"), ==, 1048576);
  g_assert_cmpint (json_object_get_int_member (r.object (), "outputTokenLimit"), ==, 65536);
  Reply scripted = send ("GET", emu.url () + "/v1beta/models/gemini-2.5-flash");
  g_assert_cmpint (json_object_get_int_member (scripted.object (), "outputTokenLimit"), ==, 500);
  g_assert_cmpuint (send ("GET", emu.url () + "/v1beta/models/gemini-nope").status, ==, 404);
  g_assert_cmpuint (send ("GET", emu.url () + "/v1beta/models/gemini-3.8-flash", {},
          nullptr).status, ==, 403);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/emulator/auth/missing-key-is-403-permission-denied",
      test_missing_key_is_403);
  g_test_add_func ("/emulator/auth/wrong-key-is-400-api-key-invalid",
      test_wrong_key_is_400_api_key_invalid);
  g_test_add_func ("/emulator/generate/unknown-model-is-404",
      test_unknown_model_is_404);
  g_test_add_func ("/emulator/models/get-gives-the-limits", test_model_get);
  g_test_add_func ("/emulator/validation/bad-base64-is-400",
      test_bad_base64_is_400);
  g_test_add_func ("/emulator/validation/unknown-field-is-400-naming-it",
      test_unknown_field_is_400_naming_it);
  g_test_add_func ("/emulator/upload/single-chunk-processing-then-active",
      test_upload_single_chunk_processing_then_active);
  g_test_add_func ("/emulator/upload/two-chunks", test_upload_two_chunks);
  g_test_add_func ("/emulator/upload/bad-offset-and-granularity-are-400",
      test_upload_bad_offset_and_granularity_are_400);
  g_test_add_func ("/emulator/upload/file-failed-fault-ends-in-failed",
      test_file_failed_fault);
  g_test_add_func ("/emulator/generate/timeline-answer-with-shuffled-voices",
      test_timeline_answer_with_shuffled_voices);
  g_test_add_func ("/emulator/faults/429-carries-retry-info-and-quota",
      test_429_fault_carries_retry_info);
  g_test_add_func ("/emulator/stream/sse-framing-and-mid-stream-error",
      test_sse_framing);
  g_test_add_func ("/emulator/media/inspects-generated-webm",
      test_inspects_generated_webm);
  g_test_add_func ("/emulator/batch/inline-job-states-results-errors-list-delete",
      test_batch_inline_job);
  g_test_add_func ("/emulator/batch/jsonl-file-job-and-result-download",
      test_batch_file_job);
  g_test_add_func ("/emulator/batch/create-is-strict", test_batch_is_strict);
  g_test_add_func ("/emulator/batch/failed-expired-and-cancelled-jobs",
      test_batch_outcomes_and_cancel);
  return g_test_run ();
}
