/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one way in for JSON that comes from outside the process: answers of
 * the service, files on disk, state files. The nesting depth is checked
 * before json-glib parses (limits::JSON_DEPTH), since json-glib recurses
 * once per level. */
#pragma once

#include <string>
#include <string_view>

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "glib_ptr.h"

namespace gemini {

/* The document's root, or nullptr with *error set (JSON_PARSER_ERROR). */
GPtr<JsonNode> parse_json_document (std::string_view text, GError **error);

/* The same for a file's contents. */
GPtr<JsonNode> load_json_file (const std::string &path, GError **error);

/* JSON text read a character at a time, for the readers that must see its
 * structure before parsing it, or without (a cut answer): whether a
 * character is inside a string, and what it does outside strings. */
class JsonTextScanner {
public:
  enum class Token {
    Other,                           /* in a string, or outside one and no bracket */
    StringStart,                     /* the opening quote */
    StringEnd,                       /* the closing quote */
    Open,                            /* { or [ */
    Close,                           /* } or ] */
  };
  Token step (char c);
  bool in_string () const { return in_string_; }

private:
  bool in_string_ = false;
  bool escaped_ = false;
};

/* True when the text nests no deeper than limits::JSON_DEPTH (strings and
 * their escapes skipped). */
bool json_depth_ok (std::string_view text);

/* Members of an object read without trusting its shape: a missing member,
 * a null object or a member of another type reads as empty, 0, false or
 * nullptr. */
std::string member_string (JsonObject *obj, const char *name);
JsonObject *member_object (JsonObject *obj, const char *name);
JsonArray *member_array (JsonObject *obj, const char *name);
bool member_bool (JsonObject *obj, const char *name);
/* proto3 JSON writes int64 as a string and int32 as a number: both are
 * read. A double out of the int64 range (4e+29, NaN) reads as 0, since its
 * conversion would be undefined. */
gint64 member_int (JsonObject *obj, const char *name);
/* The same for a node that is not in an object (an array element). */
gint64 node_int (JsonNode *node);

/* Members of the object a JsonBuilder is in. */
void add_string_member (JsonBuilder *b, const char *name, const std::string &value);
void add_int_member (JsonBuilder *b, const char *name, gint64 value);
/* Nanoseconds as an integer, null when NONE. */
void add_time_member (JsonBuilder *b, const char *name, GstClockTime t);

}  // namespace gemini
