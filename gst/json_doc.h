/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one way in for JSON that comes from outside the process: answers of
 * the service, files on disk, state files. The nesting depth is checked
 * before json-glib parses (limits::JSON_DEPTH), since json-glib recurses
 * once per level. */
#pragma once

#include <string>
#include <string_view>

#include <json-glib/json-glib.h>

#include "glib_ptr.h"

namespace gemini {

/* The document's root, or nullptr with *error set (JSON_PARSER_ERROR). */
GPtr<JsonNode> parse_json_document (std::string_view text, GError **error);

/* The same for a file's contents. */
GPtr<JsonNode> load_json_file (const std::string &path, GError **error);

/* True when the text nests no deeper than limits::JSON_DEPTH (strings and
 * their escapes skipped). */
bool json_depth_ok (std::string_view text);

}  // namespace gemini
