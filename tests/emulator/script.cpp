/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "script.h"

#include <algorithm>
#include <functional>

#include "json_helpers.h"

namespace gemini::test::emu {

namespace {

constexpr const char *kDefaultModels[] = {
  "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite",
  "gemini-3-flash-preview", "gemini-3.5-flash", "gemini-3.6-flash",
  "gemini-3.8-flash",
};

void
read_models (JsonObject *o, Script &s)
{
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
}

/* Reads each element of the array @name (when there is one) into @out; an
 * element that is not an object reads as the defaults. */
template <typename T>
void
read_list (JsonObject *o, const char *name, std::vector<T> &out,
    T (*read) (JsonObject *))
{
  JsonArray *a = array_member (o, name);
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    out.push_back (read (json_array_get_object_element (a, i)));
}

Speaker
read_speaker (JsonObject *so)
{
  Speaker spk;
  spk.id = get_string (so, "id");
  spk.name = get_string (so, "name", "?");
  spk.company = get_string (so, "company", "?");
  spk.position = get_string (so, "position", "?");
  spk.role = get_string (so, "role_in_video", "?");
  spk.visible_from = get_double (so, "visible_from", -1.0);
  spk.visible_until = get_double (so, "visible_until", INFINITY);
  JsonArray *evidence = array_member (so, "evidence");
  for (guint i = 0; evidence && i < json_array_get_length (evidence); i++) {
    JsonObject *eo = json_array_get_object_element (evidence, i);
    if (!eo)
      continue;
    spk.evidence.push_back (Evidence{get_string (eo, "field"), get_string (eo, "source", "shown"),
          get_string (eo, "text"), get_double (eo, "time", 0.0)});
  }
  return spk;
}

Utterance
read_utterance (JsonObject *uo)
{
  Utterance u;
  u.start = get_double (uo, "start", 0);
  u.end = get_double (uo, "end", u.start);
  u.speaker = get_string (uo, "speaker");
  u.text = get_string (uo, "text");
  return u;
}

void
read_transcript (JsonObject *to, Script &s)
{
  s.has_transcript = true;
  s.shuffle_voices = json_object_get_boolean_member_with_default (to,
      "shuffle_voices", FALSE);
  s.language = json_object_get_string_member_with_default (to, "language", "en");
  read_list (to, "speakers", s.speakers, read_speaker);
  read_list (to, "utterances", s.utterances, read_utterance);
}

std::optional<Fault>
read_fault (JsonObject *fo, std::string *error)
{
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
  return ft;
}

/* Calls @read on each entry of the array @name, when there is one; unlike
 * the transcript's lists, these entries must be objects. */
bool
read_entries (JsonObject *o, const char *name, std::string *error,
    const std::function<bool (JsonObject *)> &read)
{
  JsonArray *a = array_member (o, name);
  for (guint i = 0; a && i < json_array_get_length (a); i++) {
    JsonObject *entry = json_array_get_object_element (a, i);
    if (!entry) {
      *error = std::string (name) + " entries must be objects";
      return false;
    }
    if (!read (entry))
      return false;
  }
  return true;
}

}  // namespace

bool
Script::knows_model (const std::string &model) const
{
  return std::find (models.begin (), models.end (), model) != models.end ();
}

std::optional<Fault>
Script::take_fault (const std::string &kind)
{
  std::optional<Fault> chosen;
  for (auto &f : faults) {
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

void
Script::restart ()
{
  for (auto &f : faults)
    f.seen = f.fired = 0;
  next_response = 0;
}

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
  read_models (o, s);
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
      t && JSON_NODE_HOLDS_OBJECT (t))
    read_transcript (json_node_get_object (t), s);
  const bool read = read_entries (o, "responses", error, [&] (JsonObject *ro) {
        if (JsonNode *j = json_object_get_member (ro, "json"))
          s.responses.push_back (to_json_string (j));
        else
          s.responses.push_back (get_string (ro, "text"));
        return true;
      }) && read_entries (o, "faults", error, [&] (JsonObject *fo) {
        std::optional<Fault> ft = read_fault (fo, error);
        if (ft)
          s.faults.push_back (std::move (*ft));
        return ft.has_value ();
      });
  if (!read)
    return std::nullopt;
  return s;
}

}  // namespace gemini::test::emu
