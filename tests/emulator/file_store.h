/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Files API's side of the emulator: resumable upload sessions, the
 * files they end in (PROCESSING for a scripted number of polls, then ACTIVE
 * or FAILED) and the files a batch generates. Safe to use from any thread. */
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <json-glib/json-glib.h>

#include "api_error.h"
#include "glib_ptr.h"
#include "inspect.h"
#include "validator.h"

namespace gemini::test::emu {

/* X-Goog-Upload-Chunk-Granularity: every chunk but the last is a multiple. */
constexpr gint64 kChunkGranularity = 8388608;

struct StoredFile {
  std::string id, display_name, mime, sha256, create_time, expire_time;
  std::string source = "UPLOADED";   /* GENERATED: a batch's results */
  std::shared_ptr<const std::string> content;
  gint64 size = 0;
  gint64 polls_left = 0;
  bool fail = false;
  std::string fail_message;
  MediaInfo info;

  /* A new id, the times of a file made now (kept 48 hours) and the
   * content's sha256Hash. */
  static StoredFile create (std::string display_name, std::string mime,
      std::string content);

  const char *state () const;
  /* The File resource, with its uri under @base_url. */
  JsonObject *to_json (const std::string &base_url) const;
};

struct UploadSession {
  std::string display_name, mime;
  gint64 declared = -1;
  GPtr<GByteArray> data{g_byte_array_new ()};
  bool fail = false;
  std::string fail_message;
};

/* 403 PERMISSION_DENIED, as the service answers for a file that is gone
 * and for one of another project alike. */
ApiError no_such_file (const std::string &id);

class FileStore {
public:
  /* Returns the new session's upload id. */
  std::string open_upload (UploadSession session);
  /* The bytes a session has received so far; nullopt: no such session. */
  std::optional<gint64> received (const std::string &upload_id) const;
  void cancel_upload (const std::string &upload_id);

  struct Appended {
    gint64 received = 0;
    gint64 declared = -1;
    /* The closed session, when the chunk finalized it. */
    std::optional<UploadSession> finished;
  };
  std::optional<Appended> append (const std::string &upload_id, GBytes *chunk,
      bool finalize);

  void add (const StoredFile &file);
  /* files.get: the File's JSON; each get counts as one poll of a
   * PROCESSING file. */
  std::optional<std::string> get (const std::string &id,
      const std::string &base_url);
  bool remove (const std::string &id);
  GPtr<JsonObject> list (const char *page_size, const char *page_token,
      const std::string &base_url);
  /* The files a request refers to must exist and be ACTIVE; their media
   * facts come from the upload. */
  std::optional<ApiError> resolve (ParsedRequest &req) const;
  /* The bytes of a file; @download asks for a generated file's. */
  std::optional<std::string> content (const std::string &id, bool download,
      ApiError &error) const;
  void clear ();

private:
  mutable std::mutex lock_;
  std::map<std::string, StoredFile> files_;
  std::vector<std::string> order_;           /* for files.list */
  std::map<std::string, UploadSession> uploads_;
};

}  // namespace gemini::test::emu
