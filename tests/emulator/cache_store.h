/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context caches of cachedContents: their contents, seen by every
 * generateContent request that names the cache, until their ttl runs out.
 * Safe to use from any thread. */
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <json-glib/json-glib.h>

#include "api_error.h"
#include "validator.h"

namespace gemini::test::emu {

struct StoredCache {
  std::string id, model, display_name, create_time, expire_time;
  gint64 expire_us = 0;
  gint64 tokens = 0;
  std::string text;
  std::vector<MediaPart> media;      /* inline_data dropped; info kept */

  /* A cache made now of @req's contents, for @model ("models/..."). */
  static StoredCache create (std::string model, std::string display_name,
      gint64 tokens, ParsedRequest &req, double ttl);

  JsonObject *to_json () const;
};

/* 403 PERMISSION_DENIED, for a cache that is gone or never was. */
ApiError no_such_cache ();

class CacheStore {
public:
  /* Returns the CachedContent's JSON. */
  std::string add (StoredCache cache);
  std::optional<std::string> get (const std::string &id) const;
  bool remove (const std::string &id);
  /* A request against a cache sees the cache's contents before its own;
   * the cache must be alive and of the request's @model ("gemini-..."). */
  std::optional<ApiError> resolve (ParsedRequest &req,
      const std::string &model) const;
  void clear ();

private:
  mutable std::mutex lock_;
  std::map<std::string, StoredCache> caches_;
};

}  // namespace gemini::test::emu
