/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a GenerateContentRequest (and the bodies of the Files and
 * cachedContents methods) must look like, checked as strictly as the
 * service does, with the errors it answers: proto JSON field names in either
 * spelling, unknown fields, value types and enums, the `data` oneof, media
 * MIME types, strict base64 and videoMetadata ranges. */
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <json-glib/json-glib.h>

#include "api_error.h"
#include "glib_ptr.h"
#include "inspect.h"

namespace gemini::test::emu {

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
  /* The first error met; later checks keep it. */
  std::optional<ApiError> error;

  bool unknown_fields (JsonObject *o, const std::string &path,
      std::initializer_list<const char *> known);
  bool request (JsonNode *root, ParsedRequest &req);
  /* The body of a resumable upload's start: {"file": {...}}. @mime is kept
   * when the upload's headers already set it. */
  bool upload_metadata (JsonNode *root, std::string &display_name,
      std::string &mime);
  /* A CachedContent's contents and ttl (3600 s when unset). */
  bool cached_content (JsonObject *o, ParsedRequest &req, double &ttl);

private:
  bool fail (const std::string &field, const std::string &message);
  /* In the service's words for a field's own constraint. */
  bool fail_field (const std::string &field, const std::string &what);
  bool want_object (JsonNode *n, const std::string &path, const char *type);
  bool want_array (JsonNode *n, const std::string &path);
  /* A message field: an object of none but the @known fields, else null. */
  JsonObject *message (JsonNode *n, const std::string &path, const char *type,
      std::initializer_list<const char *> known);
  bool want_scalar (JsonNode *n, const std::string &path, const char *type,
      GType gtype);
  bool want_enum (JsonNode *n, const std::string &path, const char *type,
      std::initializer_list<const char *> values);
  bool schema (JsonNode *n, const std::string &path);
  bool generation_config (JsonNode *n, ParsedRequest &req);
  bool video_metadata (JsonNode *n, const std::string &path, MediaPart &mp);
  /* The top-level "contents" list. */
  bool contents_array (JsonNode *n, ParsedRequest &req);
  bool content (JsonNode *n, const std::string &path, ParsedRequest &req,
      bool system);
  bool part (JsonNode *n, const std::string &path, ParsedRequest &req,
      bool system);
  /* A Blob or FileData message, with the media's bytes or uri in @source;
   * sets the part's MIME type. */
  JsonObject *media_source (JsonNode *n, const std::string &path,
      const char *type, const char *source, MediaPart &mp);
  bool inline_data (JsonNode *n, const std::string &path, MediaPart &mp);
  bool file_data (JsonNode *n, const std::string &path, MediaPart &mp);
  bool part_media_resolution (JsonNode *n, const std::string &path,
      MediaPart &mp);
};

/* The service's words for a field a message does not have, at @path ("" at
 * the top). */
std::string unknown_name_message (const std::string &name,
    const std::string &path);

}  // namespace gemini::test::emu
