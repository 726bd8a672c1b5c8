/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator.h"
#include "batch.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gst/gst.h>
#include <libsoup/soup.h>

#include "inspect.h"

GST_DEBUG_CATEGORY_STATIC (gemini_emulator_debug);
#define GST_CAT_DEFAULT gemini_emulator_debug

namespace gemini::test {

namespace {

constexpr gint64 kChunkGranularity = 8388608;
constexpr gint64 kDefaultMaxInlineBytes = 20971520;
constexpr const char *kDefaultModels[] = {
  "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite",
  "gemini-3-flash-preview", "gemini-3.5-flash", "gemini-3.6-flash",
  "gemini-3.8-flash",
};
/* models.get for the 2.5 and 3.x Flash models (model.proto fields). */
constexpr gint64 kDefaultInputTokenLimit = 1048576;
constexpr gint64 kDefaultOutputTokenLimit = 65536;
constexpr const char *kVideoMimes[] = {
  "video/mp4", "video/mpeg", "video/mov", "video/quicktime", "video/avi",
  "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp",
};
/* The Gemini API's audio page (ai.google.dev/gemini-api/docs/audio) lists
 * these and no other: audio/webm or audio/opus is refused as undocumented. */
constexpr const char *kAudioMimes[] = {
  "audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac",
};

void
init_debug ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (gemini_emulator_debug, "geminiemulator", 0,
        "Gemini API emulator");
  });
}

struct ObjectUnref {
  void operator() (gpointer p) const noexcept { g_object_unref (p); }
};
using MsgPtr = std::unique_ptr<SoupServerMessage, ObjectUnref>;

/* ---------- JSON helpers ---------- */

std::string
to_json_string (JsonNode *node)
{
  GPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  GPtr<gchar> s (json_generator_to_data (gen.get (), nullptr));
  return s.get ();
}

std::string
to_json_string (JsonObject *obj)
{
  GPtr<JsonNode> node (json_node_new (JSON_NODE_OBJECT));
  json_node_set_object (node.get (), obj);
  return to_json_string (node.get ());
}

GPtr<JsonNode>
parse_json (std::string_view text, std::string *error)
{
  GPtr<JsonParser> parser (json_parser_new ());
  GError *err = nullptr;
  if (!json_parser_load_from_data (parser.get (), text.data (),
          (gssize) text.size (), &err)) {
    if (error)
      *error = err->message;
    g_clear_error (&err);
    return nullptr;
  }
  JsonNode *root = json_parser_get_root (parser.get ());
  if (!root) {
    if (error)
      *error = "empty document";
    return nullptr;
  }
  return GPtr<JsonNode> (json_node_copy (root));
}

JsonNode *
string_node (std::string_view s)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (n, std::string (s).c_str ());
  return n;
}

std::string
get_string (JsonObject *o, const char *name, std::string def = {})
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  if (!n || json_node_get_value_type (n) != G_TYPE_STRING)
    return def;
  return json_node_get_string (n);
}

double
get_double (JsonObject *o, const char *name, double def)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return def;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    return (double) json_node_get_int (n);
  if (t == G_TYPE_DOUBLE)
    return json_node_get_double (n);
  return def;
}

std::optional<gint64>
get_int (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return std::nullopt;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    return json_node_get_int (n);
  if (t == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (n);
  return std::nullopt;
}

bool
is_number (JsonNode *n)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return false;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

double
number_of (JsonNode *n)
{
  return json_node_get_value_type (n) == G_TYPE_INT64 ?
      (double) json_node_get_int (n) : json_node_get_double (n);
}

std::string
snake_case (std::string_view name)
{
  std::string out;
  for (char c : name) {
    if (g_ascii_isupper (c)) {
      out += '_';
      out += g_ascii_tolower (c);
    } else {
      out += c;
    }
  }
  return out;
}

std::string
camel_case (std::string_view name)
{
  std::string out;
  bool up = false;
  for (char c : name) {
    if (c == '_') {
      up = true;
    } else {
      out += up ? g_ascii_toupper (c) : c;
      up = false;
    }
  }
  return out;
}

/* Proto JSON accepts both the lowerCamelCase and the original field name. */
JsonNode *
member (JsonObject *o, const char *snake)
{
  if (!o)
    return nullptr;
  if (JsonNode *n = json_object_get_member (o, snake))
    return n;
  return json_object_get_member (o, camel_case (snake).c_str ());
}

std::string
proto_duration (double seconds)
{
  /* proto3 JSON prints 0, 3, 6 or 9 fractional digits */
  gint64 ms = (gint64) std::llround (seconds * 1000.0);
  if (ms % 1000 == 0) {
    GPtr<gchar> s (g_strdup_printf ("%" G_GINT64_FORMAT "s", ms / 1000));
    return s.get ();
  }
  GPtr<gchar> s (g_strdup_printf ("%" G_GINT64_FORMAT ".%03" G_GINT64_FORMAT
          "s", ms / 1000, ms % 1000));
  return s.get ();
}

std::optional<double>
parse_proto_duration (std::string_view s)
{
  static GRegex *re = g_regex_new ("^(\\d+)(\\.\\d{1,9})?s$",
      G_REGEX_OPTIMIZE, (GRegexMatchFlags) 0, nullptr);
  std::string str (s);
  if (!g_regex_match (re, str.c_str (), (GRegexMatchFlags) 0, nullptr))
    return std::nullopt;
  return g_ascii_strtod (str.c_str (), nullptr);
}

std::string
rfc3339 (GDateTime *t)
{
  GPtr<gchar> s (g_date_time_format (t, "%Y-%m-%dT%H:%M:%S.%fZ"));
  return s.get ();
}

std::string
random_id (gsize len)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (gsize i = 0; i < len; i++)
    id += alphabet[g_random_int_range (0, 36)];
  return id;
}

/* ---------- script ---------- */

struct Speaker {
  std::string id, name, company, position, role;
  double visible_from = -1.0;
  double visible_until = INFINITY;
};

struct Utterance {
  double start = 0.0, end = 0.0;
  std::string speaker, text;
};

struct Fault {
  std::string match;  /* empty: any generate or stream */
  std::string type;
  std::optional<gint64> nth, count;
  guint status = 500;
  std::string grpc_status, message, retry_delay, quota_id, text;
  double keep_fraction = 0.5;
  gint64 delay_ms = 0;
  bool mid_stream = false;
  gint64 seen = 0, fired = 0;

  bool matches (const std::string &kind) const {
    if (match.empty ())
      return kind == "generate" || kind == "stream";
    if (match == "any")
      return kind != "control" && kind != "other";
    if (match == "upload")
      return kind == "upload_start" || kind == "upload_chunk";
    return match == kind;
  }
};

struct Script {
  std::string api_key = "test-key";
  std::string vertex_token = "test-token";
  std::vector<std::string> models;
  /* models.get's inputTokenLimit / outputTokenLimit per model; others get
   * the Gemini 2.5+ Flash figures. */
  std::map<std::string, std::pair<gint64, gint64>> model_limits;
  gint64 file_processing_polls = 1;
  double latency_ms = 0, latency_per_media_second_ms = 0;
  double output_chars_per_second = 0;   /* 0: the answer is there at once */
  std::string timecode_format = "mm:ss";
  gint64 max_inline_bytes = kDefaultMaxInlineBytes;
  bool has_transcript = false;
  bool shuffle_voices = false;
  std::string language = "en";       /* "" = the answer has no language field */
  std::vector<Speaker> speakers;
  std::vector<Utterance> utterances;
  std::vector<std::string> responses;
  gsize next_response = 0;
  std::vector<Fault> faults;
  bool require_upload_size = false;
  guint require_upload_size_status = 400;
  gint64 min_cache_tokens = 1024;
};

std::optional<Script>
parse_script (std::string_view text, std::string *error)
{
  std::string_view trimmed = text;
  while (!trimmed.empty () && g_ascii_isspace (trimmed.front ()))
    trimmed.remove_prefix (1);
  GPtr<JsonNode> root = trimmed.empty () ?
      parse_json ("{}", error) : parse_json (text, error);
  if (!root)
    return std::nullopt;
  if (!JSON_NODE_HOLDS_OBJECT (root.get ())) {
    *error = "script is not a JSON object";
    return std::nullopt;
  }
  JsonObject *o = json_node_get_object (root.get ());
  Script s;
  s.api_key = get_string (o, "api_key", s.api_key);
  s.vertex_token = get_string (o, "vertex_token", s.vertex_token);
  if (JsonNode *m = json_object_get_member (o, "models");
      m && JSON_NODE_HOLDS_ARRAY (m)) {
    JsonArray *a = json_node_get_array (m);
    for (guint i = 0; i < json_array_get_length (a); i++)
      s.models.emplace_back (json_array_get_string_element (a, i));
  } else {
    s.models.assign (std::begin (kDefaultModels), std::end (kDefaultModels));
  }
  if (JsonNode *m = json_object_get_member (o, "model_limits"); m && JSON_NODE_HOLDS_OBJECT (m)) {
    JsonObject *lo = json_node_get_object (m);
    GList *names = json_object_get_members (lo);
    for (GList *l = names; l; l = l->next) {
      JsonNode *v = json_object_get_member (lo, (const char *) l->data);
      if (!JSON_NODE_HOLDS_OBJECT (v))
        continue;
      JsonObject *vo = json_node_get_object (v);
      s.model_limits[(const char *) l->data] = {
        get_int (vo, "input").value_or (kDefaultInputTokenLimit),
        get_int (vo, "output").value_or (kDefaultOutputTokenLimit) };
    }
    g_list_free (names);
  }
  s.file_processing_polls =
      get_int (o, "file_processing_polls").value_or (s.file_processing_polls);
  s.latency_ms = get_double (o, "latency_ms", 0);
  /* true: refused with 400; a number: refused with that status. */
  if (JsonNode *n = json_object_get_member (o, "require_upload_size")) {
    if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64) {
      s.require_upload_size = true;
      s.require_upload_size_status = (guint) json_node_get_int (n);
    } else {
      s.require_upload_size = json_node_get_boolean (n);
    }
  }
  s.min_cache_tokens = get_int (o, "min_cache_tokens").value_or (1024);
  s.latency_per_media_second_ms =
      get_double (o, "latency_per_media_second_ms", 0);
  s.output_chars_per_second = get_double (o, "output_chars_per_second", 0);
  s.timecode_format = get_string (o, "timecode_format", s.timecode_format);
  if (s.timecode_format != "mm:ss" && s.timecode_format != "mm:ss.mmm" &&
      s.timecode_format != "h:mm:ss") {
    *error = "timecode_format must be mm:ss, mm:ss.mmm or h:mm:ss";
    return std::nullopt;
  }
  s.max_inline_bytes =
      get_int (o, "max_inline_bytes").value_or (s.max_inline_bytes);

  if (JsonNode *t = json_object_get_member (o, "transcript");
      t && JSON_NODE_HOLDS_OBJECT (t)) {
    JsonObject *to = json_node_get_object (t);
    s.has_transcript = true;
    s.shuffle_voices = json_object_get_boolean_member_with_default (to,
        "shuffle_voices", FALSE);
    s.language = json_object_get_string_member_with_default (to, "language", "en");
    if (JsonNode *sp = json_object_get_member (to, "speakers");
        sp && JSON_NODE_HOLDS_ARRAY (sp)) {
      JsonArray *a = json_node_get_array (sp);
      for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonObject *so = json_array_get_object_element (a, i);
        Speaker spk;
        spk.id = get_string (so, "id");
        spk.name = get_string (so, "name", "?");
        spk.company = get_string (so, "company", "?");
        spk.position = get_string (so, "position", "?");
        spk.role = get_string (so, "role_in_video", "?");
        spk.visible_from = get_double (so, "visible_from", -1.0);
        spk.visible_until = get_double (so, "visible_until", INFINITY);
        s.speakers.push_back (std::move (spk));
      }
    }
    if (JsonNode *ut = json_object_get_member (to, "utterances");
        ut && JSON_NODE_HOLDS_ARRAY (ut)) {
      JsonArray *a = json_node_get_array (ut);
      for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonObject *uo = json_array_get_object_element (a, i);
        Utterance u;
        u.start = get_double (uo, "start", 0);
        u.end = get_double (uo, "end", u.start);
        u.speaker = get_string (uo, "speaker");
        u.text = get_string (uo, "text");
        s.utterances.push_back (std::move (u));
      }
    }
  }

  if (JsonNode *r = json_object_get_member (o, "responses");
      r && JSON_NODE_HOLDS_ARRAY (r)) {
    JsonArray *a = json_node_get_array (r);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonObject *ro = json_array_get_object_element (a, i);
      if (!ro) {
        *error = "responses entries must be objects";
        return std::nullopt;
      }
      if (JsonNode *j = json_object_get_member (ro, "json"))
        s.responses.push_back (to_json_string (j));
      else
        s.responses.push_back (get_string (ro, "text"));
    }
  }

  if (JsonNode *f = json_object_get_member (o, "faults");
      f && JSON_NODE_HOLDS_ARRAY (f)) {
    JsonArray *a = json_node_get_array (f);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonObject *fo = json_array_get_object_element (a, i);
      if (!fo) {
        *error = "faults entries must be objects";
        return std::nullopt;
      }
      Fault ft;
      ft.match = get_string (fo, "match");
      ft.type = get_string (fo, "type", "http");
      ft.nth = get_int (fo, "nth");
      ft.count = get_int (fo, "count");
      if (ft.nth && !ft.count)
        ft.count = 1;
      ft.status = (guint) get_int (fo, "status").value_or (500);
      ft.grpc_status = get_string (fo, "grpc_status");
      ft.message = get_string (fo, "message");
      ft.retry_delay = get_string (fo, "retry_delay");
      ft.quota_id = get_string (fo, "quota_id");
      ft.text = get_string (fo, "text");
      ft.keep_fraction = get_double (fo, "keep_fraction", 0.5);
      ft.delay_ms = get_int (fo, "ms").value_or (
          get_int (fo, "delay_ms").value_or (0));
      ft.mid_stream = json_object_get_boolean_member_with_default (fo,
          "mid_stream", FALSE);
      static const char *types[] = { "http", "delay", "stall", "drop",
        "max_tokens", "safety", "recitation", "prompt_blocked", "empty",
        "text", "file_failed" };
      if (std::find_if (std::begin (types), std::end (types),
              [&] (const char *t) { return ft.type == t; }) ==
          std::end (types)) {
        *error = "unknown fault type \"" + ft.type + "\"";
        return std::nullopt;
      }
      s.faults.push_back (std::move (ft));
    }
  }
  return s;
}

const char *
grpc_status_for (guint http)
{
  switch (http) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 408: return "DEADLINE_EXCEEDED";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return http >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

/* ---------- errors ---------- */

struct ApiError {
  guint code = 400;
  std::string status = "INVALID_ARGUMENT";
  std::string message;
  GPtr<JsonArray> details;

  ApiError () = default;
  ApiError (ApiError &&) = default;
  ApiError &operator= (ApiError &&) = default;
  ApiError (const ApiError &o)
      : code (o.code), status (o.status), message (o.message),
        details (o.details ? json_array_ref (o.details.get ()) : nullptr) {}

  static ApiError make (guint code, std::string status, std::string message) {
    ApiError e;
    e.code = code;
    e.status = std::move (status);
    e.message = std::move (message);
    return e;
  }

  static ApiError bad_request (std::string field, std::string message) {
    ApiError e = make (400, "INVALID_ARGUMENT", message);
    JsonObject *d = json_object_new ();
    json_object_set_string_member (d, "@type",
        "type.googleapis.com/google.rpc.BadRequest");
    JsonArray *violations = json_array_new ();
    JsonObject *v = json_object_new ();
    json_object_set_string_member (v, "field", field.c_str ());
    json_object_set_string_member (v, "description", message.c_str ());
    json_array_add_object_element (violations, v);
    json_object_set_array_member (d, "fieldViolations", violations);
    e.add_detail (d);
    return e;
  }

  void add_detail (JsonObject *d) {
    if (!details)
      details.reset (json_array_new ());
    json_array_add_object_element (details.get (), d);
  }

  std::string body () const {
    GPtr<JsonObject> root (json_object_new ());
    JsonObject *err = json_object_new ();
    json_object_set_int_member (err, "code", code);
    json_object_set_string_member (err, "message", message.c_str ());
    json_object_set_string_member (err, "status", status.c_str ());
    if (details)
      json_object_set_array_member (err, "details",
          json_array_ref (details.get ()));
    json_object_set_object_member (root.get (), "error", err);
    return to_json_string (root.get ());
  }
};

ApiError
fault_error (const Fault &f, const std::string &model)
{
  std::string status = f.grpc_status.empty () ?
      grpc_status_for (f.status) : f.grpc_status;
  std::string message = f.message.empty () ?
      "The service encountered a scripted error." : f.message;
  ApiError e = ApiError::make (f.status, status, message);
  if (!f.quota_id.empty ()) {
    JsonObject *d = json_object_new ();
    json_object_set_string_member (d, "@type",
        "type.googleapis.com/google.rpc.QuotaFailure");
    JsonArray *violations = json_array_new ();
    JsonObject *v = json_object_new ();
    json_object_set_string_member (v, "quotaMetric",
        "generativelanguage.googleapis.com/generate_content_requests");
    json_object_set_string_member (v, "quotaId", f.quota_id.c_str ());
    JsonObject *dims = json_object_new ();
    json_object_set_string_member (dims, "location", "global");
    json_object_set_string_member (dims, "model", model.c_str ());
    json_object_set_object_member (v, "quotaDimensions", dims);
    json_array_add_object_element (violations, v);
    json_object_set_array_member (d, "violations", violations);
    e.add_detail (d);
  }
  if (!f.retry_delay.empty ()) {
    JsonObject *d = json_object_new ();
    json_object_set_string_member (d, "@type",
        "type.googleapis.com/google.rpc.RetryInfo");
    json_object_set_string_member (d, "retryDelay", f.retry_delay.c_str ());
    e.add_detail (d);
  }
  return e;
}

/* ---------- request validation ---------- */

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

/* One media part of a request: an inline blob or a file of this server. */
struct MediaPart {
  std::string mime;
  GPtr<GBytes> inline_data;
  std::string file_id;
  std::optional<double> start_offset, end_offset;
  double fps = 1.0;
  bool low_resolution = false;
  bool high_resolution = false;
  bool has_resolution = false;        /* a level other than UNSPECIFIED on the part */
  bool has_video_metadata = false;
  bool cached = false;               /* comes from the request's context cache */
  MediaInfo info;
};

struct ParsedRequest {
  std::vector<MediaPart> media;
  std::string cached_content;        /* "cachedContents/{id}" */
  gint64 cached_tokens = 0;
  std::string prompt;
  gsize text_chars = 0;
  GPtr<JsonArray> video_metadata{json_array_new ()};
  GPtr<JsonNode> generation_config;
  bool low_resolution = false;
  bool high_resolution = false;
};

class Validator {
public:
  std::optional<ApiError> error;

  bool fail (const std::string &field, const std::string &message) {
    if (!error)
      error = ApiError::bad_request (field, message);
    return false;
  }

  bool unknown_fields (JsonObject *o, const std::string &path,
      std::initializer_list<const char *> known) {
    GList *names = json_object_get_members (o);
    bool ok = true;
    for (GList *l = names; l && ok; l = l->next) {
      auto name = static_cast<const char *> (l->data);
      if (!in_list (snake_case (name), known)) {
        std::string msg = std::string ("Invalid JSON payload received. "
            "Unknown name \"") + name + "\"" +
            (path.empty () ? "" : " at '" + path + "'") + ": Cannot find field.";
        ok = fail (path, msg);
      }
    }
    g_list_free (names);
    return ok;
  }

  bool want_object (JsonNode *n, const std::string &path, const char *type) {
    if (JSON_NODE_HOLDS_OBJECT (n))
      return true;
    return fail (path, "Invalid value at '" + path + "' (type.googleapis.com/"
        "google.ai.generativelanguage.v1beta." + type + "), " +
        describe_value (n));
  }

  bool want_array (JsonNode *n, const std::string &path) {
    if (JSON_NODE_HOLDS_ARRAY (n))
      return true;
    return fail (path, "Invalid JSON payload received. Proto field is not "
        "repeating, cannot start list. At '" + path + "'");
  }

  bool want_scalar (JsonNode *n, const std::string &path, const char *type,
      GType gtype) {
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

  bool want_enum (JsonNode *n, const std::string &path, const char *type,
      std::initializer_list<const char *> values) {
    if (JSON_NODE_HOLDS_VALUE (n) &&
        json_node_get_value_type (n) == G_TYPE_STRING &&
        in_list (json_node_get_string (n), values))
      return true;
    return fail (path, "Invalid value at '" + path + "' (type.googleapis.com/"
        "google.ai.generativelanguage.v1beta." + type + "), " +
        describe_value (n));
  }

  bool schema (JsonNode *n, const std::string &path) {
    if (!want_object (n, path, "Schema"))
      return false;
    JsonObject *o = json_node_get_object (n);
    if (!unknown_fields (o, path, { "type", "format", "title", "description",
              "nullable", "enum", "max_items", "min_items", "properties",
              "required", "min_properties", "max_properties", "min_length",
              "max_length", "pattern", "example", "any_of",
              "property_ordering", "default", "items", "minimum",
              "maximum" }))
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

  bool generation_config (JsonNode *n, ParsedRequest &req) {
    const std::string path = "generation_config";
    if (!want_object (n, path, "GenerationConfig"))
      return false;
    JsonObject *o = json_node_get_object (n);
    if (!unknown_fields (o, path, { "temperature", "top_p", "top_k",
              "candidate_count", "max_output_tokens", "stop_sequences",
              "seed", "presence_penalty", "frequency_penalty",
              "response_logprobs", "logprobs", "response_mime_type",
              "response_schema", "response_json_schema",
              "response_modalities", "media_resolution", "speech_config",
              "thinking_config", "image_config" }))
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
        return fail (path + ".response_mime_type",
            "* GenerateContentRequest.generation_config.response_mime_type: "
            "allowed mimetypes are `text/plain`, `application/json` and "
            "`text/x.enum`.");
    }
    JsonNode *rs = member (o, "response_schema");
    JsonNode *rjs = member (o, "response_json_schema");
    if (rs && rjs)
      return fail (path + ".response_schema",
          "* GenerateContentRequest.generation_config.response_schema: "
          "response_schema and response_json_schema cannot both be set.");
    if ((rs || rjs) && mime != "application/json" && mime != "text/x.enum")
      return fail (path + ".response_mime_type",
          "* GenerateContentRequest.generation_config.response_mime_type: "
          "response_mime_type must be application/json or text/x.enum when "
          "a response schema is set.");
    if (rs && !schema (rs, path + ".response_schema"))
      return false;
    if (JsonNode *t = member (o, "thinking_config")) {
      if (!want_object (t, path + ".thinking_config", "ThinkingConfig"))
        return false;
      JsonObject *to = json_node_get_object (t);
      if (!unknown_fields (to, path + ".thinking_config",
              { "thinking_budget", "include_thoughts", "thinking_level" }))
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

  bool video_metadata (JsonNode *n, const std::string &path, MediaPart &mp) {
    if (!want_object (n, path, "VideoMetadata"))
      return false;
    JsonObject *o = json_node_get_object (n);
    if (!unknown_fields (o, path, { "start_offset", "end_offset", "fps" }))
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
      return fail (path, "* GenerateContentRequest." + path +
          ": end_offset must be greater than start_offset.");
    if (JsonNode *v = member (o, "fps")) {
      if (!want_scalar (v, path + ".fps", "TYPE_DOUBLE", G_TYPE_DOUBLE))
        return false;
      mp.fps = number_of (v);
      if (!(mp.fps > 0.0 && mp.fps <= 24.0))
        return fail (path + ".fps", "* GenerateContentRequest." + path +
            ".fps: fps must be in the range (0, 24].");
    }
    return true;
  }

  bool part (JsonNode *n, const std::string &path, ParsedRequest &req,
      bool system) {
    if (!want_object (n, path, "Part"))
      return false;
    JsonObject *o = json_node_get_object (n);
    if (!unknown_fields (o, path, { "text", "inline_data", "file_data",
              "video_metadata", "thought", "thought_signature",
              "media_resolution", "function_call", "function_response",
              "executable_code", "code_execution_result", "part_metadata" }))
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
      return fail (path + ".data", "* GenerateContentRequest." + path +
          ".data: required oneof field 'data' must have one initialized "
          "field");

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
      std::string p = path + ".inline_data";
      if (!want_object (d, p, "Blob"))
        return false;
      JsonObject *dob = json_node_get_object (d);
      if (!unknown_fields (dob, p, { "mime_type", "data" }))
        return false;
      mp.mime = get_string (dob, "mimeType", get_string (dob, "mime_type"));
      JsonNode *data = member (dob, "data");
      if (!data || json_node_get_value_type (data) != G_TYPE_STRING)
        return fail (p + ".data", "* GenerateContentRequest." + p +
            ".data: data must not be empty.");
      const char *b64 = json_node_get_string (data);
      gsize len = strlen (b64);
      if (!strict_base64 (b64, len))
        return fail (p + ".data", "Invalid value at '" + p +
            ".data' (TYPE_BYTES), Base64 decoding failed for \"" +
            std::string (b64, std::min<gsize> (len, 32)) +
            (len > 32 ? "...\"" : "\""));
      gsize size = 0;
      guchar *raw = g_base64_decode (b64, &size);
      mp.inline_data.reset (g_bytes_new_take (raw, size));
    } else if (JsonNode *fd = member (o, "file_data")) {
      std::string p = path + ".file_data";
      if (!want_object (fd, p, "FileData"))
        return false;
      JsonObject *fo = json_node_get_object (fd);
      if (!unknown_fields (fo, p, { "mime_type", "file_uri" }))
        return false;
      mp.mime = get_string (fo, "mimeType", get_string (fo, "mime_type"));
      std::string uri = get_string (fo, "fileUri", get_string (fo, "file_uri"));
      if (uri.empty ())
        return fail (p + ".file_uri", "* GenerateContentRequest." + p +
            ".file_uri: file_uri must not be empty.");
      const char *slash = strrchr (uri.c_str (), '/');
      mp.file_id = slash ? slash + 1 : uri;
      if (!g_strstr_len (uri.c_str (), -1, "/files/"))
        return fail (p + ".file_uri", "* GenerateContentRequest." + p +
            ".file_uri: Unsupported file uri: " + uri);
    }
    if (system && (mp.inline_data || !mp.file_id.empty ()))
      return fail (path, "* GenerateContentRequest.system_instruction: "
          "system_instruction may only contain text parts.");
    if (mp.inline_data || !mp.file_id.empty ()) {
      if (mp.mime.empty ())
        return fail (path, "* GenerateContentRequest." + path +
            ": mime_type must be set.");
      if (!media_mime_ok (mp.mime))
        return fail (path, "Unsupported MIME type: " + mp.mime);
    }
    if (JsonNode *vm = member (o, "video_metadata")) {
      if (!mp.inline_data && mp.file_id.empty ())
        return fail (path + ".video_metadata", "* GenerateContentRequest." +
            path + ".video_metadata: video_metadata is only allowed with "
            "inline_data or file_data.");
      if (!video_metadata (vm, path + ".video_metadata", mp))
        return false;
      json_array_add_element (req.video_metadata.get (), json_node_copy (vm));
    }
    if (JsonNode *mr = member (o, "media_resolution")) {
      if (!want_object (mr, path + ".media_resolution", "MediaResolution"))
        return false;
      JsonObject *mo = json_node_get_object (mr);
      if (!unknown_fields (mo, path + ".media_resolution",
              { "level", "num_tokens" }))
        return false;
      if (JsonNode *l = member (mo, "level")) {
        if (!want_enum (l, path + ".media_resolution.level",
                "MediaResolution.Level", { "MEDIA_RESOLUTION_UNSPECIFIED",
                  "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM",
                  "MEDIA_RESOLUTION_HIGH", "MEDIA_RESOLUTION_ULTRA_HIGH" }))
          return false;
        mp.low_resolution =
            g_str_equal (json_node_get_string (l), "MEDIA_RESOLUTION_LOW");
        mp.high_resolution =
            g_str_equal (json_node_get_string (l), "MEDIA_RESOLUTION_HIGH");
        mp.has_resolution = !g_str_equal (json_node_get_string (l),
            "MEDIA_RESOLUTION_UNSPECIFIED");
      }
    }
    if (mp.inline_data || !mp.file_id.empty ())
      req.media.push_back (std::move (mp));
    return true;
  }

  bool content (JsonNode *n, const std::string &path, ParsedRequest &req,
      bool system) {
    if (!want_object (n, path, "Content"))
      return false;
    JsonObject *o = json_node_get_object (n);
    if (!unknown_fields (o, path, { "role", "parts" }))
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
      return fail (path + ".parts", "* GenerateContentRequest." + path +
          ".parts: contents.parts must not be empty.");
    if (!want_array (parts, path + ".parts"))
      return false;
    JsonArray *a = json_node_get_array (parts);
    for (guint i = 0; i < json_array_get_length (a); i++)
      if (!part (json_array_get_element (a, i),
              path + ".parts[" + std::to_string (i) + "]", req, system))
        return false;
    return true;
  }

  bool request (JsonNode *root, ParsedRequest &req) {
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
      return fail ("contents", "* GenerateContentRequest.contents: contents "
          "is not specified");
    if (!want_array (contents, "contents"))
      return false;
    JsonArray *a = json_node_get_array (contents);
    for (guint i = 0; i < json_array_get_length (a); i++)
      if (!content (json_array_get_element (a, i),
              "contents[" + std::to_string (i) + "]", req, false))
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
        if (!want_object (e, p, "SafetySetting") ||
            !unknown_fields (json_node_get_object (e), p,
                { "category", "threshold", "method" }))
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
};

/* ---------- answers ---------- */

std::string
format_timecode (double t, const std::string &format)
{
  t = std::max (t, 0.0);
  if (format == "mm:ss.mmm") {
    gint64 ms = std::llround (t * 1000.0);
    GPtr<gchar> s (g_strdup_printf ("%02d:%02d.%03d", (int) (ms / 60000),
            (int) (ms / 1000 % 60), (int) (ms % 1000)));
    return s.get ();
  }
  gint64 sec = std::llround (t);
  GPtr<gchar> s (format == "h:mm:ss" ?
      g_strdup_printf ("%d:%02d:%02d", (int) (sec / 3600),
          (int) (sec / 60 % 60), (int) (sec % 60)) :
      g_strdup_printf ("%02d:%02d", (int) (sec / 60), (int) (sec % 60)));
  return s.get ();
}

std::optional<double>
parse_stream_time (const char *s)
{
  int h = 0, m = 0, sec = 0, ms = 0;
  if (sscanf (s, "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4)
    return std::nullopt;
  return h * 3600.0 + m * 60.0 + sec + ms / 1000.0;
}

/* videoMetadata applies to video only (content.proto: "should only be
 * specified while the video data is presented in inline_data or
 * file_data"): the offsets of an audio part address nothing, and the model
 * hears the whole audio. */
bool
has_offsets (const MediaPart &m)
{
  return (m.start_offset || m.end_offset) && g_str_has_prefix (m.mime.c_str (), "video/");
}

struct Clip {
  double start = 0.0;
  double end = INFINITY;
  /* "Transcribe only the speech from MM:SS [to MM:SS]": clip-relative
   * seconds. */
  double from = 0.0;
  double until = INFINITY;
};

/* The part of the clip the prompt asks for, as the audio docs phrase it. */
void
transcribe_range (const std::string &prompt, Clip &clip)
{
  static GRegex *re = g_regex_new ("Transcribe only the speech from "
      "(?:(\\d+):)?(\\d+):(\\d\\d)(?: to (?:(\\d+):)?(\\d+):(\\d\\d))?",
      G_REGEX_OPTIMIZE, (GRegexMatchFlags) 0, nullptr);
  GMatchInfo *mi = nullptr;
  auto seconds_at = [&mi] (int first) {
    GPtr<gchar> h (g_match_info_fetch (mi, first));
    GPtr<gchar> m (g_match_info_fetch (mi, first + 1));
    GPtr<gchar> sec (g_match_info_fetch (mi, first + 2));
    return g_ascii_strtod (h ? h.get () : "0", nullptr) * 3600
        + g_ascii_strtod (m ? m.get () : "0", nullptr) * 60
        + g_ascii_strtod (sec ? sec.get () : "0", nullptr);
  };
  if (g_regex_match (re, prompt.c_str (), (GRegexMatchFlags) 0, &mi)) {
    clip.from = seconds_at (1);
    GPtr<gchar> until (g_match_info_fetch (mi, 5));
    if (until && *until.get ())
      clip.until = seconds_at (4);
  }
  g_match_info_free (mi);
}

/* The speakers-table request of a whole-file job (gst/prompt.cpp). */
bool
speakers_only (const std::string &prompt)
{
  return prompt.find ("Generate a JSON object with keys `language` and `task2_speakers`")
      != std::string::npos;
}

Clip
clip_of (const ParsedRequest &req)
{
  static GRegex *re = g_regex_new ("covers (\\d+:\\d\\d:\\d\\d\\.\\d\\d\\d) "
      "to (\\d+:\\d\\d:\\d\\d\\.\\d\\d\\d) of the stream", G_REGEX_OPTIMIZE,
      (GRegexMatchFlags) 0, nullptr);
  Clip clip;
  transcribe_range (req.prompt, clip);
  GMatchInfo *mi = nullptr;
  if (g_regex_match (re, req.prompt.c_str (), (GRegexMatchFlags) 0, &mi)) {
    GPtr<gchar> a (g_match_info_fetch (mi, 1));
    GPtr<gchar> b (g_match_info_fetch (mi, 2));
    auto s = parse_stream_time (a.get ());
    auto e = parse_stream_time (b.get ());
    g_match_info_free (mi);
    if (s && e) {
      clip.start = *s;
      clip.end = *e;
      return clip;
    }
  } else {
    g_match_info_free (mi);
  }
  double longest = 0.0;
  for (const auto &m : req.media) {
    if (has_offsets (m)) {
      clip.start = m.start_offset.value_or (0.0);
      clip.end = m.end_offset.value_or (m.info.duration_s > 0 ?
          m.info.duration_s : INFINITY);
      return clip;
    }
    longest = std::max (longest, m.info.duration_s);
  }
  if (longest > 0.0)
    clip.end = longest;
  return clip;
}

/* Seconds of media the model "sees" in this part. */
double
media_seconds (const MediaPart &m)
{
  double dur = m.info.duration_s;
  if (!has_offsets (m))
    return dur;
  double start = std::min (m.start_offset.value_or (0.0), dur);
  double end = std::min (m.end_offset.value_or (dur), dur);
  return std::max (0.0, end - start);
}

std::string
timeline_answer (const Script &s, const Clip &clip, gint64 request_index,
    const std::string &prompt)
{
  std::vector<const Utterance *> heard;
  std::vector<std::string> order;
  /* Asked for the rest of the clip, the answer may repeat the row the
   * previous answer was cut in. */
  const double lower = clip.from > 0.0 ? clip.start + clip.from - 0.5 : clip.start;
  const double upper = std::min (clip.end, clip.start + clip.until);
  for (const auto &u : s.utterances) {
    if (u.start < lower || u.start >= upper)
      continue;
    heard.push_back (&u);
    if (std::find (order.begin (), order.end (), u.speaker) == order.end ())
      order.push_back (u.speaker);
  }
  gint64 n = (gint64) order.size ();
  gint64 rotation = (s.shuffle_voices && n > 0) ? request_index % n : 0;
  auto voice_of = [&] (const std::string &id) -> gint64 {
    gint64 i = std::find (order.begin (), order.end (), id) - order.begin ();
    return (i + rotation) % n + 1;
  };

  GPtr<JsonObject> root (json_object_new ());
  if (!s.language.empty ())
    json_object_set_string_member (root.get (), "language", s.language.c_str ());
  JsonArray *lines = json_array_new ();
  for (const Utterance *u : heard) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "start",
        format_timecode (u->start - clip.start, s.timecode_format).c_str ());
    json_object_set_string_member (o, "end",
        format_timecode (u->end - clip.start, s.timecode_format).c_str ());
    json_object_set_string_member (o, "text", u->text.c_str ());
    json_object_set_int_member (o, "voice", voice_of (u->speaker));
    json_array_add_object_element (lines, o);
  }
  if (speakers_only (prompt))
    json_array_unref (lines);
  else
    json_object_set_array_member (root.get (), "task1_transcripts", lines);

  std::vector<std::pair<gint64, std::string>> by_voice;
  for (const auto &id : order)
    by_voice.emplace_back (voice_of (id), id);
  std::sort (by_voice.begin (), by_voice.end ());
  JsonArray *speakers = json_array_new ();
  for (const auto &[voice, id] : by_voice) {
    auto it = std::find_if (s.speakers.begin (), s.speakers.end (),
        [&] (const Speaker &sp) { return sp.id == id; });
    Speaker sp = it != s.speakers.end () ? *it : Speaker{id, "?", "?", "?", "?"};
    /* The model names whom it sees introduced in the clip, and whom the
     * prompt's table of known speakers lists (it is taken to match voices
     * perfectly). */
    bool seen = (sp.visible_from < 0 || clip.end > sp.visible_from)
        && clip.start < sp.visible_until;
    seen = seen || prompt.find ("- name: " + sp.name + ";") != std::string::npos;
    JsonObject *o = json_object_new ();
    json_object_set_int_member (o, "voice", voice);
    json_object_set_string_member (o, "name", seen ? sp.name.c_str () : "?");
    json_object_set_string_member (o, "company",
        seen ? sp.company.c_str () : "?");
    json_object_set_string_member (o, "position",
        seen ? sp.position.c_str () : "?");
    json_object_set_string_member (o, "role_in_video", sp.role.c_str ());
    json_array_add_object_element (speakers, o);
  }
  json_object_set_array_member (root.get (), "task2_speakers", speakers);
  return to_json_string (root.get ());
}

struct Usage {
  gint64 text = 0, video = 0, audio = 0, candidates = 0, cached = 0;

  JsonObject *to_json (bool with_candidates) const {
    JsonObject *o = json_object_new ();
    gint64 prompt = text + video + audio;
    json_object_set_int_member (o, "promptTokenCount", prompt);
    if (with_candidates)
      json_object_set_int_member (o, "candidatesTokenCount", candidates);
    json_object_set_int_member (o, "totalTokenCount",
        prompt + (with_candidates ? candidates : 0));
    if (cached > 0)
      json_object_set_int_member (o, "cachedContentTokenCount", cached);
    JsonArray *details = json_array_new ();
    auto add = [&] (const char *modality, gint64 count) {
      JsonObject *d = json_object_new ();
      json_object_set_string_member (d, "modality", modality);
      json_object_set_int_member (d, "tokenCount", count);
      json_array_add_object_element (details, d);
    };
    add ("TEXT", text);
    if (video)
      add ("VIDEO", video);
    if (audio)
      add ("AUDIO", audio);
    json_object_set_array_member (o, "promptTokensDetails", details);
    return o;
  }
};

/* Tokens per sampled frame (reference section 6): Gemini 2.x 258, 66 at
 * LOW; Gemini 3.x 70 at LOW and MEDIUM (its default for video is LOW), 280
 * at HIGH. A part's level overrides the request's. */
gint64
frame_tokens (const std::string &model, const ParsedRequest &req, const MediaPart &m)
{
  const bool low = m.has_resolution ? m.low_resolution : req.low_resolution;
  const bool high = m.has_resolution ? m.high_resolution : req.high_resolution;
  if (g_str_has_prefix (model.c_str (), "gemini-3"))
    return high ? 280 : 70;
  return low ? 66 : 258;
}

Usage
usage_of (const ParsedRequest &req, const std::string &model)
{
  Usage u;
  u.text = (gint64) (req.text_chars / 4);
  for (const auto &m : req.media) {
    double secs = media_seconds (m);
    gint64 video = 0, audio = 0;
    if (m.info.has_video) {
      gint64 frames = (gint64) std::ceil (secs * m.fps - 1e-9);
      video = frames * frame_tokens (model, req, m);
    }
    if (m.info.has_audio)
      audio = (gint64) std::ceil (secs - 1e-9) * 32;
    u.video += video;
    u.audio += audio;
    if (m.cached)
      u.cached += video + audio;
  }
  return u;
}

/* What the model "said", before it is framed as JSON or SSE. */
struct Answer {
  std::string text;
  std::string finish_reason = "STOP";
  bool no_text = false;
  bool prompt_blocked = false;
  bool empty = false;
};

JsonObject *
candidate_json (const std::string &text, const char *finish_reason,
    bool with_text)
{
  JsonObject *c = json_object_new ();
  if (with_text) {
    JsonObject *content = json_object_new ();
    JsonArray *parts = json_array_new ();
    JsonObject *p = json_object_new ();
    json_object_set_string_member (p, "text", text.c_str ());
    json_array_add_object_element (parts, p);
    json_object_set_array_member (content, "parts", parts);
    json_object_set_string_member (content, "role", "model");
    json_object_set_object_member (c, "content", content);
  }
  if (finish_reason)
    json_object_set_string_member (c, "finishReason", finish_reason);
  if (finish_reason && g_str_equal (finish_reason, "SAFETY")) {
    JsonArray *ratings = json_array_new ();
    JsonObject *r = json_object_new ();
    json_object_set_string_member (r, "category",
        "HARM_CATEGORY_DANGEROUS_CONTENT");
    json_object_set_string_member (r, "probability", "HIGH");
    json_object_set_boolean_member (r, "blocked", TRUE);
    json_array_add_object_element (ratings, r);
    json_object_set_array_member (c, "safetyRatings", ratings);
  }
  json_object_set_int_member (c, "index", 0);
  return c;
}

/* The GenerateContentResponse objects of an answer: one for generateContent,
 * several text deltas for streaming. */
std::vector<std::string>
response_chunks (const Answer &a, const Usage &usage, const std::string &model,
    const std::string &response_id, int pieces)
{
  std::vector<std::string> out;
  auto finish = [&] (JsonObject *o, bool with_candidates) {
    json_object_set_object_member (o, "usageMetadata",
        usage.to_json (with_candidates));
    json_object_set_string_member (o, "modelVersion", model.c_str ());
    json_object_set_string_member (o, "responseId", response_id.c_str ());
    out.push_back (to_json_string (o));
  };
  if (a.empty) {
    GPtr<JsonObject> o (json_object_new ());
    json_object_set_array_member (o.get (), "candidates", json_array_new ());
    out.push_back (to_json_string (o.get ()));
    return out;
  }
  if (a.prompt_blocked) {
    GPtr<JsonObject> o (json_object_new ());
    JsonObject *fb = json_object_new ();
    json_object_set_string_member (fb, "blockReason", "SAFETY");
    json_object_set_object_member (o.get (), "promptFeedback", fb);
    finish (o.get (), false);
    return out;
  }
  if (a.no_text) {
    GPtr<JsonObject> o (json_object_new ());
    JsonArray *cands = json_array_new ();
    json_array_add_object_element (cands,
        candidate_json ({}, a.finish_reason.c_str (), false));
    json_object_set_array_member (o.get (), "candidates", cands);
    finish (o.get (), true);
    return out;
  }
  glong chars = g_utf8_strlen (a.text.c_str (), -1);
  pieces = (int) std::max<glong> (1, std::min<glong> (pieces, chars));
  const char *p = a.text.c_str ();
  for (int i = 0; i < pieces; i++) {
    glong from = chars * i / pieces, to = chars * (i + 1) / pieces;
    const char *b = g_utf8_offset_to_pointer (p, from);
    const char *e = g_utf8_offset_to_pointer (p, to);
    bool last = i == pieces - 1;
    GPtr<JsonObject> o (json_object_new ());
    JsonArray *cands = json_array_new ();
    json_array_add_object_element (cands, candidate_json (std::string (b, e),
            last ? a.finish_reason.c_str () : nullptr, true));
    json_object_set_array_member (o.get (), "candidates", cands);
    if (last) {
      finish (o.get (), true);
    } else {
      json_object_set_string_member (o.get (), "modelVersion", model.c_str ());
      json_object_set_string_member (o.get (), "responseId",
          response_id.c_str ());
      out.push_back (to_json_string (o.get ()));
    }
  }
  return out;
}

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

/* ---------- files ---------- */

struct StoredFile {
  std::string id, display_name, mime, sha256, create_time, expire_time;
  std::string source = "UPLOADED";   /* GENERATED: a batch's results */
  std::shared_ptr<const std::string> content;
  gint64 size = 0;
  gint64 polls_left = 0;
  bool fail = false;
  std::string fail_message;
  MediaInfo info;

  const char *state () const {
    return polls_left > 0 ? "PROCESSING" : fail ? "FAILED" : "ACTIVE";
  }

  JsonObject *to_json (const std::string &base_url) const {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "name", ("files/" + id).c_str ());
    if (!display_name.empty ())
      json_object_set_string_member (o, "displayName", display_name.c_str ());
    json_object_set_string_member (o, "mimeType", mime.c_str ());
    json_object_set_string_member (o, "sizeBytes",
        std::to_string (size).c_str ());
    json_object_set_string_member (o, "createTime", create_time.c_str ());
    json_object_set_string_member (o, "updateTime", create_time.c_str ());
    json_object_set_string_member (o, "expirationTime", expire_time.c_str ());
    json_object_set_string_member (o, "sha256Hash", sha256.c_str ());
    json_object_set_string_member (o, "uri",
        (base_url + "/v1beta/files/" + id).c_str ());
    json_object_set_string_member (o, "state", state ());
    json_object_set_string_member (o, "source", source.c_str ());
    if (g_str_equal (state (), "ACTIVE") && info.has_video) {
      JsonObject *vm = json_object_new ();
      json_object_set_string_member (vm, "videoDuration",
          proto_duration (info.duration_s).c_str ());
      json_object_set_object_member (o, "videoMetadata", vm);
    }
    if (g_str_equal (state (), "FAILED")) {
      JsonObject *e = json_object_new ();
      json_object_set_int_member (e, "code", 400);
      json_object_set_string_member (e, "message", fail_message.c_str ());
      json_object_set_object_member (o, "error", e);
    }
    return o;
  }
};

/* A cachedContents entry: the media parts and text of its contents. */
struct StoredCache {
  std::string id, model, display_name, create_time, expire_time;
  gint64 expire_us = 0;
  gint64 tokens = 0;
  std::string text;
  std::vector<MediaPart> media;      /* inline_data dropped; info kept */

  JsonObject *to_json () const {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "name", ("cachedContents/" + id).c_str ());
    json_object_set_string_member (o, "model", model.c_str ());
    if (!display_name.empty ())
      json_object_set_string_member (o, "displayName", display_name.c_str ());
    json_object_set_string_member (o, "createTime", create_time.c_str ());
    json_object_set_string_member (o, "updateTime", create_time.c_str ());
    json_object_set_string_member (o, "expireTime", expire_time.c_str ());
    JsonObject *u = json_object_new ();
    json_object_set_int_member (u, "totalTokenCount", tokens);
    json_object_set_object_member (o, "usageMetadata", u);
    return o;
  }
};

struct UploadSession {
  std::string display_name, mime;
  gint64 declared = -1;
  GPtr<GByteArray> data{g_byte_array_new ()};
  bool fail = false;
  std::string fail_message;
};

}  // namespace

/* One HTTP request in flight. Lives on the server thread; worker threads
 * never hold it. */
struct Call {
  Emulator::Impl *impl = nullptr;
  MsgPtr msg;
  gsize log_index = 0;
  /* owns a reference: the log may be cleared while the call is in flight */
  GPtr<JsonObject> entry;
  std::string kind;
  std::string model;
  bool paused = false;
  bool disconnected = false;
  gulong disconnect_id = 0;

  bool stream = false;
  bool sse = true;
  ParsedRequest req;
  std::optional<Fault> fault;
  gint64 request_index = 0;

  ~Call () {
    if (disconnect_id)
      g_signal_handler_disconnect (msg.get (), disconnect_id);
  }
};
using CallPtr = std::shared_ptr<Call>;

struct Emulator::Impl {
  /* guards everything below up to the server-thread section */
  mutable std::mutex lock;
  Script script;
  std::vector<GPtr<JsonObject>> log;
  std::vector<std::string> file_order;
  std::map<std::string, StoredFile> files;
  std::map<std::string, UploadSession> uploads;
  std::map<std::string, StoredCache> caches;
  gint64 generate_count = 0;
  std::unique_ptr<BatchService> batches;

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

  /* ---- async plumbing ---- */

  void pause (const CallPtr &call) {
    if (!call->paused && !call->disconnected) {
      soup_server_message_pause (call->msg.get ());
      call->paused = true;
    }
  }

  struct Deferred {
    Impl *impl;
    std::function<void ()> fn;
    GSource *source = nullptr;
  };

  void defer (const CallPtr &call, double ms, std::function<void ()> fn) {
    if (ms <= 0) {
      fn ();
      return;
    }
    pause (call);
    auto d = new Deferred{this, std::move (fn)};
    d->source = g_timeout_source_new ((guint) std::ceil (ms));
    g_source_set_callback (d->source, [] (gpointer data) -> gboolean {
          auto d = static_cast<Deferred *> (data);
          d->impl->timers.erase (d->source);
          d->fn ();
          return G_SOURCE_REMOVE;
        }, d, [] (gpointer data) { delete static_cast<Deferred *> (data); });
    timers.insert (d->source);
    g_source_attach (d->source, ctx.get ());
    g_source_unref (d->source);
  }

  /* Runs @work on a worker thread, then @done back on the server thread. */
  void offload (const CallPtr &call, std::function<void ()> work,
      std::function<void ()> done) {
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
                if (!d->impl->stopping)
                  d->fn ();
                return G_SOURCE_REMOVE;
              }, d,
              [] (gpointer data) { delete static_cast<Deferred *> (data); });
          std::lock_guard<std::mutex> lk (workers_lock);
          if (--workers == 0)
            workers_done.notify_all ();
        }).detach ();
  }

  /* ---- log ---- */

  void log_set (const CallPtr &call, const char *name, JsonNode *value) {
    std::lock_guard<std::mutex> lk (lock);
    if (call->entry)
      json_object_set_member (call->entry.get (), name, value);
    else
      json_node_unref (value);
  }

  void log_string (const CallPtr &call, const char *name, const std::string &v) {
    log_set (call, name, string_node (v));
  }

  void log_fault (const CallPtr &call, const Fault &f) {
    log_string (call, "fault", f.type);
  }

  /* ---- answers ---- */

  void respond (const CallPtr &call, guint status, const std::string &body,
      const char *content_type = "application/json; charset=UTF-8",
      std::initializer_list<std::pair<const char *, std::string>> headers = {}) {
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

  /* SSE events written one at a time as a chunked body: the first after
   * `first_ms`, the others spread over the next `spread_ms`, as the text is
   * generated. */
  void respond_paced (const CallPtr &call, const std::vector<std::string> &events,
      double first_ms, double spread_ms) {
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

  void respond_error (const CallPtr &call, const ApiError &e,
      std::initializer_list<std::pair<const char *, std::string>> headers = {}) {
    GST_DEBUG ("request %" G_GSIZE_FORMAT ": %u %s %s", call->log_index,
        e.code, e.status.c_str (), e.message.c_str ());
    respond (call, e.code, e.body (), "application/json; charset=UTF-8",
        headers);
  }

  void drop (const CallPtr &call) {
    if (call->disconnected)
      return;
    GIOStream *stream = soup_server_message_steal_connection (call->msg.get ());
    if (stream) {
      g_io_stream_close (stream, nullptr, nullptr);
      g_object_unref (stream);
    }
    call->disconnected = true;
  }

  /* Handles the fault types that act the same for every kind of request.
   * Returns true when the request is done with. */
  bool transport_fault (const CallPtr &call, const Fault &f) {
    log_fault (call, f);
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

  std::optional<Fault> take_fault (const std::string &kind) {
    std::lock_guard<std::mutex> lk (lock);
    std::optional<Fault> chosen;
    for (auto &f : script.faults) {
      if (!f.matches (kind))
        continue;
      f.seen++;
      bool due = (!f.nth || f.seen >= *f.nth) && (!f.count || f.fired < *f.count);
      if (due && !chosen) {
        f.fired++;
        chosen = f;
      }
    }
    return chosen;
  }

  /* ---- handlers ---- */

  void on_request (SoupServerMessage *msg, GHashTable *query);
  bool check_api_key (const CallPtr &call, GHashTable *query);
  bool check_bearer (const CallPtr &call);
  void handle_control (const CallPtr &call, const std::string &path);
  void handle_generate (const CallPtr &call, const std::string &version,
      bool vertex, GHashTable *query);
  void finish_generate (const CallPtr &call);
  void handle_upload_start (const CallPtr &call);
  void handle_upload_chunk (const CallPtr &call, const std::string &upload_id);
  void handle_file_get (const CallPtr &call, const std::string &id);
  void handle_file_list (const CallPtr &call, GHashTable *query);
  void handle_model_get (const CallPtr &call, GHashTable *query);
  void handle_file_delete (const CallPtr &call, const std::string &id);
  void handle_batch (const CallPtr &call, const std::string &path, GHashTable *query);
  BatchHost batch_host ();
  void handle_cache_create (const CallPtr &call);
  void handle_cache_get (const CallPtr &call, const std::string &id);
  void handle_cache_delete (const CallPtr &call, const std::string &id);
  std::optional<ApiError> resolve_files (ParsedRequest &req);
  std::optional<ApiError> resolve_cache (const CallPtr &call);

  std::string log_json () const {
    std::lock_guard<std::mutex> lk (lock);
    GPtr<JsonObject> root (json_object_new ());
    JsonArray *a = json_array_new ();
    for (const auto &e : log)
      json_array_add_object_element (a, json_object_ref (e.get ()));
    json_object_set_array_member (root.get (), "requests", a);
    return to_json_string (root.get ());
  }

  bool set_script (std::string_view text, std::string *error) {
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

  void reset () {
    batches->reset ();
    std::lock_guard<std::mutex> lk (lock);
    log.clear ();
    files.clear ();
    file_order.clear ();
    uploads.clear ();
    caches.clear ();
    generate_count = 0;
    for (auto &f : script.faults)
      f.seen = f.fired = 0;
    script.next_response = 0;
  }
};

namespace {

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

const char *
query_get (GHashTable *query, const char *name)
{
  return query ? static_cast<const char *> (g_hash_table_lookup (query, name))
      : nullptr;
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

}  // namespace

void
Emulator::Impl::on_request (SoupServerMessage *msg, GHashTable *query)
{
  auto call = std::make_shared<Call> ();
  call->impl = this;
  call->msg.reset (static_cast<SoupServerMessage *> (g_object_ref (msg)));
  call->disconnect_id = g_signal_connect (msg, "disconnected",
      G_CALLBACK (+[] (SoupServerMessage *, gpointer data) {
        static_cast<Call *> (data)->disconnected = true;
      }), call.get ());

  GUri *uri = soup_server_message_get_uri (msg);
  GPtr<gchar> path_c (g_uri_unescape_string (g_uri_get_path (uri), nullptr));
  std::string path = path_c ? path_c.get () : g_uri_get_path (uri);
  std::string method = soup_server_message_get_method (msg);
  std::string raw_query = g_uri_get_query (uri) ? g_uri_get_query (uri) : "";
  {
    static GRegex *key_re = g_regex_new ("(^|&)key=[^&]*", G_REGEX_OPTIMIZE,
        (GRegexMatchFlags) 0, nullptr);
    GPtr<gchar> redacted (g_regex_replace (key_re, raw_query.c_str (), -1, 0,
            "\\1key=REDACTED", (GRegexMatchFlags) 0, nullptr));
    if (redacted)
      raw_query = redacted.get ();
  }

  std::vector<std::string> g;
  std::string version, id;
  bool vertex = false;
  if (g_str_has_prefix (path.c_str (), "/emulator/")) {
    call->kind = "control";
  } else if (match ("^/(v1beta|v1)/models/([^/:]+):(generateContent|"
          "streamGenerateContent)$", path, g) && method == "POST") {
    version = g[0];
    call->model = g[1];
    call->kind = g[2] == "streamGenerateContent" ? "stream" :
        header (msg, BATCH_REQUEST_HEADER).empty () ? "generate" : "batch_request";
  } else if (match ("^/(v1|v1beta1)/projects/[^/]+/locations/[^/]+/publishers/"
          "google/models/([^/:]+):(generateContent|streamGenerateContent)$",
          path, g) && method == "POST") {
    version = g[0];
    call->model = g[1];
    call->kind = g[2] == "generateContent" ? "generate" : "stream";
    vertex = true;
  } else if (match ("^/upload/(v1beta|v1)/files$", path, g) &&
      method == "POST") {
    call->kind = query_get (query, "upload_id") ? "upload_chunk" :
        "upload_start";
  } else if (match ("^/(v1beta|v1)/files/([a-z0-9-]+)$", path, g)) {
    id = g[1];
    call->kind = method == "GET" ? "file_get" :
        method == "DELETE" ? "file_delete" : "other";
  } else if (match ("^/(v1beta|v1)/files$", path, g) && method == "GET") {
    call->kind = "file_list";
  } else if (std::string k = BatchService::kind_of (method, path); !k.empty ()) {
    call->kind = k;
  } else if (match ("^/(v1beta|v1)/models/([^/:]+)$", path, g) && method == "GET") {
    call->model = g[1];
    call->kind = "model_get";
  } else if (match ("^/(v1beta|v1)/cachedContents$", path, g) && method == "POST") {
    call->kind = "cache_create";
  } else if (match ("^/(v1beta|v1)/cachedContents/([a-z0-9-]+)$", path, g)) {
    id = g[1];
    call->kind = method == "GET" ? "cache_get" :
        method == "DELETE" ? "cache_delete" : "other";
  } else {
    call->kind = "other";
  }
  call->stream = call->kind == "stream";

  SoupMessageHeaders *req_headers = soup_server_message_get_request_headers (msg);
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
  json_object_set_string_member (entry, "method", method.c_str ());
  json_object_set_string_member (entry, "path", path.c_str ());
  json_object_set_string_member (entry, "query", raw_query.c_str ());
  json_object_set_string_member (entry, "kind", call->kind.c_str ());
  if (call->model.empty ())
    json_object_set_null_member (entry, "model");
  else
    json_object_set_string_member (entry, "model", call->model.c_str ());
  json_object_set_int_member (entry, "status", 0);
  json_object_set_null_member (entry, "fault");
  json_object_set_boolean_member (entry, "api_key_in_query",
      query_get (query, "key") != nullptr);
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
  bool is_reset = call->kind == "control" && path == "/emulator/reset";
  if (!is_reset) {
    std::lock_guard<std::mutex> lk (lock);
    call->log_index = log.size ();
    json_object_set_int_member (entry, "index", (gint64) log.size ());
    call->entry.reset (json_object_ref (entry));
    log.emplace_back (entry);
  } else {
    json_object_unref (entry);
    call->log_index = G_MAXSIZE;
  }
  GST_DEBUG ("%s %s (%s)", method.c_str (), path.c_str (), call->kind.c_str ());

  if (call->kind == "control")
    handle_control (call, path);
  else if (call->kind == "generate" || call->kind == "stream" ||
      call->kind == "batch_request")
    handle_generate (call, version, vertex, query);
  else if (call->kind == "upload_start")
    handle_upload_start (call);
  else if (call->kind == "upload_chunk")
    handle_upload_chunk (call, query_get (query, "upload_id"));
  else if (call->kind == "file_get")
    handle_file_get (call, id);
  else if (call->kind == "file_delete")
    handle_file_delete (call, id);
  else if (call->kind == "file_list")
    handle_file_list (call, query);
  else if (call->kind == "model_get")
    handle_model_get (call, query);
  else if (!BatchService::kind_of (method, path).empty ())
    handle_batch (call, path, query);
  else if (call->kind == "cache_create")
    handle_cache_create (call);
  else if (call->kind == "cache_get")
    handle_cache_get (call, id);
  else if (call->kind == "cache_delete")
    handle_cache_delete (call, id);
  else
    respond_error (call, ApiError::make (404, "NOT_FOUND",
            "Method not found: " + method + " " + path));
}

bool
Emulator::Impl::check_api_key (const CallPtr &call, GHashTable *query)
{
  std::string key = header (call->msg.get (), "x-goog-api-key");
  if (key.empty () && query_get (query, "key"))
    key = query_get (query, "key");
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
Emulator::Impl::check_bearer (const CallPtr &call)
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
Emulator::Impl::handle_control (const CallPtr &call, const std::string &path)
{
  std::string method = soup_server_message_get_method (call->msg.get ());
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
Emulator::Impl::handle_generate (const CallPtr &call,
    const std::string &version, bool vertex, GHashTable *query)
{
  if (vertex ? !check_bearer (call) : !check_api_key (call, query))
    return;
  if (call->stream) {
    const char *alt = query_get (query, "alt");
    call->sse = alt && g_str_equal (alt, "sse");
  }

  gint64 max_inline;
  bool known_model;
  {
    std::lock_guard<std::mutex> lk (lock);
    max_inline = script.max_inline_bytes;
    known_model = std::find (script.models.begin (), script.models.end (),
        call->model) != script.models.end ();
  }
  if (!known_model) {
    std::string text = vertex ?
        "Publisher Model `publishers/google/models/" + call->model +
        "` was not found or your project does not have access to it. Please "
        "ensure you are using a valid model version. For more information, "
        "see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/"
        "model-versions" :
        "models/" + call->model + " is not found for API version " + version +
        ", or is not supported for generateContent. Call ListModels to see "
        "the list of available models and their supported methods.";
    respond_error (call, ApiError::make (404, "NOT_FOUND", text));
    return;
  }

  std::string body = body_string (call->msg.get ());
  if ((gint64) body.size () > max_inline) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Request payload size exceeds the limit: " +
            std::to_string (max_inline) + " bytes."));
    return;
  }
  std::string parse_error;
  GPtr<JsonNode> root = parse_json (body, &parse_error);
  if (!root) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Invalid JSON payload received. " + parse_error));
    return;
  }
  /* json_node_copy () is shallow: parse again for a copy we may rewrite */
  GPtr<JsonNode> logged = parse_json (body, nullptr);
  redact_inline_data (logged.get ());
  log_set (call, "body", logged.release ());

  Validator v;
  if (!v.request (root.get (), call->req)) {
    respond_error (call, *v.error);
    return;
  }
  log_string (call, "prompt", call->req.prompt);
  log_set (call, "video_metadata",
      json_node_init_array (json_node_alloc (), call->req.video_metadata.get ()));
  if (call->req.generation_config)
    log_set (call, "generation_config",
        json_node_copy (call->req.generation_config.get ()));

  if (auto error = resolve_files (call->req)) {
    respond_error (call, *error);
    return;
  }
  if (auto error = resolve_cache (call)) {
    respond_error (call, *error);
    return;
  }

  call->fault = take_fault (call->kind);
  {
    std::lock_guard<std::mutex> lk (lock);
    call->request_index = generate_count++;
  }
  if (call->fault && transport_fault (call, *call->fault))
    return;

  bool has_inline = std::any_of (call->req.media.begin (),
      call->req.media.end (), [] (const MediaPart &m) {
        return (bool) m.inline_data;
      });
  if (!has_inline) {
    finish_generate (call);
    return;
  }
  /* The worker gets its own references to the blobs, never the Call. */
  auto jobs = std::make_shared<std::vector<std::pair<GPtr<GBytes>,
      std::string>>> ();
  for (const auto &m : call->req.media)
    jobs->emplace_back (m.inline_data ? ref_ptr (m.inline_data.get ()) :
        GPtr<GBytes> (), m.mime);
  auto results = std::make_shared<std::vector<std::optional<MediaInfo>>> ();
  offload (call, [jobs, results] {
        for (const auto &[data, mime] : *jobs)
          results->push_back (data ?
              std::optional<MediaInfo> (inspect_media (data.get (), mime)) :
              std::nullopt);
      }, [this, call, results] {
        for (gsize i = 0; i < results->size (); i++)
          if ((*results)[i])
            call->req.media[i].info = *(*results)[i];
        finish_generate (call);
      });
}

void
Emulator::Impl::finish_generate (const CallPtr &call)
{
  ParsedRequest &req = call->req;
  JsonArray *media = json_array_new ();
  bool decodable = true;
  double seconds = 0;
  for (const auto &m : req.media) {
    json_array_add_element (media, m.info.to_json ());
    decodable = decodable && m.info.decodable;
    seconds += media_seconds (m);
  }
  log_set (call, "media", json_node_init_array (json_node_alloc (), media));
  json_array_unref (media);
  if (!decodable) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Request contains an invalid argument."));
    return;
  }

  Clip clip = clip_of (req);
  {
    JsonObject *c = json_object_new ();
    json_object_set_double_member (c, "start", clip.start);
    if (std::isfinite (clip.end))
      json_object_set_double_member (c, "end", clip.end);
    else
      json_object_set_null_member (c, "end");
    json_object_set_double_member (c, "from", clip.from);
    if (std::isfinite (clip.until))
      json_object_set_double_member (c, "until", clip.until);
    log_set (call, "clip", json_node_init_object (json_node_alloc (), c));
    json_object_unref (c);
  }

  Answer answer;
  double latency;
  double chars_per_second;
  {
    std::lock_guard<std::mutex> lk (lock);
    if (script.next_response < script.responses.size ())
      answer.text = script.responses[script.next_response++];
    else if (script.has_transcript)
      answer.text = timeline_answer (script, clip, call->request_index, req.prompt);
    else
      answer.text = "{\"task1_transcripts\":[],\"task2_speakers\":[]}";
    latency = script.latency_ms + script.latency_per_media_second_ms * seconds;
    chars_per_second = script.output_chars_per_second;
  }

  const std::optional<Fault> &f = call->fault;
  if (f) {
    if (f->type == "delay") {
      latency += (double) f->delay_ms;
    } else if (f->type == "max_tokens") {
      glong chars = g_utf8_strlen (answer.text.c_str (), -1);
      glong keep = (glong) (chars * std::clamp (f->keep_fraction, 0.0, 1.0));
      answer.text.resize (g_utf8_offset_to_pointer (answer.text.c_str (), keep) -
          answer.text.c_str ());
      answer.finish_reason = "MAX_TOKENS";
    } else if (f->type == "safety" || f->type == "recitation") {
      answer.no_text = true;
      answer.finish_reason = f->type == "safety" ? "SAFETY" : "RECITATION";
      answer.text.clear ();
    } else if (f->type == "prompt_blocked") {
      answer.prompt_blocked = true;
      answer.text.clear ();
    } else if (f->type == "empty") {
      answer.empty = true;
      answer.text.clear ();
    } else if (f->type == "text") {
      answer.text = f->text;
    }
  }

  Usage usage = usage_of (req, call->model);
  usage.cached += req.cached_tokens;
  usage.candidates = g_utf8_strlen (answer.text.c_str (), -1) / 4;
  std::string response_id = random_id (20);
  /* Paced output streams in events of about 100 characters, as the service
   * sends a few dozen tokens at a time. */
  const glong answer_chars = g_utf8_strlen (answer.text.c_str (), -1);
  const int pieces = !call->stream ? 1 : chars_per_second > 0
      ? (int) std::max<glong> (3, answer_chars / 100) : 3;
  auto chunks = response_chunks (answer, usage, call->model, response_id, pieces);
  if (chars_per_second > 0 && call->stream && call->sse && !f) {
    respond_paced (call, chunks, latency, answer_chars / chars_per_second * 1000.0);
    return;
  }
  if (chars_per_second > 0)
    latency += answer_chars / chars_per_second * 1000.0;

  std::string body;
  const char *content_type = "application/json; charset=UTF-8";
  bool mid_stream_error = f && f->type == "http" && f->mid_stream;
  if (call->stream && call->sse) {
    content_type = "text/event-stream";
    gsize sent = 0;
    for (const auto &c : chunks) {
      if (mid_stream_error && sent > 0 && sent + 1 >= chunks.size ())
        break;
      body += "data: " + c + "\r\n\r\n";
      sent++;
    }
    if (mid_stream_error)
      body += "data: " + fault_error (*f, call->model).body () + "\r\n\r\n";
  } else if (call->stream) {
    body = "[";
    for (gsize i = 0; i < chunks.size (); i++)
      body += (i ? ",\r\n" : "") + chunks[i];
    if (mid_stream_error)
      body += ",\r\n" + fault_error (*f, call->model).body ();
    body += "]";
  } else if (mid_stream_error) {
    respond_error (call, fault_error (*f, call->model));
    return;
  } else {
    body = chunks.front ();
  }

  defer (call, latency, [this, call, body, content_type] {
        respond (call, 200, body, content_type);
      });
}

void
Emulator::Impl::handle_upload_start (const CallPtr &call)
{
  SoupServerMessage *msg = call->msg.get ();
  if (!check_api_key (call, nullptr))
    return;
  if (g_ascii_strcasecmp (header (msg, "X-Goog-Upload-Protocol").c_str (),
          "resumable") != 0 ||
      g_ascii_strcasecmp (header (msg, "X-Goog-Upload-Command").c_str (),
          "start") != 0) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Upload requests must use X-Goog-Upload-Protocol: resumable and "
            "start with X-Goog-Upload-Command: start."));
    return;
  }
  UploadSession session;
  /* Without the header the size is whatever the finalize chunk ends at
   * (the service's behaviour is undocumented; a script can refuse it). */
  std::string length = header (msg, "X-Goog-Upload-Header-Content-Length");
  bool require_size;
  guint refusal = 400;
  {
    std::lock_guard<std::mutex> lk (lock);
    require_size = script.require_upload_size;
    refusal = script.require_upload_size_status;
  }
  if (length.empty () && require_size) {
    const char *status = refusal == 400 ? "INVALID_ARGUMENT"
        : refusal == 411 ? "LENGTH_REQUIRED" : "FAILED_PRECONDITION";
    respond_error (call, ApiError::make (refusal, status,
            "X-Goog-Upload-Header-Content-Length is required."));
    return;
  }
  gchar *end = nullptr;
  session.declared = length.empty () ? -1 : g_ascii_strtoll (length.c_str (), &end, 10);
  if (!length.empty () && (*end != '\0' || session.declared < 0)) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "X-Goog-Upload-Header-Content-Length is missing or invalid."));
    return;
  }
  session.mime = header (msg, "X-Goog-Upload-Header-Content-Type");

  std::string body = body_string (msg);
  if (!body.empty ()) {
    std::string error;
    GPtr<JsonNode> root = parse_json (body, &error);
    if (!root) {
      respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
              "Invalid JSON payload received. " + error));
      return;
    }
    log_set (call, "body", json_node_copy (root.get ()));
    Validator v;
    if (!JSON_NODE_HOLDS_OBJECT (root.get ()) ||
        !v.unknown_fields (json_node_get_object (root.get ()), "", { "file" })) {
      respond_error (call, v.error ? *v.error : ApiError::make (400,
              "INVALID_ARGUMENT", "Invalid JSON payload received."));
      return;
    }
    if (JsonNode *f = member (json_node_get_object (root.get ()), "file")) {
      if (!v.want_object (f, "file", "File") ||
          !v.unknown_fields (json_node_get_object (f), "file", { "name",
                  "display_name", "mime_type", "size_bytes" })) {
        respond_error (call, *v.error);
        return;
      }
      JsonObject *fo = json_node_get_object (f);
      session.display_name = get_string (fo, "displayName",
          get_string (fo, "display_name"));
      if (session.mime.empty ())
        session.mime = get_string (fo, "mimeType", get_string (fo, "mime_type"));
    }
  }
  if (session.mime.empty ())
    session.mime = "application/octet-stream";

  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;
  if (fault && fault->type == "file_failed") {
    session.fail = true;
    session.fail_message = fault->message.empty () ?
        "File processing failed." : fault->message;
  }

  std::string upload_id = random_id (32);
  {
    std::lock_guard<std::mutex> lk (lock);
    uploads.emplace (upload_id, std::move (session));
  }
  std::string upload_url = base_url + "/upload/v1beta/files?upload_id=" +
      upload_id + "&upload_protocol=resumable";
  double delay = fault && fault->type == "delay" ? (double) fault->delay_ms : 0;
  defer (call, delay, [this, call, upload_url] {
        respond (call, 200, "", nullptr, {
              { "X-Goog-Upload-URL", upload_url },
              { "X-Goog-Upload-Status", "active" },
              { "X-Goog-Upload-Chunk-Granularity",
                  std::to_string (kChunkGranularity) } });
      });
}

void
Emulator::Impl::handle_upload_chunk (const CallPtr &call,
    const std::string &upload_id)
{
  SoupServerMessage *msg = call->msg.get ();
  std::string command_line = header (msg, "X-Goog-Upload-Command");
  GPtr<gchar> lowered (g_ascii_strdown (command_line.c_str (), -1));
  bool upload = false, finalize = false, query = false, cancel = false;
  gchar **tokens = g_strsplit (lowered.get (), ",", -1);
  for (gchar **t = tokens; *t; t++) {
    g_strstrip (*t);
    upload = upload || g_str_equal (*t, "upload");
    finalize = finalize || g_str_equal (*t, "finalize");
    query = query || g_str_equal (*t, "query");
    cancel = cancel || g_str_equal (*t, "cancel");
  }
  g_strfreev (tokens);

  GPtr<GBytes> chunk (request_body (msg));
  std::string offset_s = header (msg, "X-Goog-Upload-Offset");
  gint64 offset = offset_s.empty () ? -1 :
      g_ascii_strtoll (offset_s.c_str (), nullptr, 10);
  {
    JsonObject *u = json_object_new ();
    json_object_set_int_member (u, "offset", offset);
    json_object_set_int_member (u, "chunk_bytes",
        (gint64) g_bytes_get_size (chunk.get ()));
    json_object_set_string_member (u, "command", command_line.c_str ());
    log_set (call, "upload", json_node_init_object (json_node_alloc (), u));
    json_object_unref (u);
  }

  gint64 received = 0;
  {
    std::lock_guard<std::mutex> lk (lock);
    auto it = uploads.find (upload_id);
    if (it != uploads.end ())
      received = (gint64) it->second.data->len;
    else
      received = -1;
  }
  if (received < 0) {
    respond_error (call, ApiError::make (404, "NOT_FOUND",
            "No upload session " + upload_id + "."), {
          { "X-Goog-Upload-Status", "final" } });
    return;
  }
  if (cancel) {
    std::lock_guard<std::mutex> lk (lock);
    uploads.erase (upload_id);
  }
  if (cancel || query) {
    respond (call, 200, "", nullptr, {
          { "X-Goog-Upload-Status", cancel ? "cancelled" : "active" },
          { "X-Goog-Upload-Size-Received", std::to_string (received) } });
    return;
  }
  if (!upload) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Unknown X-Goog-Upload-Command \"" + command_line + "\"."), {
          { "X-Goog-Upload-Status", "active" } });
    return;
  }

  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;

  gint64 size = (gint64) g_bytes_get_size (chunk.get ());
  auto reject = [&] (const std::string &text) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT", text), {
          { "X-Goog-Upload-Status", "active" },
          { "X-Goog-Upload-Size-Received", std::to_string (received) } });
  };
  if (offset != received) {
    reject ("X-Goog-Upload-Offset is " + offset_s + " but " +
        std::to_string (received) + " bytes were received so far.");
    return;
  }
  if (!finalize && size % kChunkGranularity != 0) {
    reject ("A non-final chunk must be a multiple of " +
        std::to_string (kChunkGranularity) + " bytes, got " +
        std::to_string (size) + ".");
    return;
  }

  UploadSession session;
  gint64 declared = -1;
  {
    std::lock_guard<std::mutex> lk (lock);
    auto it = uploads.find (upload_id);
    gsize bytes_size = 0;
    auto data = static_cast<const guint8 *> (g_bytes_get_data (chunk.get (),
            &bytes_size));
    g_byte_array_append (it->second.data.get (), data, (guint) bytes_size);
    received = (gint64) it->second.data->len;
    declared = it->second.declared;
    if (finalize) {
      session = std::move (it->second);
      uploads.erase (it);
    }
  }
  if (finalize && declared >= 0 && received != declared) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "The upload was finalized with " + std::to_string (received) +
            " bytes but X-Goog-Upload-Header-Content-Length declared " +
            std::to_string (declared) + "."), {
          { "X-Goog-Upload-Status", "final" } });
    return;
  }
  double delay = fault && fault->type == "delay" ? (double) fault->delay_ms : 0;
  if (!finalize) {
    defer (call, delay, [this, call, received] {
          respond (call, 200, "", nullptr, {
                { "X-Goog-Upload-Status", "active" },
                { "X-Goog-Upload-Size-Received", std::to_string (received) } });
        });
    return;
  }

  auto file = std::make_shared<StoredFile> ();
  file->id = random_id (12);
  file->display_name = session.display_name;
  file->mime = session.mime;
  file->size = (gint64) session.data->len;
  file->fail = session.fail;
  file->fail_message = session.fail_message;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) expires = g_date_time_add_hours (now, 48);
  file->create_time = rfc3339 (now);
  file->expire_time = rfc3339 (expires);
  GPtr<gchar> hex (g_compute_checksum_for_data (G_CHECKSUM_SHA256,
          session.data->data, session.data->len));
  GPtr<gchar> b64 (g_base64_encode ((const guchar *) hex.get (),
          strlen (hex.get ())));
  file->sha256 = b64.get ();
  file->content = std::make_shared<const std::string> (
      (const char *) session.data->data, session.data->len);
  auto bytes = std::make_shared<GPtr<GBytes>> (
      g_byte_array_free_to_bytes (session.data.release ()));

  offload (call, [file, bytes] {
        file->info = inspect_media (bytes->get (), file->mime);
      }, [this, call, file, delay] {
        log_set (call, "media", [&] {
              JsonArray *a = json_array_new ();
              json_array_add_element (a, file->info.to_json ());
              JsonNode *n = json_node_init_array (json_node_alloc (), a);
              json_array_unref (a);
              return n;
            } ());
        bool media = g_str_has_prefix (file->mime.c_str (), "video/") ||
            g_str_has_prefix (file->mime.c_str (), "audio/");
        if (media && !file->info.decodable && !file->fail) {
          file->fail = true;
          file->fail_message = "File processing failed: the media could not "
              "be decoded.";
        }
        std::string body;
        {
          std::lock_guard<std::mutex> lk (lock);
          file->polls_left = std::max<gint64> (0, script.file_processing_polls);
          files[file->id] = *file;
          file_order.push_back (file->id);
          GPtr<JsonObject> root (json_object_new ());
          json_object_set_object_member (root.get (), "file",
              file->to_json (base_url));
          body = to_json_string (root.get ());
        }
        defer (call, delay, [this, call, body] {
              respond (call, 200, body, "application/json; charset=UTF-8", {
                    { "X-Goog-Upload-Status", "final" } });
            });
      });
}

void
Emulator::Impl::handle_file_get (const CallPtr &call, const std::string &id)
{
  if (!check_api_key (call, nullptr))
    return;
  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;
  std::string body;
  {
    std::lock_guard<std::mutex> lk (lock);
    auto it = files.find (id);
    if (it != files.end ()) {
      GPtr<JsonObject> o (it->second.to_json (base_url));
      body = to_json_string (o.get ());
      if (it->second.polls_left > 0)
        it->second.polls_left--;
    }
  }
  if (body.empty ()) {
    respond_error (call, ApiError::make (403, "PERMISSION_DENIED",
            "You do not have permission to access the File " + id +
            " or it may not exist."));
    return;
  }
  double delay = fault && fault->type == "delay" ? (double) fault->delay_ms : 0;
  defer (call, delay, [this, call, body] { respond (call, 200, body); });
}

void
Emulator::Impl::handle_file_list (const CallPtr &call, GHashTable *query)
{
  if (!check_api_key (call, query))
    return;
  const char *ps = query_get (query, "pageSize");
  const char *pt = query_get (query, "pageToken");
  gint64 page_size = ps ? std::clamp<gint64> (g_ascii_strtoll (ps, nullptr,
          10), 1, 100) : 10;
  gint64 start = pt ? std::max<gint64> (0, g_ascii_strtoll (pt, nullptr, 10))
      : 0;
  GPtr<JsonObject> root (json_object_new ());
  {
    std::lock_guard<std::mutex> lk (lock);
    JsonArray *a = json_array_new ();
    gint64 i = start;
    for (; i < (gint64) file_order.size () && i < start + page_size; i++)
      json_array_add_object_element (a,
          files[file_order[i]].to_json (base_url));
    if (json_array_get_length (a) > 0)
      json_object_set_array_member (root.get (), "files", a);
    else
      json_array_unref (a);
    if (i < (gint64) file_order.size ())
      json_object_set_string_member (root.get (), "nextPageToken",
          std::to_string (i).c_str ());
  }
  respond (call, 200, to_json_string (root.get ()));
}

/* models.get: a Model resource (model.proto) for the models the script knows. */
void
Emulator::Impl::handle_model_get (const CallPtr &call, GHashTable *query)
{
  if (!check_api_key (call, query))
    return;
  gint64 input = kDefaultInputTokenLimit, output = kDefaultOutputTokenLimit;
  bool known;
  {
    std::lock_guard<std::mutex> lk (lock);
    known = std::find (script.models.begin (), script.models.end (), call->model)
        != script.models.end ();
    if (auto it = script.model_limits.find (call->model); it != script.model_limits.end ())
      std::tie (input, output) = it->second;
  }
  if (!known) {
    respond_error (call, ApiError::make (404, "NOT_FOUND", "models/" + call->model
            + " is not found for API version v1beta, or is not supported for "
            "generateContent."));
    return;
  }
  GPtr<JsonObject> root (json_object_new ());
  const std::string name = "models/" + call->model;
  json_object_set_string_member (root.get (), "name", name.c_str ());
  json_object_set_string_member (root.get (), "baseModelId", call->model.c_str ());
  json_object_set_string_member (root.get (), "version", "001");
  json_object_set_string_member (root.get (), "displayName", call->model.c_str ());
  json_object_set_int_member (root.get (), "inputTokenLimit", input);
  json_object_set_int_member (root.get (), "outputTokenLimit", output);
  JsonArray *methods = json_array_new ();
  for (const char *m : { "generateContent", "countTokens", "createCachedContent",
           "batchGenerateContent" })
    json_array_add_string_element (methods, m);
  json_object_set_array_member (root.get (), "supportedGenerationMethods", methods);
  respond (call, 200, to_json_string (root.get ()));
}

void
Emulator::Impl::handle_file_delete (const CallPtr &call, const std::string &id)
{
  if (!check_api_key (call, nullptr))
    return;
  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;
  bool found;
  {
    std::lock_guard<std::mutex> lk (lock);
    found = files.erase (id) > 0;
    if (found)
      file_order.erase (std::find (file_order.begin (), file_order.end (), id));
  }
  if (!found) {
    respond_error (call, ApiError::make (403, "PERMISSION_DENIED",
            "You do not have permission to access the File " + id +
            " or it may not exist."));
    return;
  }
  respond (call, 200, "{}");
}

/* Files a request refers to must exist and be ACTIVE; their media facts
 * come from the upload. */
std::optional<ApiError>
Emulator::Impl::resolve_files (ParsedRequest &req)
{
  std::lock_guard<std::mutex> lk (lock);
  for (auto &m : req.media) {
    if (m.file_id.empty ())
      continue;
    auto it = files.find (m.file_id);
    if (it == files.end ())
      return ApiError::make (403, "PERMISSION_DENIED",
          "You do not have permission to access the File " + m.file_id +
          " or it may not exist.");
    if (!g_str_equal (it->second.state (), "ACTIVE"))
      return ApiError::make (400, "FAILED_PRECONDITION", "The File " +
          m.file_id + " is not in an ACTIVE state and usage is not allowed.");
    m.info = it->second.info;
  }
  return std::nullopt;
}

/* A request against a cache sees the cache's contents before its own. */
std::optional<ApiError>
Emulator::Impl::resolve_cache (const CallPtr &call)
{
  ParsedRequest &req = call->req;
  if (req.cached_content.empty ())
    return std::nullopt;
  const std::string prefix = "cachedContents/";
  std::string id = g_str_has_prefix (req.cached_content.c_str (), prefix.c_str ())
      ? req.cached_content.substr (prefix.size ()) : req.cached_content;
  std::lock_guard<std::mutex> lk (lock);
  auto it = caches.find (id);
  if (it == caches.end () || it->second.expire_us < g_get_real_time ())
    return ApiError::make (403, "PERMISSION_DENIED",
        "CachedContent not found (or permission denied)");
  const StoredCache &c = it->second;
  if (c.model != "models/" + call->model)
    return ApiError::make (400, "INVALID_ARGUMENT", "Model used by GenerateContent "
        "request (models/" + call->model + ") and CachedContent (" + c.model +
        ") has to be the same.");
  std::vector<MediaPart> media;
  for (const auto &m : c.media) {
    MediaPart copy;
    copy.mime = m.mime;
    copy.file_id = m.file_id;
    copy.start_offset = m.start_offset;
    copy.end_offset = m.end_offset;
    copy.fps = m.fps;
    copy.low_resolution = m.low_resolution;
    copy.has_video_metadata = m.has_video_metadata;
    copy.cached = true;
    copy.info = m.info;
    media.push_back (std::move (copy));
  }
  for (auto &m : req.media)
    media.push_back (std::move (m));
  req.media = std::move (media);
  req.prompt = c.text + req.prompt;
  req.text_chars += c.text.size ();
  req.cached_tokens = (gint64) (c.text.size () / 4);
  return std::nullopt;
}

void
Emulator::Impl::handle_cache_create (const CallPtr &call)
{
  if (!check_api_key (call, nullptr))
    return;
  std::string body = body_string (call->msg.get ());
  std::string parse_error;
  GPtr<JsonNode> root = parse_json (body, &parse_error);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ())) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Invalid JSON payload received. " + parse_error));
    return;
  }
  GPtr<JsonNode> logged = parse_json (body, nullptr);
  redact_inline_data (logged.get ());
  log_set (call, "body", logged.release ());

  JsonObject *o = json_node_get_object (root.get ());
  Validator v;
  ParsedRequest req;
  if (!v.unknown_fields (o, "", { "model", "contents", "system_instruction", "tools",
              "tool_config", "ttl", "expire_time", "display_name" })) {
    respond_error (call, *v.error);
    return;
  }
  std::string model = get_string (o, "model");
  {
    std::lock_guard<std::mutex> lk (lock);
    const bool known = g_str_has_prefix (model.c_str (), "models/")
        && std::find (script.models.begin (), script.models.end (),
            model.substr (7)) != script.models.end ();
    if (!known) {
      respond_error (call, ApiError::make (model.empty () ? 400 : 404,
              model.empty () ? "INVALID_ARGUMENT" : "NOT_FOUND", model.empty ()
              ? "* CreateCachedContentRequest.cached_content.model: model is required"
              : model + " is not found for API version v1beta, or is not supported "
              "for createCachedContent."));
      return;
    }
  }
  if (JsonNode *contents = member (o, "contents")) {
    if (!v.want_array (contents, "contents")) {
      respond_error (call, *v.error);
      return;
    }
    JsonArray *a = json_node_get_array (contents);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      if (!v.content (json_array_get_element (a, i), "contents[" + std::to_string (i) + "]",
              req, false)) {
        respond_error (call, *v.error);
        return;
      }
    }
  }
  double ttl = 3600.0;
  if (JsonNode *t = member (o, "ttl")) {
    auto d = JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_STRING
        ? parse_proto_duration (json_node_get_string (t)) : std::nullopt;
    if (!d) {
      respond_error (call, ApiError::bad_request ("ttl", "Invalid value at 'cached_content.ttl' "
              "(type.googleapis.com/google.protobuf.Duration), " + describe_value (t)));
      return;
    }
    ttl = *d;
  }
  if (auto error = resolve_files (req)) {
    respond_error (call, *error);
    return;
  }
  for (auto &m : req.media) {
    if (m.inline_data)
      m.info = inspect_media (m.inline_data.get (), m.mime);
  }
  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;

  const Usage u = usage_of (req, model.substr (strlen ("models/")));
  const gint64 tokens = u.text + u.video + u.audio;
  gint64 min_tokens;
  {
    std::lock_guard<std::mutex> lk (lock);
    min_tokens = script.min_cache_tokens;
  }
  if (tokens < min_tokens) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Cached content is too small. total_token_count=" + std::to_string (tokens)
            + ", min_total_token_count=" + std::to_string (min_tokens)));
    return;
  }

  StoredCache c;
  c.id = random_id (12);
  c.model = model;
  c.display_name = get_string (o, "displayName", get_string (o, "display_name"));
  c.tokens = tokens;
  c.text = req.prompt;
  for (auto &m : req.media) {
    m.inline_data.reset ();
    c.media.push_back (std::move (m));
  }
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) expires = g_date_time_add_seconds (now, ttl);
  c.create_time = rfc3339 (now);
  c.expire_time = rfc3339 (expires);
  c.expire_us = g_get_real_time () + (gint64) (ttl * G_USEC_PER_SEC);
  std::string answer;
  {
    std::lock_guard<std::mutex> lk (lock);
    GPtr<JsonObject> j (c.to_json ());
    answer = to_json_string (j.get ());
    caches.emplace (c.id, std::move (c));
  }
  respond (call, 200, answer);
}

void
Emulator::Impl::handle_cache_get (const CallPtr &call, const std::string &id)
{
  if (!check_api_key (call, nullptr))
    return;
  std::string body;
  {
    std::lock_guard<std::mutex> lk (lock);
    auto it = caches.find (id);
    if (it != caches.end ()) {
      GPtr<JsonObject> j (it->second.to_json ());
      body = to_json_string (j.get ());
    }
  }
  if (body.empty ()) {
    respond_error (call, ApiError::make (403, "PERMISSION_DENIED",
            "CachedContent not found (or permission denied)"));
    return;
  }
  respond (call, 200, body);
}

void
Emulator::Impl::handle_cache_delete (const CallPtr &call, const std::string &id)
{
  if (!check_api_key (call, nullptr))
    return;
  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;
  bool found;
  {
    std::lock_guard<std::mutex> lk (lock);
    found = caches.erase (id) > 0;
  }
  if (!found) {
    respond_error (call, ApiError::make (403, "PERMISSION_DENIED",
            "CachedContent not found (or permission denied)"));
    return;
  }
  respond (call, 200, "{}");
}

void
Emulator::Impl::handle_batch (const CallPtr &call, const std::string &path,
    GHashTable *query)
{
  if (!check_api_key (call, query))
    return;
  std::string body = body_string (call->msg.get ());
  if (call->kind == "batch_create") {
    std::string last = path.substr (path.rfind ('/') + 1);
    call->model = last.substr (0, last.find (':'));
    log_string (call, "model", call->model);
    if (GPtr<JsonNode> logged = parse_json (body, nullptr)) {
      redact_inline_data (logged.get ());
      log_set (call, "body", logged.release ());
    }
  }
  auto fault = take_fault (call->kind);
  if (fault && transport_fault (call, *fault))
    return;
  const char *alt = query_get (query, "alt");
  BatchAnswer a = call->kind == "file_download" && g_strcmp0 (alt, "media") != 0 ?
      BatchAnswer::error (400, "INVALID_ARGUMENT",
          "Downloading a file's content needs alt=media.") :
      batches->handle (call->kind, path, body, query_get (query, "pageSize"),
          query_get (query, "pageToken"));
  double delay = fault && fault->type == "delay" ? (double) fault->delay_ms : 0;
  defer (call, delay, [this, call, a] {
        if (a.status < 300)
          respond (call, a.status, a.body, a.content_type.c_str ());
        else
          respond_error (call, ApiError::make (a.status, a.grpc_status, a.message));
      });
}

BatchHost
Emulator::Impl::batch_host ()
{
  BatchHost h;
  h.read_file = [this] (const std::string &id, bool download,
      BatchAnswer &error) -> std::optional<std::string> {
    std::lock_guard<std::mutex> lk (lock);
    auto it = files.find (id);
    if (it == files.end ()) {
      error = BatchAnswer::error (403, "PERMISSION_DENIED", "You do not have "
          "permission to access the File " + id + " or it may not exist.");
      return std::nullopt;
    }
    if (download && it->second.source != "GENERATED") {
      error = BatchAnswer::error (400, "INVALID_ARGUMENT", "Only generated "
          "files can be downloaded; files/" + id + " was uploaded.");
      return std::nullopt;
    }
    if (!g_str_equal (it->second.state (), "ACTIVE")) {
      error = BatchAnswer::error (400, "FAILED_PRECONDITION", "The File " + id +
          " is not in an ACTIVE state and usage is not allowed.");
      return std::nullopt;
    }
    return *it->second.content;
  };
  h.add_file = [this] (const std::string &display_name, const std::string &mime,
      std::string bytes) {
    StoredFile f;
    f.id = random_id (12);
    f.display_name = display_name;
    f.mime = mime;
    f.source = "GENERATED";
    f.size = (gint64) bytes.size ();
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
    g_autoptr (GDateTime) expires = g_date_time_add_hours (now, 48);
    f.create_time = rfc3339 (now);
    f.expire_time = rfc3339 (expires);
    GPtr<gchar> hex (g_compute_checksum_for_string (G_CHECKSUM_SHA256,
            bytes.data (), (gssize) bytes.size ()));
    GPtr<gchar> b64 (g_base64_encode ((const guchar *) hex.get (),
            strlen (hex.get ())));
    f.sha256 = b64.get ();
    f.content = std::make_shared<const std::string> (std::move (bytes));
    std::lock_guard<std::mutex> lk (lock);
    files[f.id] = f;
    file_order.push_back (f.id);
    return f.id;
  };
  h.validate = [] (JsonNode *request) -> std::optional<std::string> {
    Validator v;
    ParsedRequest req;
    if (v.request (request, req))
      return std::nullopt;
    return v.error->message;
  };
  h.known_model = [this] (const std::string &model) {
    std::lock_guard<std::mutex> lk (lock);
    return std::find (script.models.begin (), script.models.end (), model) !=
        script.models.end ();
  };
  return h;
}

void
Emulator::Impl::run (guint want_port, std::promise<bool> &ready)
{
  g_main_context_push_thread_default (ctx.get ());
  server = soup_server_new ("server-header", "gemini-emulator ", nullptr);
  soup_server_add_handler (server, nullptr,
      [] (SoupServer *, SoupServerMessage *msg, const char *, GHashTable *query,
          gpointer data) {
        static_cast<Impl *> (data)->on_request (msg, query);
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
Emulator::Impl::shutdown ()
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

/* ---------- public API ---------- */

Emulator::Emulator (std::string_view script_json)
    : Emulator (script_json, 0)
{
}

Emulator::Emulator (std::string_view script_json, guint port)
    : impl_ (std::make_unique<Impl> ())
{
  init_debug ();
  impl_->batches = std::make_unique<BatchService> (impl_->batch_host ());
  if (!gst_is_initialized ())
    gst_init (nullptr, nullptr);
  std::string error;
  if (!impl_->set_script (script_json, &error)) {
    g_warning ("gemini-emulator: bad script (%s), using the defaults",
        error.c_str ());
    impl_->set_script ("{}", &error);
  }
  std::promise<bool> ready;
  auto started = ready.get_future ();
  impl_->thread = std::thread ([this, port, &ready] {
        impl_->run (port, ready);
      });
  started.wait ();
}

Emulator::~Emulator ()
{
  /* a plain g_main_loop_quit () is lost if the loop has not started yet */
  g_main_context_invoke (impl_->ctx.get (), [] (gpointer loop) -> gboolean {
        g_main_loop_quit (static_cast<GMainLoop *> (loop));
        return G_SOURCE_REMOVE;
      }, impl_->loop.get ());
  impl_->thread.join ();
}

std::string
Emulator::url () const
{
  return impl_->base_url;
}

guint
Emulator::port () const
{
  return impl_->port;
}

void
Emulator::set_script (std::string_view script_json)
{
  std::string error;
  if (!impl_->set_script (script_json, &error))
    g_warning ("gemini-emulator: bad script (%s), keeping the old one",
        error.c_str ());
}

bool
Emulator::try_set_script (std::string_view script_json, std::string *error)
{
  std::string local;
  return impl_->set_script (script_json, error ? error : &local);
}

gemini::GPtr<JsonNode>
Emulator::log () const
{
  return parse_json (impl_->log_json (), nullptr);
}

void
Emulator::clear_log ()
{
  std::lock_guard<std::mutex> lk (impl_->lock);
  impl_->log.clear ();
}

void
Emulator::reset ()
{
  impl_->reset ();
}

std::vector<JsonObject *>
log_entries (JsonNode *log, const char *kind)
{
  std::vector<JsonObject *> out;
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (log), "requests");
  for (guint i = 0; i < json_array_get_length (reqs); i++) {
    JsonObject *e = json_array_get_object_element (reqs, i);
    if (!kind || g_str_equal (json_object_get_string_member (e, "kind"), kind))
      out.push_back (e);
  }
  return out;
}

}  // namespace gemini::test
