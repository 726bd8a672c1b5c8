/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_helpers.h"

#include <algorithm>
#include <cmath>

namespace gemini::test::emu {

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
get_string (JsonObject *o, const char *name, std::string def)
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

JsonObject *
object_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

JsonArray *
array_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : nullptr;
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
string_field (JsonObject *o, const char *snake)
{
  return get_string (o, camel_case (snake).c_str (), get_string (o, snake));
}

JsonNode *
member_in_any_spelling (JsonObject *o, const std::string &snake)
{
  GList *names = json_object_get_members (o);
  JsonNode *found = nullptr;
  for (GList *l = names; l && !found; l = l->next)
    if (snake_case (static_cast<const char *> (l->data)) == snake)
      found = json_object_get_member (o, static_cast<const char *> (l->data));
  g_list_free (names);
  return found;
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
now_rfc3339 ()
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return rfc3339 (now);
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

GPtr<JsonObject>
list_page (const char *page_size, const char *page_token, const char *member,
    gint64 total, const std::function<JsonObject *(gint64 index)> &item)
{
  gint64 size = page_size ? std::clamp<gint64> (g_ascii_strtoll (page_size,
          nullptr, 10), 1, 100) : 10;
  gint64 start = page_token ? std::max<gint64> (0, g_ascii_strtoll (page_token,
          nullptr, 10)) : 0;
  GPtr<JsonObject> root (json_object_new ());
  JsonArray *a = json_array_new ();
  gint64 i = start;
  for (; i < total && i < start + size; i++)
    json_array_add_object_element (a, item (i));
  if (json_array_get_length (a) > 0)
    json_object_set_array_member (root.get (), member, a);
  else
    json_array_unref (a);
  if (i < total)
    json_object_set_string_member (root.get (), "nextPageToken",
        std::to_string (i).c_str ());
  return root;
}

}  // namespace gemini::test::emu
