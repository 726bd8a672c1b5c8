/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cachedContents: create, get and delete; generateContent reads the caches
 * through CacheStore::resolve (). */
#include "emulator_private.h"

#include <cstring>

#include "answers.h"
#include "inspect.h"
#include "json_helpers.h"

namespace gemini::test::emu {

void
Server::handle_cache_create (const CallPtr &call)
{
  std::string body = body_string (call->msg.get ());
  std::string parse_error;
  GPtr<JsonNode> root = parse_json (body, &parse_error);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ())) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Invalid JSON payload received. " + parse_error));
    return;
  }
  log_body (call, body);

  JsonObject *o = json_node_get_object (root.get ());
  Validator v;
  ParsedRequest req;
  if (!v.unknown_fields (o, "", { "model", "contents", "system_instruction", "tools",
              "tool_config", "ttl", "expire_time", "display_name" })) {
    respond_error (call, *v.error);
    return;
  }
  std::string model = get_string (o, "model");
  bool known;
  {
    std::lock_guard<std::mutex> lk (lock);
    known = g_str_has_prefix (model.c_str (), "models/")
        && script.knows_model (model.substr (7));
  }
  if (!known) {
    respond_error (call, ApiError::make (model.empty () ? 400 : 404,
            model.empty () ? "INVALID_ARGUMENT" : "NOT_FOUND", model.empty ()
            ? "* CreateCachedContentRequest.cached_content.model: model is required"
            : model + " is not found for API version v1beta, or is not supported "
            "for createCachedContent."));
    return;
  }
  double ttl;
  if (!v.cached_content (o, req, ttl)) {
    respond_error (call, *v.error);
    return;
  }
  if (auto error = files.resolve (req)) {
    respond_error (call, *error);
    return;
  }
  for (auto &m : req.media) {
    if (m.inline_data)
      m.info = inspect_media (m.inline_data.get (), m.mime);
  }
  if (faulted (call))
    return;

  const Usage u = usage_of (req, model.substr (strlen ("models/")));
  const gint64 tokens = u.text + u.video + u.audio;
  gint64 min_tokens;
  {
    std::lock_guard<std::mutex> lk (lock);
    min_tokens = script.min_cache_tokens;
  }
  if (tokens < min_tokens) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Cached content is too small. total_token_count=" + std::to_string (tokens)
            + ", min_total_token_count=" + std::to_string (min_tokens)));
    return;
  }
  respond (call, 200, caches.add (StoredCache::create (model,
              string_field (o, "display_name"), tokens, req, ttl)));
}

void
Server::handle_cache_get (const CallPtr &call)
{
  std::optional<std::string> body = caches.get (call->id);
  if (!body) {
    respond_error (call, no_such_cache ());
    return;
  }
  respond (call, 200, *body);
}

void
Server::handle_cache_delete (const CallPtr &call)
{
  if (faulted (call))
    return;
  if (!caches.remove (call->id)) {
    respond_error (call, no_such_cache ());
    return;
  }
  respond (call, 200, "{}");
}

}  // namespace gemini::test::emu
