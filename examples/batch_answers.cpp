/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_answers.h"

#include "batch_reader.h"
#include "glib_ptr.h"
#include "json_doc.h"

using gemini::GPtr;

namespace transcribe {

void
save_answer (const State &s, const gemini::BatchResult &r)
{
  GPtr<JsonObject> o (json_object_new ());
  json_object_set_string_member (o.get (), "key", r.key.c_str ());
  if (r.response) {
    json_object_set_string_member (o.get (), "text", r.response->text.c_str ());
    json_object_set_boolean_member (o.get (), "truncated", r.response->truncated ());
    const auto &u = r.response->usage;
    json_object_set_int_member (o.get (), "prompt_tokens", u.prompt_tokens);
    json_object_set_int_member (o.get (), "audio_tokens", u.prompt_tokens_for ("AUDIO"));
    json_object_set_int_member (o.get (), "candidates_tokens",
        u.candidates_tokens + u.thoughts_tokens);
    json_object_set_int_member (o.get (), "total_tokens", u.total_tokens);
    if (r.response->blocked ())
      json_object_set_string_member (o.get (), "error", ("the answer was blocked (" +
              (r.response->block_reason.empty () ? r.response->finish_reason :
                  r.response->block_reason) + ")").c_str ());
  } else {
    json_object_set_string_member (o.get (), "error", r.error->describe ().c_str ());
  }
  GPtr<JsonNode> n (json_node_init_object (json_node_alloc (), o.get ()));
  GPtr<gchar> text (json_to_string (n.get (), FALSE));
  std::string error;
  write_atomically (s.result_path (r.key), text.get (), error);
}

std::optional<WindowAnswer>
load_answer (const State &s, const std::string &key)
{
  GPtr<JsonNode> root = gemini::load_json_file (s.result_path (key), nullptr);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return std::nullopt;
  JsonObject *o = json_node_get_object (root.get ());
  StrictReader read;
  if (read.string (o, "key", key) != key)
    return std::nullopt;
  WindowAnswer a;
  a.text = read.string (o, "text", key);
  a.truncated = read.boolean (o, "truncated", key);
  a.error = read.string (o, "error", key);
  a.prompt_tokens = read.integer (o, "prompt_tokens", key);
  a.audio_tokens = read.integer (o, "audio_tokens", key);
  a.candidates_tokens = read.integer (o, "candidates_tokens", key);
  a.total_tokens = read.integer (o, "total_tokens", key);
  if (read.failed ())
    return std::nullopt;
  return a;
}

std::optional<gemini::AudioEnvelope>
load_sound (const State &s, const std::string &key)
{
  gchar *contents = nullptr;
  gsize size = 0;
  if (!g_file_get_contents (s.sound_path (key).c_str (), &contents, &size, nullptr))
    return std::nullopt;
  GPtr<gchar> owned (contents);
  return gemini::AudioEnvelope::parse (std::string_view (contents, size));
}

}  // namespace transcribe
