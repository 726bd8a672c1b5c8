/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A typed description of a generateContent request, and its JSON form.
 *
 * Built by the transcription code (prompt.h), serialized here, sent by the
 * client. Field names follow the v1beta REST reference (camelCase). */
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gst/gst.h>

#include "glib_ptr.h"

namespace gemini {

enum class MediaResolution { Unspecified, Low, Medium, High };

/* "MEDIA_RESOLUTION_LOW", ... */
const char *media_resolution_to_wire (MediaResolution r);

/* The names the element's enum and the CLI use: "low", "medium", "high";
 * "auto" (and "") leave it Unspecified. nullopt for any other name. */
std::optional<MediaResolution> media_resolution_from_name (std::string_view name);

/* Part.videoMetadata. Offsets are in the uploaded file's timeline. */
struct VideoMetadata {
  std::optional<GstClockTime> start_offset;
  std::optional<GstClockTime> end_offset;
  std::optional<double> fps;
};

struct TextPart {
  std::string text;
};

/* Bytes sent base64-encoded in the request body. */
struct InlineDataPart {
  std::string mime_type;
  GPtr<GBytes> data;
};

/* A file uploaded through the Files API (its `uri`), or a gs:// / https URI. */
struct FileDataPart {
  std::string mime_type;
  std::string file_uri;
};

struct Part {
  std::variant<TextPart, InlineDataPart, FileDataPart> data;
  std::optional<VideoMetadata> video_metadata;

  static Part text (std::string t) { return Part{TextPart{std::move (t)}, {}}; }
};

struct ThinkingConfig {
  std::optional<gint> budget;          /* tokens; 0 = off, -1 = dynamic */
  std::optional<std::string> level;    /* "MINIMAL" | "LOW" | "MEDIUM" | "HIGH" */
  bool include_thoughts = false;
};

struct GenerationConfig {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<gint> seed;
  std::optional<gint> max_output_tokens;
  std::string response_mime_type;      /* empty = not sent */
  GPtr<JsonNode> response_schema;      /* OpenAPI subset, upper-case types */
  MediaResolution media_resolution = MediaResolution::Unspecified;
  std::optional<ThinkingConfig> thinking;
};

struct GenerateRequest {
  /* One user turn; media parts first, then the instructions (the order the
   * docs recommend, and the one that lets implicit caching hit). */
  std::vector<Part> parts;
  std::optional<std::string> system_instruction;
  GenerationConfig config;
  std::string cached_content;          /* "cachedContents/{id}" or empty */
  /* Not sent: how long one attempt may take when the answer may need
   * longer than the client's request_timeout (a long clip); NONE = that. */
  GstClockTime attempt_timeout = GST_CLOCK_TIME_NONE;

  GenerateRequest () = default;
  GenerateRequest (GenerateRequest &&) = default;
  GenerateRequest &operator= (GenerateRequest &&) = default;
};

/* Protobuf Duration JSON: "12.5s", "90s". */
std::string duration_to_wire (GstClockTime t);

/* The request body as a JSON tree / compact string. */
GPtr<JsonNode> request_to_json (const GenerateRequest &req);
std::string request_to_string (const GenerateRequest &req);

/* Total size the request body will have; decides inline vs Files API. */
gsize request_inline_bytes (const GenerateRequest &req);

}  // namespace gemini
