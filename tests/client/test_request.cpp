/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Request building: duration strings and the generateContent JSON shape. */
#include <gst/gst.h>

#include "assert_str.h"
#include "request.h"

using namespace gemini;

namespace {

GPtr<JsonNode>
parse (const char *json)
{
  GPtr<JsonParser> parser (json_parser_new ());
  GError *error = nullptr;
  g_assert_true (json_parser_load_from_data (parser.get (), json, -1, &error));
  g_assert_no_error (error);
  return ref_ptr (json_parser_get_root (parser.get ()));
}

std::string
dump (JsonNode *node)
{
  GPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  json_generator_set_pretty (gen.get (), TRUE);
  GPtr<gchar> s (json_generator_to_data (gen.get (), nullptr));
  return s.get ();
}

void
assert_json_equal (JsonNode *actual, const char *expected_json)
{
  GPtr<JsonNode> expected = parse (expected_json);
  if (!json_node_equal (actual, expected.get ())) {
    g_printerr ("expected:\n%s\nactual:\n%s\n", dump (expected.get ()).c_str (),
        dump (actual).c_str ());
    g_assert_not_reached ();
  }
}

GPtr<GBytes>
bytes_of (const char *s)
{
  return GPtr<GBytes> (g_bytes_new (s, strlen (s)));
}

void
test_duration_shortest_decimal ()
{
  assert_str_eq (duration_to_wire (12500 * GST_MSECOND), "12.5s");
  assert_str_eq (duration_to_wire (30 * GST_SECOND), "30s");
  assert_str_eq (duration_to_wire (1 * GST_MSECOND), "0.001s");
  assert_str_eq (duration_to_wire (0), "0s");
  assert_str_eq (duration_to_wire (1), "0.000000001s");
  assert_str_eq (duration_to_wire (3600 * GST_SECOND + 50 * GST_MSECOND), "3600.05s");
}

void
test_full_request_shape ()
{
  GenerateRequest req;

  Part media;
  media.data = FileDataPart{"video/webm", "https://example.test/v1beta/files/abc"};
  media.video_metadata = VideoMetadata{12500 * GST_MSECOND, 30 * GST_SECOND, 2.5};
  req.parts.push_back (std::move (media));

  Part inl;
  inl.data = InlineDataPart{"audio/ogg", bytes_of ("hello")};
  inl.video_metadata = VideoMetadata{std::nullopt, std::nullopt, 1.0};
  req.parts.push_back (std::move (inl));

  req.parts.push_back (Part::text ("Transcribe."));
  req.system_instruction = "You are a transcriber.";
  req.config.temperature = 0.5;
  req.config.top_p = 0.25;
  req.config.seed = 42;
  req.config.max_output_tokens = 8192;
  req.config.response_mime_type = "application/json";
  req.config.response_schema = parse (R"({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}})");
  req.config.media_resolution = MediaResolution::Low;
  req.config.thinking = ThinkingConfig{0, std::nullopt, true};
  req.cached_content = "cachedContents/xyz";

  GPtr<JsonNode> json = request_to_json (req);
  assert_json_equal (json.get (), R"({
    "contents": [{"role": "user", "parts": [
      {"fileData": {"mimeType": "video/webm", "fileUri": "https://example.test/v1beta/files/abc"},
       "videoMetadata": {"startOffset": "12.5s", "endOffset": "30s", "fps": 2.5}},
      {"inlineData": {"mimeType": "audio/ogg", "data": "aGVsbG8="},
       "videoMetadata": {"fps": 1.0}},
      {"text": "Transcribe."}
    ]}],
    "systemInstruction": {"parts": [{"text": "You are a transcriber."}]},
    "generationConfig": {
      "temperature": 0.5, "topP": 0.25, "seed": 42, "maxOutputTokens": 8192,
      "responseMimeType": "application/json",
      "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
      "mediaResolution": "MEDIA_RESOLUTION_LOW",
      "thinkingConfig": {"thinkingBudget": 0, "includeThoughts": true}
    },
    "cachedContent": "cachedContents/xyz"
  })");
}

void
test_unset_fields_are_omitted ()
{
  GenerateRequest req;
  req.parts.push_back (Part::text ("hi"));

  GPtr<JsonNode> json = request_to_json (req);
  assert_json_equal (json.get (), R"({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})");

  req.config.media_resolution = MediaResolution::Unspecified;
  req.config.thinking = ThinkingConfig{std::nullopt, std::string ("LOW"), false};
  json = request_to_json (req);
  assert_json_equal (json.get (), R"({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
    "generationConfig": {"thinkingConfig": {"thinkingLevel": "LOW"}}})");
}

void
test_inline_bytes_equals_serialized_size ()
{
  for (gsize n : {0, 1, 2, 3, 4, 1000, 65537}) {
    GenerateRequest req;
    std::string payload (n, '\xfb');
    Part p;
    p.data = InlineDataPart{"video/webm",
        GPtr<GBytes> (g_bytes_new (payload.data (), payload.size ()))};
    req.parts.push_back (std::move (p));
    req.parts.push_back (Part::text ("quote \" and newline \n and é"));
    req.config.temperature = 0.2;
    g_assert_cmpuint (request_inline_bytes (req), ==, request_to_string (req).size ());
  }
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/request/duration-to-wire-uses-shortest-exact-decimal",
      test_duration_shortest_decimal);
  g_test_add_func ("/request/json-has-rest-field-names-and-part-siblings", test_full_request_shape);
  g_test_add_func ("/request/unset-fields-are-omitted", test_unset_fields_are_omitted);
  g_test_add_func ("/request/inline-bytes-equals-serialized-size",
      test_inline_bytes_equals_serialized_size);

  return g_test_run ();
}
