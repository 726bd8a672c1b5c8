/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_doc.h"

#include "bounds.h"

namespace gemini {

bool
json_depth_ok (std::string_view text)
{
  guint depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limits::JSON_DEPTH)
          return false;
        break;
      case ']':
      case '}':
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

}  // namespace gemini
