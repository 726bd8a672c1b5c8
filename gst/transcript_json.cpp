/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "transcript_json.h"

#include <json-glib/json-glib.h>

#include "glib_ptr.h"
#include "json_doc.h"

namespace gemini {

namespace {

std::string
speaker_of (const std::map<std::string, std::string> &ids, const std::string &voice)
{
  auto it = ids.find (voice);
  return it != ids.end () ? it->second : std::string ();
}

}  // namespace

std::string
write_segment_transcript (const std::vector<TimedUtterance> &rows,
    const std::vector<Speaker> &speakers, const std::map<std::string, std::string> &ids)
{
  GPtr<JsonBuilder> owner (json_builder_new ());
  JsonBuilder *b = owner.get ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "transcripts");
  json_builder_begin_array (b);
  for (const auto &u : rows) {
    json_builder_begin_object (b);
    add_time_member (b, "start", u.start);
    add_time_member (b, "end", u.end);
    add_time_member (b, "model_start",
        GST_CLOCK_TIME_IS_VALID (u.model_start) ? u.model_start : u.start);
    add_time_member (b, "model_end",
        GST_CLOCK_TIME_IS_VALID (u.model_start) ? u.model_end : u.end);
    add_string_member (b, "text", u.text);
    add_string_member (b, "voice", u.voice);
    add_string_member (b, "speaker", u.speaker_id);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "speakers");
  json_builder_begin_array (b);
  for (const auto &sp : speakers) {
    json_builder_begin_object (b);
    add_string_member (b, "voice", sp.voice);
    add_string_member (b, "speaker", speaker_of (ids, sp.voice));
    add_string_member (b, "name", sp.name);
    add_string_member (b, "company", sp.company);
    add_string_member (b, "position", sp.position);
    add_string_member (b, "role_in_video", sp.role_in_video);
    json_builder_set_member_name (b, "evidence");
    json_builder_begin_array (b);
    for (const auto &e : sp.evidence) {
      json_builder_begin_object (b);
      add_string_member (b, "field", e.field);
      add_time_member (b, "time", e.time);
      add_string_member (b, "source", e.source);
      add_string_member (b, "text", e.text);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);

  GPtr<JsonNode> root (json_builder_get_root (b));
  GPtr<gchar> text (json_to_string (root.get (), FALSE));
  return text.get ();
}

std::vector<TimedUtterance>
read_segment_transcript (std::string_view json)
{
  std::vector<TimedUtterance> rows;
  GPtr<JsonNode> doc = parse_json_document (json, nullptr);
  if (!doc || !JSON_NODE_HOLDS_OBJECT (doc.get ()))
    return rows;
  JsonArray *list = member_array (json_node_get_object (doc.get ()), "transcripts");
  for (guint i = 0; list && i < json_array_get_length (list); i++) {
    JsonNode *node = json_array_get_element (list, i);
    if (!JSON_NODE_HOLDS_OBJECT (node))
      continue;
    JsonObject *row = json_node_get_object (node);
    TimedUtterance u;
    auto time = [row] (const char *name) {
      JsonNode *n = json_object_get_member (row, name);
      return n && JSON_NODE_HOLDS_VALUE (n) ? (GstClockTime) std::max<gint64> (0, node_int (n))
          : GST_CLOCK_TIME_NONE;
    };
    u.start = (GstClockTime) std::max<gint64> (0, member_int (row, "start"));
    u.end = time ("end");
    u.model_start = time ("model_start");
    u.model_end = time ("model_end");
    u.text = member_string (row, "text");
    u.voice = member_string (row, "voice");
    u.speaker_id = member_string (row, "speaker");
    rows.push_back (std::move (u));
  }
  return rows;
}

}  // namespace gemini
