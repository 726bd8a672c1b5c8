/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cache_store.h"

#include "json_helpers.h"

namespace gemini::test::emu {

ApiError
no_such_cache ()
{
  return ApiError::make (403, "PERMISSION_DENIED",
      "CachedContent not found (or permission denied)");
}

StoredCache
StoredCache::create (std::string model, std::string display_name,
    gint64 tokens, ParsedRequest &req, double ttl)
{
  StoredCache c;
  c.id = random_id (12);
  c.model = std::move (model);
  c.display_name = std::move (display_name);
  c.tokens = tokens;
  c.text = req.prompt;
  for (auto &m : req.media) {
    m.inline_data.reset ();
    c.media.push_back (std::move (m));
  }
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) expires = g_date_time_add_seconds (now, ttl);
  c.create_time = rfc3339 (now);
  c.expire_time = rfc3339 (expires);
  c.expire_us = g_get_real_time () + (gint64) (ttl * G_USEC_PER_SEC);
  return c;
}

JsonObject *
StoredCache::to_json () const
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "name", ("cachedContents/" + id).c_str ());
  json_object_set_string_member (o, "model", model.c_str ());
  if (!display_name.empty ())
    json_object_set_string_member (o, "displayName", display_name.c_str ());
  json_object_set_string_member (o, "createTime", create_time.c_str ());
  json_object_set_string_member (o, "updateTime", create_time.c_str ());
  json_object_set_string_member (o, "expireTime", expire_time.c_str ());
  JsonObject *u = json_object_new ();
  json_object_set_int_member (u, "totalTokenCount", tokens);
  json_object_set_object_member (o, "usageMetadata", u);
  return o;
}

std::string
CacheStore::add (StoredCache cache)
{
  std::lock_guard<std::mutex> lk (lock_);
  GPtr<JsonObject> j (cache.to_json ());
  std::string id = cache.id;
  caches_.emplace (id, std::move (cache));
  return to_json_string (j.get ());
}

std::optional<std::string>
CacheStore::get (const std::string &id) const
{
  std::lock_guard<std::mutex> lk (lock_);
  auto it = caches_.find (id);
  if (it == caches_.end ())
    return std::nullopt;
  GPtr<JsonObject> j (it->second.to_json ());
  return to_json_string (j.get ());
}

bool
CacheStore::remove (const std::string &id)
{
  std::lock_guard<std::mutex> lk (lock_);
  return caches_.erase (id) > 0;
}

std::optional<ApiError>
CacheStore::resolve (ParsedRequest &req, const std::string &model) const
{
  if (req.cached_content.empty ())
    return std::nullopt;
  const std::string prefix = "cachedContents/";
  std::string id = g_str_has_prefix (req.cached_content.c_str (), prefix.c_str ())
      ? req.cached_content.substr (prefix.size ()) : req.cached_content;
  std::lock_guard<std::mutex> lk (lock_);
  auto it = caches_.find (id);
  if (it == caches_.end () || it->second.expire_us < g_get_real_time ())
    return no_such_cache ();
  const StoredCache &c = it->second;
  if (c.model != "models/" + model)
    return ApiError::make (400, "INVALID_ARGUMENT", "Model used by GenerateContent "
        "request (models/" + model + ") and CachedContent (" + c.model +
        ") has to be the same.");
  std::vector<MediaPart> media;
  for (const auto &m : c.media) {
    MediaPart copy;
    copy.mime = m.mime;
    copy.file_id = m.file_id;
    copy.start_offset = m.start_offset;
    copy.end_offset = m.end_offset;
    copy.fps = m.fps;
    copy.low_resolution = m.low_resolution;
    copy.has_video_metadata = m.has_video_metadata;
    copy.cached = true;
    copy.info = m.info;
    media.push_back (std::move (copy));
  }
  for (auto &m : req.media)
    media.push_back (std::move (m));
  req.media = std::move (media);
  req.prompt = c.text + req.prompt;
  req.text_chars += c.text.size ();
  req.cached_tokens = (gint64) (c.text.size () / 4);
  return std::nullopt;
}

void
CacheStore::clear ()
{
  std::lock_guard<std::mutex> lk (lock_);
  caches_.clear ();
}

}  // namespace gemini::test::emu
