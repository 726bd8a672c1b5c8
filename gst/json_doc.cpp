/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_doc.h"

#include "bounds.h"

namespace gemini {

JsonTextScanner::Token
JsonTextScanner::step (char c)
{
  if (in_string_) {
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      in_string_ = false;
      return Token::StringEnd;
    }
    return Token::Other;
  }
  switch (c) {
    case '"':
      in_string_ = true;
      return Token::StringStart;
    case '[':
    case '{':
      return Token::Open;
    case ']':
    case '}':
      return Token::Close;
    default:
      return Token::Other;
  }
}

bool
json_depth_ok (std::string_view text)
{
  JsonTextScanner scan;
  guint depth = 0;
  for (char c : text) {
    switch (scan.step (c)) {
      case JsonTextScanner::Token::Open:
        if (++depth > limits::JSON_DEPTH)
          return false;
        break;
      case JsonTextScanner::Token::Close:
        if (depth > 0)
          depth--;
        break;
      default:
        break;
    }
  }
  return true;
}

GPtr<JsonNode>
parse_json_document (std::string_view text, GError **error)
{
  if (!json_depth_ok (text)) {
    g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE,
        "JSON nested deeper than %u levels", limits::JSON_DEPTH);
    return nullptr;
  }
  GPtr<JsonParser> parser (json_parser_new ());
  if (!json_parser_load_from_data (parser.get (), text.data (),
          static_cast<gssize> (text.size ()), error))
    return nullptr;
  JsonNode *root = json_parser_steal_root (parser.get ());
  if (!root)
    g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "empty JSON document");
  return GPtr<JsonNode> (root);
}

GPtr<JsonNode>
load_json_file (const std::string &path, GError **error)
{
  gchar *raw = nullptr;
  gsize size = 0;
  if (!g_file_get_contents (path.c_str (), &raw, &size, error))
    return nullptr;
  GPtr<gchar> contents (raw);
  return parse_json_document (std::string_view (contents.get (), size), error);
}

std::string
member_string (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : nullptr;
  if (!node || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return {};
  return json_node_get_string (node);
}

JsonObject *
member_object (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : nullptr;
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : nullptr;
}

JsonArray *
member_array (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : nullptr;
  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : nullptr;
}

bool
member_bool (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : nullptr;
  return node && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

gint64
node_int (JsonNode *node)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return 0;
  switch (json_node_get_value_type (node)) {
    case G_TYPE_INT64:
      return json_node_get_int (node);
    case G_TYPE_DOUBLE: {
      const double d = json_node_get_double (node);
      if (!(d > static_cast<double> (G_MININT64) && d < static_cast<double> (G_MAXINT64)))
        return 0;
      return static_cast<gint64> (d);
    }
    case G_TYPE_STRING:
      return g_ascii_strtoll (json_node_get_string (node), nullptr, 10);
    default:
      return 0;
  }
}

gint64
member_int (JsonObject *obj, const char *name)
{
  return node_int (obj ? json_object_get_member (obj, name) : nullptr);
}

void
add_string_member (JsonBuilder *b, const char *name, const std::string &value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value.c_str ());
}

void
add_int_member (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
add_time_member (JsonBuilder *b, const char *name, GstClockTime t)
{
  json_builder_set_member_name (b, name);
  if (GST_CLOCK_TIME_IS_VALID (t))
    json_builder_add_int_value (b, (gint64) t);
  else
    json_builder_add_null_value (b);
}

}  // namespace gemini
