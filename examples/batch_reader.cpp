/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_reader.h"

#include <algorithm>

namespace transcribe {

namespace {

/* A member that is absent or null reads as the type's empty value. */
JsonNode *
present (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n && !JSON_NODE_HOLDS_NULL (n) ? n : nullptr;
}

bool
holds (JsonNode *n, GType type)
{
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

}  // namespace

void
StrictReader::fail (const std::string &where, const std::string &what)
{
  if (error_.empty ())
    error_ = where + ": " + what;
}

std::string
StrictReader::string (JsonObject *o, const char *name, const std::string &where)
{
  JsonNode *n = present (o, name);
  if (!n)
    return {};
  if (!holds (n, G_TYPE_STRING)) {
    fail (where, std::string ("\"") + name + "\" is not a string");
    return {};
  }
  return json_node_get_string (n);
}

gint64
StrictReader::integer (JsonObject *o, const char *name, const std::string &where)
{
  JsonNode *n = present (o, name);
  if (!n)
    return 0;
  if (!holds (n, G_TYPE_INT64) || json_node_get_int (n) < 0) {
    fail (where, std::string ("\"") + name + "\" is not a count");
    return 0;
  }
  return json_node_get_int (n);
}

bool
StrictReader::boolean (JsonObject *o, const char *name, const std::string &where)
{
  JsonNode *n = present (o, name);
  if (!n)
    return false;
  if (!holds (n, G_TYPE_BOOLEAN)) {
    fail (where, std::string ("\"") + name + "\" is not true or false");
    return false;
  }
  return json_node_get_boolean (n);
}

JsonArray *
StrictReader::array (JsonObject *o, const char *name, const std::string &where)
{
  JsonNode *n = present (o, name);
  if (!n)
    return nullptr;
  if (!JSON_NODE_HOLDS_ARRAY (n)) {
    fail (where, std::string ("\"") + name + "\" is not a list");
    return nullptr;
  }
  return json_node_get_array (n);
}

JsonObject *
StrictReader::object_at (JsonArray *a, guint i, const std::string &where)
{
  JsonNode *n = json_array_get_element (a, i);
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    fail (where, "not an object");
    return nullptr;
  }
  return json_node_get_object (n);
}

std::vector<std::string>
StrictReader::strings (JsonObject *o, const char *name, const std::string &where)
{
  std::vector<std::string> out;
  JsonArray *a = array (o, name, where);
  for (guint i = 0; a && i < json_array_get_length (a); i++) {
    JsonNode *n = json_array_get_element (a, i);
    if (!holds (n, G_TYPE_STRING)) {
      fail (where, std::string ("\"") + name + "\" holds something other than strings");
      return {};
    }
    out.emplace_back (json_node_get_string (n));
  }
  return out;
}

void
StrictReader::service_name (const std::string &name, const char *collection,
    const std::string &where)
{
  const std::string prefix = std::string (collection) + "/";
  const bool ok = name.empty () || (g_str_has_prefix (name.c_str (), prefix.c_str ())
      && name.size () > prefix.size () && name.size () <= 256
      && std::all_of (name.begin () + prefix.size (), name.end (), [] (char c) {
            return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.'; })
      && name.find ("..") == std::string::npos);
  if (!ok)
    fail (where, "\"" + name + "\" is not a " + collection + " name");
}

}  // namespace transcribe
