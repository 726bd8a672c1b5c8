/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "validator.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "json_helpers.h"

namespace gemini::test::emu {

namespace {

constexpr const char *kVideoMimes[] = {
  "video/mp4", "video/mpeg", "video/mov", "video/quicktime", "video/avi",
  "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp",
};
/* The Gemini API's audio page (ai.google.dev/gemini-api/docs/audio) lists
 * these and no other: audio/webm or audio/opus is refused as undocumented. */
constexpr const char *kAudioMimes[] = {
  "audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac",
};

bool
in_list (std::string_view v, std::initializer_list<const char *> list)
{
  return std::any_of (list.begin (), list.end (),
      [&] (const char *s) { return v == s; });
}

bool
media_mime_ok (std::string_view mime)
{
  auto eq = [&] (const char *m) { return mime == m; };
  return std::any_of (std::begin (kVideoMimes), std::end (kVideoMimes), eq) ||
      std::any_of (std::begin (kAudioMimes), std::end (kAudioMimes), eq);
}

bool
strict_base64 (const char *s, gsize len)
{
  if (len % 4 != 0)
    return false;
  for (gsize i = 0; i < len; i++) {
    char c = s[i];
    if (g_ascii_isalnum (c) || c == '+' || c == '/')
      continue;
    if (c == '=' && (i == len - 1 || (i == len - 2 && s[len - 1] == '=')))
      continue;
    return false;
  }
  return true;
}

std::string
describe_value (JsonNode *n)
{
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return std::string ("\"") + json_node_get_string (n) + "\"";
  return to_json_string (n);
}

}  // namespace

std::string
unknown_name_message (const std::string &name, const std::string &path)
{
  return "Invalid JSON payload received. Unknown name \"" + name + "\"" +
      (path.empty () ? "" : " at '" + path + "'") + ": Cannot find field.";
}

bool
Validator::fail (const std::string &field, const std::string &message)
{
  if (!error)
    error = ApiError::bad_request (field, message);
  return false;
}

bool
Validator::fail_field (const std::string &field, const std::string &what)
{
  return fail (field, "* GenerateContentRequest." + field + ": " + what);
}

bool
Validator::unknown_fields (JsonObject *o, const std::string &path,
    std::initializer_list<const char *> known)
{
  GList *names = json_object_get_members (o);
  bool ok = true;
  for (GList *l = names; l && ok; l = l->next) {
    auto name = static_cast<const char *> (l->data);
    if (!in_list (snake_case (name), known))
      ok = fail (path, unknown_name_message (name, path));
  }
  g_list_free (names);
  return ok;
}

bool
Validator::want_object (JsonNode *n, const std::string &path, const char *type)
{
  if (JSON_NODE_HOLDS_OBJECT (n))
    return true;
  return fail (path, "Invalid value at '" + path + "' (type.googleapis.com/"
      "google.ai.generativelanguage.v1beta." + type + "), " +
      describe_value (n));
}

JsonObject *
Validator::message (JsonNode *n, const std::string &path, const char *type,
    std::initializer_list<const char *> known)
{
  if (!want_object (n, path, type))
    return nullptr;
  JsonObject *o = json_node_get_object (n);
  return unknown_fields (o, path, known) ? o : nullptr;
}

bool
Validator::want_array (JsonNode *n, const std::string &path)
{
  if (JSON_NODE_HOLDS_ARRAY (n))
    return true;
  return fail (path, "Invalid JSON payload received. Proto field is not "
      "repeating, cannot start list. At '" + path + "'");
}

bool
Validator::want_scalar (JsonNode *n, const std::string &path, const char *type,
    GType gtype)
{
  bool ok = JSON_NODE_HOLDS_VALUE (n) &&
      (gtype == G_TYPE_DOUBLE ? is_number (n) :
       gtype == G_TYPE_INT64 ? (is_number (n) &&
           std::floor (number_of (n)) == number_of (n)) :
       json_node_get_value_type (n) == gtype);
  if (ok)
    return true;
  return fail (path, "Invalid value at '" + path + "' (" + type + "), " +
      describe_value (n));
}

bool
Validator::want_enum (JsonNode *n, const std::string &path, const char *type,
    std::initializer_list<const char *> values)
{
  if (JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_STRING &&
      in_list (json_node_get_string (n), values))
    return true;
  return fail (path, "Invalid value at '" + path + "' (type.googleapis.com/"
      "google.ai.generativelanguage.v1beta." + type + "), " +
      describe_value (n));
}

bool
Validator::schema (JsonNode *n, const std::string &path)
{
  JsonObject *o = message (n, path, "Schema", { "type", "format", "title",
          "description", "nullable", "enum", "max_items", "min_items",
          "properties", "required", "min_properties", "max_properties",
          "min_length", "max_length", "pattern", "example", "any_of",
          "property_ordering", "default", "items", "minimum", "maximum" });
  if (!o)
    return false;
  if (JsonNode *t = member (o, "type");
      t && !want_enum (t, path + ".type", "Type", { "TYPE_UNSPECIFIED",
            "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT",
            "NULL" }))
    return false;
  if (JsonNode *items = member (o, "items");
      items && !schema (items, path + ".items"))
    return false;
  if (JsonNode *props = member (o, "properties")) {
    if (!want_object (props, path + ".properties", "Schema"))
      return false;
    JsonObject *po = json_node_get_object (props);
    GList *names = json_object_get_members (po);
    bool ok = true;
    for (GList *l = names; l && ok; l = l->next) {
      auto name = static_cast<const char *> (l->data);
      ok = schema (json_object_get_member (po, name),
          path + ".properties[" + name + "].value");
    }
    g_list_free (names);
    if (!ok)
      return false;
  }
  if (JsonNode *any = member (o, "any_of")) {
    if (!want_array (any, path + ".any_of"))
      return false;
    JsonArray *a = json_node_get_array (any);
    for (guint i = 0; i < json_array_get_length (a); i++)
      if (!schema (json_array_get_element (a, i),
              path + ".any_of[" + std::to_string (i) + "]"))
        return false;
  }
  return true;
}

bool
Validator::generation_config (JsonNode *n, ParsedRequest &req)
{
  const std::string path = "generation_config";
  JsonObject *o = message (n, path, "GenerationConfig", { "temperature",
          "top_p", "top_k", "candidate_count", "max_output_tokens",
          "stop_sequences", "seed", "presence_penalty", "frequency_penalty",
          "response_logprobs", "logprobs", "response_mime_type",
          "response_schema", "response_json_schema", "response_modalities",
          "media_resolution", "speech_config", "thinking_config",
          "image_config" });
  if (!o)
    return false;
  for (const char *f : { "temperature", "top_p", "presence_penalty",
          "frequency_penalty" })
    if (JsonNode *v = member (o, f);
        v && !want_scalar (v, path + "." + f, "TYPE_FLOAT", G_TYPE_DOUBLE))
      return false;
  for (const char *f : { "top_k", "candidate_count", "max_output_tokens",
          "seed", "logprobs" })
    if (JsonNode *v = member (o, f);
        v && !want_scalar (v, path + "." + f, "TYPE_INT32", G_TYPE_INT64))
      return false;
  if (JsonNode *v = member (o, "response_logprobs"); v &&
      !want_scalar (v, path + ".response_logprobs", "TYPE_BOOL",
          G_TYPE_BOOLEAN))
    return false;
  if (JsonNode *v = member (o, "media_resolution")) {
    if (!want_enum (v, path + ".media_resolution", "MediaResolution",
            { "MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW",
              "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH" }))
      return false;
    req.low_resolution =
        g_strcmp0 (json_node_get_string (v), "MEDIA_RESOLUTION_LOW") == 0;
    req.high_resolution =
        g_strcmp0 (json_node_get_string (v), "MEDIA_RESOLUTION_HIGH") == 0;
  }
  std::string mime;
  if (JsonNode *v = member (o, "response_mime_type")) {
    if (!want_scalar (v, path + ".response_mime_type", "TYPE_STRING",
            G_TYPE_STRING))
      return false;
    mime = json_node_get_string (v);
    if (!in_list (mime, { "text/plain", "application/json", "text/x.enum" }))
      return fail_field (path + ".response_mime_type",
          "allowed mimetypes are `text/plain`, `application/json` and "
          "`text/x.enum`.");
  }
  JsonNode *rs = member (o, "response_schema");
  JsonNode *rjs = member (o, "response_json_schema");
  if (rs && rjs)
    return fail_field (path + ".response_schema",
        "response_schema and response_json_schema cannot both be set.");
  if ((rs || rjs) && mime != "application/json" && mime != "text/x.enum")
    return fail_field (path + ".response_mime_type",
        "response_mime_type must be application/json or text/x.enum when "
        "a response schema is set.");
  if (rs && !schema (rs, path + ".response_schema"))
    return false;
  if (JsonNode *t = member (o, "thinking_config")) {
    JsonObject *to = message (t, path + ".thinking_config", "ThinkingConfig",
        { "thinking_budget", "include_thoughts", "thinking_level" });
    if (!to)
      return false;
    if (JsonNode *b = member (to, "thinking_budget"); b &&
        !want_scalar (b, path + ".thinking_config.thinking_budget",
            "TYPE_INT32", G_TYPE_INT64))
      return false;
    if (JsonNode *l = member (to, "thinking_level"); l &&
        !want_enum (l, path + ".thinking_config.thinking_level",
            "ThinkingLevel", { "THINKING_LEVEL_UNSPECIFIED", "MINIMAL",
              "LOW", "MEDIUM", "HIGH" }))
      return false;
  }
  req.generation_config.reset (json_node_copy (n));
  return true;
}

bool
Validator::video_metadata (JsonNode *n, const std::string &path, MediaPart &mp)
{
  JsonObject *o = message (n, path, "VideoMetadata",
      { "start_offset", "end_offset", "fps" });
  if (!o)
    return false;
  mp.has_video_metadata = true;
  for (const char *f : { "start_offset", "end_offset" }) {
    JsonNode *v = member (o, f);
    if (!v)
      continue;
    std::optional<double> d;
    if (JSON_NODE_HOLDS_VALUE (v) &&
        json_node_get_value_type (v) == G_TYPE_STRING)
      d = parse_proto_duration (json_node_get_string (v));
    if (!d)
      return fail (path + "." + f, "Invalid value at '" + path + "." + f +
          "' (type.googleapis.com/google.protobuf.Duration), " +
          describe_value (v));
    (g_str_equal (f, "start_offset") ? mp.start_offset : mp.end_offset) = d;
  }
  if (mp.start_offset && mp.end_offset && *mp.end_offset <= *mp.start_offset)
    return fail_field (path, "end_offset must be greater than start_offset.");
  if (JsonNode *v = member (o, "fps")) {
    if (!want_scalar (v, path + ".fps", "TYPE_DOUBLE", G_TYPE_DOUBLE))
      return false;
    mp.fps = number_of (v);
    if (!(mp.fps > 0.0 && mp.fps <= 24.0))
      return fail_field (path + ".fps", "fps must be in the range (0, 24].");
  }
  return true;
}

JsonObject *
Validator::media_source (JsonNode *n, const std::string &path,
    const char *type, const char *source, MediaPart &mp)
{
  JsonObject *o = message (n, path, type, { "mime_type", source });
  if (o)
    mp.mime = string_field (o, "mime_type");
  return o;
}

bool
Validator::inline_data (JsonNode *n, const std::string &path, MediaPart &mp)
{
  JsonObject *dob = media_source (n, path, "Blob", "data", mp);
  if (!dob)
    return false;
  JsonNode *data = member (dob, "data");
  if (!data || json_node_get_value_type (data) != G_TYPE_STRING)
    return fail_field (path + ".data", "data must not be empty.");
  const char *b64 = json_node_get_string (data);
  gsize len = strlen (b64);
  if (!strict_base64 (b64, len))
    return fail (path + ".data", "Invalid value at '" + path +
        ".data' (TYPE_BYTES), Base64 decoding failed for \"" +
        std::string (b64, std::min<gsize> (len, 32)) +
        (len > 32 ? "...\"" : "\""));
  gsize size = 0;
  guchar *raw = g_base64_decode (b64, &size);
  mp.inline_data.reset (g_bytes_new_take (raw, size));
  return true;
}

bool
Validator::file_data (JsonNode *n, const std::string &path, MediaPart &mp)
{
  JsonObject *fo = media_source (n, path, "FileData", "file_uri", mp);
  if (!fo)
    return false;
  std::string uri = string_field (fo, "file_uri");
  if (uri.empty ())
    return fail_field (path + ".file_uri", "file_uri must not be empty.");
  const char *slash = strrchr (uri.c_str (), '/');
  mp.file_id = slash ? slash + 1 : uri;
  if (!g_strstr_len (uri.c_str (), -1, "/files/"))
    return fail_field (path + ".file_uri", "Unsupported file uri: " + uri);
  return true;
}

bool
Validator::part_media_resolution (JsonNode *n, const std::string &path,
    MediaPart &mp)
{
  JsonObject *mo = message (n, path, "MediaResolution",
      { "level", "num_tokens" });
  if (!mo)
    return false;
  JsonNode *l = member (mo, "level");
  if (!l)
    return true;
  if (!want_enum (l, path + ".level", "MediaResolution.Level",
          { "MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH",
            "MEDIA_RESOLUTION_ULTRA_HIGH" }))
    return false;
  mp.low_resolution =
      g_str_equal (json_node_get_string (l), "MEDIA_RESOLUTION_LOW");
  mp.high_resolution =
      g_str_equal (json_node_get_string (l), "MEDIA_RESOLUTION_HIGH");
  mp.has_resolution = !g_str_equal (json_node_get_string (l),
      "MEDIA_RESOLUTION_UNSPECIFIED");
  return true;
}

bool
Validator::part (JsonNode *n, const std::string &path, ParsedRequest &req,
    bool system)
{
  JsonObject *o = message (n, path, "Part", { "text", "inline_data",
          "file_data", "video_metadata", "thought", "thought_signature",
          "media_resolution", "function_call", "function_response",
          "executable_code", "code_execution_result", "part_metadata" });
  if (!o)
    return false;
  const char *data_fields[] = { "text", "inline_data", "file_data",
    "function_call", "function_response", "executable_code",
    "code_execution_result" };
  const char *set = nullptr;
  for (const char *f : data_fields) {
    if (!member (o, f))
      continue;
    if (set)
      return fail (path, "Invalid JSON payload received. Oneof field "
          "'data' is already set. Cannot set '" + camel_case (f) + "'");
    set = f;
  }
  if (!set)
    return fail_field (path + ".data",
        "required oneof field 'data' must have one initialized field");

  if (JsonNode *t = member (o, "text")) {
    if (!want_scalar (t, path + ".text", "TYPE_STRING", G_TYPE_STRING))
      return false;
    const char *text = json_node_get_string (t);
    if (!req.prompt.empty ())
      req.prompt += "\n";
    req.prompt += text;
    req.text_chars += g_utf8_strlen (text, -1);
  }
  if (JsonNode *v = member (o, "thought"); v &&
      !want_scalar (v, path + ".thought", "TYPE_BOOL", G_TYPE_BOOLEAN))
    return false;

  MediaPart mp;
  if (JsonNode *d = member (o, "inline_data")) {
    if (!inline_data (d, path + ".inline_data", mp))
      return false;
  } else if (JsonNode *fd = member (o, "file_data")) {
    if (!file_data (fd, path + ".file_data", mp))
      return false;
  }
  if (system && (mp.inline_data || !mp.file_id.empty ()))
    return fail (path, "* GenerateContentRequest.system_instruction: "
        "system_instruction may only contain text parts.");
  if (mp.inline_data || !mp.file_id.empty ()) {
    if (mp.mime.empty ())
      return fail_field (path, "mime_type must be set.");
    if (!media_mime_ok (mp.mime))
      return fail (path, "Unsupported MIME type: " + mp.mime);
  }
  if (JsonNode *vm = member (o, "video_metadata")) {
    if (!mp.inline_data && mp.file_id.empty ())
      return fail_field (path + ".video_metadata", "video_metadata is only "
          "allowed with inline_data or file_data.");
    if (!video_metadata (vm, path + ".video_metadata", mp))
      return false;
    json_array_add_element (req.video_metadata.get (), json_node_copy (vm));
  }
  if (JsonNode *mr = member (o, "media_resolution");
      mr && !part_media_resolution (mr, path + ".media_resolution", mp))
    return false;
  if (mp.inline_data || !mp.file_id.empty ())
    req.media.push_back (std::move (mp));
  return true;
}

bool
Validator::content (JsonNode *n, const std::string &path, ParsedRequest &req,
    bool system)
{
  JsonObject *o = message (n, path, "Content", { "role", "parts" });
  if (!o)
    return false;
  if (JsonNode *r = member (o, "role"); r && !system) {
    if (!want_scalar (r, path + ".role", "TYPE_STRING", G_TYPE_STRING))
      return false;
    if (!in_list (json_node_get_string (r), { "user", "model" }))
      return fail (path + ".role", "Please use a valid role: user, model.");
  }
  JsonNode *parts = member (o, "parts");
  if (!parts || (JSON_NODE_HOLDS_ARRAY (parts) &&
          json_array_get_length (json_node_get_array (parts)) == 0))
    return fail_field (path + ".parts", "contents.parts must not be empty.");
  if (!want_array (parts, path + ".parts"))
    return false;
  JsonArray *a = json_node_get_array (parts);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!part (json_array_get_element (a, i),
            path + ".parts[" + std::to_string (i) + "]", req, system))
      return false;
  return true;
}

bool
Validator::contents_array (JsonNode *n, ParsedRequest &req)
{
  if (!want_array (n, "contents"))
    return false;
  JsonArray *a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!content (json_array_get_element (a, i),
            "contents[" + std::to_string (i) + "]", req, false))
      return false;
  return true;
}

bool
Validator::request (JsonNode *root, ParsedRequest &req)
{
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return fail ("", "Invalid JSON payload received. Expected an object.");
  JsonObject *o = json_node_get_object (root);
  if (!unknown_fields (o, "", { "contents", "system_instruction",
            "generation_config", "safety_settings", "tools", "tool_config",
            "cached_content" }))
    return false;
  JsonNode *contents = member (o, "contents");
  if (!contents || (JSON_NODE_HOLDS_ARRAY (contents) &&
          json_array_get_length (json_node_get_array (contents)) == 0))
    return fail_field ("contents", "contents is not specified");
  if (!contents_array (contents, req))
    return false;
  if (JsonNode *si = member (o, "system_instruction")) {
    ParsedRequest sys;
    if (!content (si, "system_instruction", sys, true))
      return false;
    req.text_chars += sys.text_chars;
  }
  if (JsonNode *gc = member (o, "generation_config");
      gc && !generation_config (gc, req))
    return false;
  if (JsonNode *ss = member (o, "safety_settings")) {
    if (!want_array (ss, "safety_settings"))
      return false;
    JsonArray *sa = json_node_get_array (ss);
    for (guint i = 0; i < json_array_get_length (sa); i++) {
      std::string p = "safety_settings[" + std::to_string (i) + "]";
      JsonNode *e = json_array_get_element (sa, i);
      if (!message (e, p, "SafetySetting", { "category", "threshold", "method" }))
        return false;
    }
  }
  if (JsonNode *cc = member (o, "cached_content")) {
    if (!want_scalar (cc, "cached_content", "TYPE_STRING", G_TYPE_STRING))
      return false;
    req.cached_content = json_node_get_string (cc);
  }
  return true;
}
bool
Validator::upload_metadata (JsonNode *root, std::string &display_name,
    std::string &mime)
{
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    if (!error)
      error = ApiError::make (400, "INVALID_ARGUMENT",
          "Invalid JSON payload received.");
    return false;
  }
  if (!unknown_fields (json_node_get_object (root), "", { "file" }))
    return false;
  JsonNode *f = member (json_node_get_object (root), "file");
  if (!f)
    return true;
  JsonObject *fo = message (f, "file", "File",
      { "name", "display_name", "mime_type", "size_bytes" });
  if (!fo)
    return false;
  display_name = string_field (fo, "display_name");
  if (mime.empty ())
    mime = string_field (fo, "mime_type");
  return true;
}

bool
Validator::cached_content (JsonObject *o, ParsedRequest &req, double &ttl)
{
  if (JsonNode *contents = member (o, "contents");
      contents && !contents_array (contents, req))
    return false;
  ttl = 3600.0;
  if (JsonNode *t = member (o, "ttl")) {
    auto d = JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_STRING
        ? parse_proto_duration (json_node_get_string (t)) : std::nullopt;
    if (!d)
      return fail ("ttl", "Invalid value at 'cached_content.ttl' "
          "(type.googleapis.com/google.protobuf.Duration), " + describe_value (t));
    ttl = *d;
  }
  return true;
}

}  // namespace gemini::test::emu
