/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "file_store.h"

#include <algorithm>
#include <cstring>

#include "json_helpers.h"

namespace gemini::test::emu {

StoredFile
StoredFile::create (std::string display_name, std::string mime,
    std::string content)
{
  StoredFile f;
  f.id = random_id (12);
  f.display_name = std::move (display_name);
  f.mime = std::move (mime);
  f.size = (gint64) content.size ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) expires = g_date_time_add_hours (now, 48);
  f.create_time = rfc3339 (now);
  f.expire_time = rfc3339 (expires);
  /* the service's sha256Hash is the base64 of the hex digest */
  GPtr<gchar> hex (g_compute_checksum_for_data (G_CHECKSUM_SHA256,
          (const guchar *) content.data (), content.size ()));
  GPtr<gchar> b64 (g_base64_encode ((const guchar *) hex.get (),
          strlen (hex.get ())));
  f.sha256 = b64.get ();
  f.content = std::make_shared<const std::string> (std::move (content));
  return f;
}

const char *
StoredFile::state () const
{
  return polls_left > 0 ? "PROCESSING" : fail ? "FAILED" : "ACTIVE";
}

JsonObject *
StoredFile::to_json (const std::string &base_url) const
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "name", ("files/" + id).c_str ());
  if (!display_name.empty ())
    json_object_set_string_member (o, "displayName", display_name.c_str ());
  json_object_set_string_member (o, "mimeType", mime.c_str ());
  json_object_set_string_member (o, "sizeBytes",
      std::to_string (size).c_str ());
  json_object_set_string_member (o, "createTime", create_time.c_str ());
  json_object_set_string_member (o, "updateTime", create_time.c_str ());
  json_object_set_string_member (o, "expirationTime", expire_time.c_str ());
  json_object_set_string_member (o, "sha256Hash", sha256.c_str ());
  json_object_set_string_member (o, "uri",
      (base_url + "/v1beta/files/" + id).c_str ());
  json_object_set_string_member (o, "state", state ());
  json_object_set_string_member (o, "source", source.c_str ());
  if (g_str_equal (state (), "ACTIVE") && info.has_video) {
    JsonObject *vm = json_object_new ();
    json_object_set_string_member (vm, "videoDuration",
        proto_duration (info.duration_s).c_str ());
    json_object_set_object_member (o, "videoMetadata", vm);
  }
  if (g_str_equal (state (), "FAILED")) {
    JsonObject *e = json_object_new ();
    json_object_set_int_member (e, "code", 400);
    json_object_set_string_member (e, "message", fail_message.c_str ());
    json_object_set_object_member (o, "error", e);
  }
  return o;
}

ApiError
no_such_file (const std::string &id)
{
  return ApiError::make (403, "PERMISSION_DENIED",
      "You do not have permission to access the File " + id +
      " or it may not exist.");
}

namespace {

ApiError
not_active (const std::string &id)
{
  return ApiError::make (400, "FAILED_PRECONDITION", "The File " + id +
      " is not in an ACTIVE state and usage is not allowed.");
}

}  // namespace

std::string
FileStore::open_upload (UploadSession session)
{
  std::string upload_id = random_id (32);
  std::lock_guard<std::mutex> lk (lock_);
  uploads_.emplace (upload_id, std::move (session));
  return upload_id;
}

std::optional<gint64>
FileStore::received (const std::string &upload_id) const
{
  std::lock_guard<std::mutex> lk (lock_);
  auto it = uploads_.find (upload_id);
  if (it == uploads_.end ())
    return std::nullopt;
  return (gint64) it->second.data->len;
}

void
FileStore::cancel_upload (const std::string &upload_id)
{
  std::lock_guard<std::mutex> lk (lock_);
  uploads_.erase (upload_id);
}

std::optional<FileStore::Appended>
FileStore::append (const std::string &upload_id, GBytes *chunk, bool finalize)
{
  std::lock_guard<std::mutex> lk (lock_);
  auto it = uploads_.find (upload_id);
  if (it == uploads_.end ())
    return std::nullopt;
  gsize size = 0;
  auto data = static_cast<const guint8 *> (g_bytes_get_data (chunk, &size));
  g_byte_array_append (it->second.data.get (), data, (guint) size);
  Appended a;
  a.received = (gint64) it->second.data->len;
  a.declared = it->second.declared;
  if (finalize) {
    a.finished = std::move (it->second);
    uploads_.erase (it);
  }
  return a;
}

void
FileStore::add (const StoredFile &file)
{
  std::lock_guard<std::mutex> lk (lock_);
  files_[file.id] = file;
  order_.push_back (file.id);
}

std::optional<std::string>
FileStore::get (const std::string &id, const std::string &base_url)
{
  std::lock_guard<std::mutex> lk (lock_);
  auto it = files_.find (id);
  if (it == files_.end ())
    return std::nullopt;
  GPtr<JsonObject> o (it->second.to_json (base_url));
  if (it->second.polls_left > 0)
    it->second.polls_left--;
  return to_json_string (o.get ());
}

bool
FileStore::remove (const std::string &id)
{
  std::lock_guard<std::mutex> lk (lock_);
  if (files_.erase (id) == 0)
    return false;
  order_.erase (std::find (order_.begin (), order_.end (), id));
  return true;
}

GPtr<JsonObject>
FileStore::list (const char *page_size, const char *page_token,
    const std::string &base_url)
{
  std::lock_guard<std::mutex> lk (lock_);
  return list_page (page_size, page_token, "files", (gint64) order_.size (),
      [&] (gint64 i) { return files_[order_[i]].to_json (base_url); });
}

std::optional<ApiError>
FileStore::resolve (ParsedRequest &req) const
{
  std::lock_guard<std::mutex> lk (lock_);
  for (auto &m : req.media) {
    if (m.file_id.empty ())
      continue;
    auto it = files_.find (m.file_id);
    if (it == files_.end ())
      return no_such_file (m.file_id);
    if (!g_str_equal (it->second.state (), "ACTIVE"))
      return not_active (m.file_id);
    m.info = it->second.info;
  }
  return std::nullopt;
}

std::optional<std::string>
FileStore::content (const std::string &id, bool download, ApiError &error) const
{
  std::lock_guard<std::mutex> lk (lock_);
  auto it = files_.find (id);
  if (it == files_.end ()) {
    error = no_such_file (id);
    return std::nullopt;
  }
  if (download && it->second.source != "GENERATED") {
    error = ApiError::make (400, "INVALID_ARGUMENT", "Only generated "
        "files can be downloaded; files/" + id + " was uploaded.");
    return std::nullopt;
  }
  if (!g_str_equal (it->second.state (), "ACTIVE")) {
    error = not_active (id);
    return std::nullopt;
  }
  return *it->second.content;
}

void
FileStore::clear ()
{
  std::lock_guard<std::mutex> lk (lock_);
  files_.clear ();
  order_.clear ();
  uploads_.clear ();
}

}  // namespace gemini::test::emu
