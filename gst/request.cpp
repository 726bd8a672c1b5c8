/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* generateContent request bodies, built with JsonBuilder. */
#include "request.h"

namespace gemini {

namespace {

/* With with_data false, inline data is written as "" so the size of the rest
 * of the body can be measured without base64-encoding megabytes of media. */
void
add_part (JsonBuilder *b, const Part &part, bool with_data)
{
  json_builder_begin_object (b);

  if (const auto *text = std::get_if<TextPart> (&part.data)) {
    json_builder_set_member_name (b, "text");
    json_builder_add_string_value (b, text->text.c_str ());
  } else if (const auto *inl = std::get_if<InlineDataPart> (&part.data)) {
    json_builder_set_member_name (b, "inlineData");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "mimeType");
    json_builder_add_string_value (b, inl->mime_type.c_str ());
    json_builder_set_member_name (b, "data");
    if (with_data && inl->data) {
      gsize size = 0;
      auto bytes = static_cast<const guchar *> (g_bytes_get_data (inl->data.get (), &size));
      GPtr<gchar> encoded (g_base64_encode (bytes, size));
      json_builder_add_string_value (b, encoded.get ());
    } else {
      json_builder_add_string_value (b, "");
    }
    json_builder_end_object (b);
  } else if (const auto *file = std::get_if<FileDataPart> (&part.data)) {
    json_builder_set_member_name (b, "fileData");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "mimeType");
    json_builder_add_string_value (b, file->mime_type.c_str ());
    json_builder_set_member_name (b, "fileUri");
    json_builder_add_string_value (b, file->file_uri.c_str ());
    json_builder_end_object (b);
  }

  if (part.video_metadata) {
    const VideoMetadata &vm = *part.video_metadata;
    json_builder_set_member_name (b, "videoMetadata");
    json_builder_begin_object (b);
    if (vm.start_offset) {
      json_builder_set_member_name (b, "startOffset");
      json_builder_add_string_value (b, duration_to_wire (*vm.start_offset).c_str ());
    }
    if (vm.end_offset) {
      json_builder_set_member_name (b, "endOffset");
      json_builder_add_string_value (b, duration_to_wire (*vm.end_offset).c_str ());
    }
    if (vm.fps) {
      json_builder_set_member_name (b, "fps");
      json_builder_add_double_value (b, *vm.fps);
    }
    json_builder_end_object (b);
  }

  json_builder_end_object (b);
}

void
add_generation_config (JsonBuilder *b, const GenerationConfig &c)
{
  json_builder_set_member_name (b, "generationConfig");
  json_builder_begin_object (b);

  if (c.temperature) {
    json_builder_set_member_name (b, "temperature");
    json_builder_add_double_value (b, *c.temperature);
  }
  if (c.top_p) {
    json_builder_set_member_name (b, "topP");
    json_builder_add_double_value (b, *c.top_p);
  }
  if (c.seed) {
    json_builder_set_member_name (b, "seed");
    json_builder_add_int_value (b, *c.seed);
  }
  if (c.max_output_tokens) {
    json_builder_set_member_name (b, "maxOutputTokens");
    json_builder_add_int_value (b, *c.max_output_tokens);
  }
  if (!c.response_mime_type.empty ()) {
    json_builder_set_member_name (b, "responseMimeType");
    json_builder_add_string_value (b, c.response_mime_type.c_str ());
  }
  if (c.response_schema) {
    json_builder_set_member_name (b, "responseSchema");
    json_builder_add_value (b, json_node_copy (c.response_schema.get ()));
  }
  if (c.media_resolution != MediaResolution::Unspecified) {
    json_builder_set_member_name (b, "mediaResolution");
    json_builder_add_string_value (b, media_resolution_to_wire (c.media_resolution));
  }
  if (c.thinking) {
    const ThinkingConfig &t = *c.thinking;
    json_builder_set_member_name (b, "thinkingConfig");
    json_builder_begin_object (b);
    if (t.budget) {
      json_builder_set_member_name (b, "thinkingBudget");
      json_builder_add_int_value (b, *t.budget);
    }
    if (t.level) {
      json_builder_set_member_name (b, "thinkingLevel");
      json_builder_add_string_value (b, t.level->c_str ());
    }
    if (t.include_thoughts) {
      json_builder_set_member_name (b, "includeThoughts");
      json_builder_add_boolean_value (b, TRUE);
    }
    json_builder_end_object (b);
  }

  json_builder_end_object (b);
}

bool
has_generation_config (const GenerationConfig &c)
{
  return c.temperature || c.top_p || c.seed || c.max_output_tokens
      || !c.response_mime_type.empty () || c.response_schema
      || c.media_resolution != MediaResolution::Unspecified || c.thinking;
}

GPtr<JsonNode>
build_request (const GenerateRequest &req, bool with_data)
{
  GPtr<JsonBuilder> builder (json_builder_new ());
  JsonBuilder *b = builder.get ();

  json_builder_begin_object (b);

  json_builder_set_member_name (b, "contents");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "user");
  json_builder_set_member_name (b, "parts");
  json_builder_begin_array (b);
  for (const Part &part : req.parts)
    add_part (b, part, with_data);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_array (b);

  if (req.system_instruction) {
    json_builder_set_member_name (b, "systemInstruction");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "parts");
    json_builder_begin_array (b);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "text");
    json_builder_add_string_value (b, req.system_instruction->c_str ());
    json_builder_end_object (b);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }

  if (has_generation_config (req.config))
    add_generation_config (b, req.config);

  if (!req.cached_content.empty ()) {
    json_builder_set_member_name (b, "cachedContent");
    json_builder_add_string_value (b, req.cached_content.c_str ());
  }

  json_builder_end_object (b);
  return GPtr<JsonNode> (json_builder_get_root (b));
}

std::string
node_to_string (JsonNode *node)
{
  GPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  gsize len = 0;
  GPtr<gchar> data (json_generator_to_data (gen.get (), &len));
  return std::string (data.get (), len);
}

}  // namespace

std::optional<MediaResolution>
media_resolution_from_name (std::string_view name)
{
  if (name.empty () || name == "auto")
    return MediaResolution::Unspecified;
  if (name == "low")
    return MediaResolution::Low;
  if (name == "medium")
    return MediaResolution::Medium;
  if (name == "high")
    return MediaResolution::High;
  return std::nullopt;
}

const char *
media_resolution_to_wire (MediaResolution r)
{
  switch (r) {
    case MediaResolution::Low:
      return "MEDIA_RESOLUTION_LOW";
    case MediaResolution::Medium:
      return "MEDIA_RESOLUTION_MEDIUM";
    case MediaResolution::High:
      return "MEDIA_RESOLUTION_HIGH";
    case MediaResolution::Unspecified:
      break;
  }
  return "MEDIA_RESOLUTION_UNSPECIFIED";
}

std::string
duration_to_wire (GstClockTime t)
{
  g_return_val_if_fail (GST_CLOCK_TIME_IS_VALID (t), "0s");

  const guint64 secs = t / GST_SECOND;
  guint64 nanos = t % GST_SECOND;

  std::string out = std::to_string (secs);
  if (nanos != 0) {
    int digits = 9;
    while (nanos % 10 == 0) {
      nanos /= 10;
      digits--;
    }
    std::string frac = std::to_string (nanos);
    out += '.';
    out.append (digits - frac.size (), '0');
    out += frac;
  }
  out += 's';
  return out;
}

GPtr<JsonNode>
request_to_json (const GenerateRequest &req)
{
  return build_request (req, true);
}

std::string
request_to_string (const GenerateRequest &req)
{
  GPtr<JsonNode> root = build_request (req, true);
  return node_to_string (root.get ());
}

gsize
request_inline_bytes (const GenerateRequest &req)
{
  GPtr<JsonNode> skeleton = build_request (req, false);
  gsize total = node_to_string (skeleton.get ()).size ();

  /* Padded standard base64 needs no JSON escaping. */
  for (const Part &part : req.parts) {
    if (const auto *inl = std::get_if<InlineDataPart> (&part.data)) {
      const gsize n = inl->data ? g_bytes_get_size (inl->data.get ()) : 0;
      total += 4 * ((n + 2) / 3);
    }
  }
  return total;
}

}  // namespace gemini
