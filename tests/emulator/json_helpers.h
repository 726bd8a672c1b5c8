/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's JSON helpers, and the wire formats of the service's
 * resources (durations, timestamps, ids, list pages). The emulator keeps its
 * own set rather than the plugin's (gst/json_doc.h): a fake of the service
 * must not share the client's reading of the protocol, or a misreading would
 * pass on both sides. */
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <json-glib/json-glib.h>

#include "glib_ptr.h"

namespace gemini::test::emu {

/* Compact JSON text. */
std::string to_json_string (JsonNode *node);
std::string to_json_string (JsonObject *obj);
/* A document, or null with the parser's reason in @error (may be null). */
GPtr<JsonNode> parse_json (std::string_view text, std::string *error);
JsonNode *string_node (std::string_view s);

/* Members of @o (which may be null) of the wanted type, else the default. */
std::string get_string (JsonObject *o, const char *name, std::string def = {});
double get_double (JsonObject *o, const char *name, double def);
std::optional<gint64> get_int (JsonObject *o, const char *name);
JsonObject *object_member (JsonObject *o, const char *name);
JsonArray *array_member (JsonObject *o, const char *name);

bool is_number (JsonNode *n);
double number_of (JsonNode *n);

std::string snake_case (std::string_view name);
std::string camel_case (std::string_view name);
/* Proto JSON accepts both the lowerCamelCase and the original field name:
 * the member named @snake, else its lowerCamelCase spelling. */
JsonNode *member (JsonObject *o, const char *snake);
/* A string field in either spelling, the lowerCamelCase one first; "" when
 * neither is a string. */
std::string string_field (JsonObject *o, const char *snake);
/* The first member, in document order, whose snake_case is @snake (the
 * Batch API's reading, which takes whichever spelling comes first). */
JsonNode *member_in_any_spelling (JsonObject *o, const std::string &snake);

/* google.protobuf.Duration: "3s", "1.500s". */
std::string proto_duration (double seconds);
std::optional<double> parse_proto_duration (std::string_view s);
/* google.protobuf.Timestamp with microseconds. */
std::string rfc3339 (GDateTime *t);
std::string now_rfc3339 ();
/* A resource id of lowercase letters and digits. */
std::string random_id (gsize len);

/* One page of a list method's answer: the items from the offset in
 * @page_token (0 when null), at most @page_size of them (1 to 100, 10 when
 * null), under @member (left out when the page is empty), and a
 * nextPageToken when more remain. @item makes the JSON of the item at an
 * index below @total. */
GPtr<JsonObject> list_page (const char *page_size, const char *page_token,
    const char *member, gint64 total,
    const std::function<JsonObject *(gint64 index)> &item);

}  // namespace gemini::test::emu
