/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_state.h"

#include <set>

#include <glib.h>

#include "batch_reader.h"
#include "glib_ptr.h"
#include "json_doc.h"

using gemini::GPtr;

namespace transcribe {

namespace {

constexpr std::pair<InputStatus, const char *> STATUS_NAMES[] = {
  { InputStatus::New, "new" },
  { InputStatus::Unreadable, "unreadable" },
  { InputStatus::Encoded, "encoded" },
  { InputStatus::Uploaded, "uploaded" },
  { InputStatus::Submitted, "submitted" },
  { InputStatus::Answered, "answered" },
  { InputStatus::Done, "done" },
  { InputStatus::Failed, "failed" },
};

JsonNode *
string_array (const std::vector<std::string> &v)
{
  JsonArray *a = json_array_new ();
  for (const auto &s : v)
    json_array_add_string_element (a, s.c_str ());
  return json_node_init_array (json_node_alloc (), a);
}

JsonObject *
input_object (const InputState &in)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "path", in.path.c_str ());
  json_object_set_string_member (o, "key", in.key.c_str ());
  json_object_set_string_member (o, "status", in.status_name ().c_str ());
  json_object_set_string_member (o, "error", in.error.c_str ());
  json_object_set_string_member (o, "mime", in.mime.c_str ());
  json_object_set_int_member (o, "duration_ns", (gint64) in.duration);
  json_object_set_boolean_member (o, "has_video", in.has_video);
  json_object_set_int_member (o, "media_bytes", in.media_bytes);
  json_object_set_string_member (o, "file_name", in.file_name.c_str ());
  json_object_set_string_member (o, "file_uri", in.file_uri.c_str ());
  json_object_set_string_member (o, "file_expires", in.file_expires.c_str ());
  JsonArray *windows = json_array_new ();
  for (const auto &w : in.windows) {
    JsonObject *wo = json_object_new ();
    json_object_set_string_member (wo, "key", w.key.c_str ());
    json_object_set_int_member (wo, "start_ns", (gint64) w.start);
    json_object_set_int_member (wo, "duration_ns", (gint64) w.duration);
    json_array_add_object_element (windows, wo);
  }
  json_object_set_array_member (o, "windows", windows);
  json_object_set_member (o, "written", string_array (in.written));
  json_object_set_string_member (o, "writing", in.writing.c_str ());
  json_object_set_string_member (o, "writing_prior", in.writing_prior.c_str ());
  json_object_set_string_member (o, "job", in.job.c_str ());
  return o;
}

JsonObject *
job_object (const JobState &j)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "display_name", j.display_name.c_str ());
  json_object_set_string_member (o, "name", j.name.c_str ());
  json_object_set_string_member (o, "input_file", j.input_file.c_str ());
  json_object_set_member (o, "keys", string_array (j.keys));
  json_object_set_string_member (o, "state", j.state.c_str ());
  json_object_set_boolean_member (o, "results_saved", j.results_saved);
  json_object_set_boolean_member (o, "deleted", j.deleted);
  return o;
}

/* Calls `f (object, index, where)` for each object of `list` (nullptr:
 * none) until the reader fails; `label` and the index name it in errors. */
template <typename F>
void
for_each_object (StrictReader &read, JsonArray *list, const std::string &label, F f)
{
  for (guint i = 0; list && i < json_array_get_length (list) && !read.failed (); i++) {
    const std::string where = label + std::to_string (i + 1);
    JsonObject *o = read.object_at (list, i, where);
    if (!o)
      break;
    f (o, i, where);
  }
}

/* Input `i` of the state file; the keys of its windows go to `window_keys`
 * for the jobs' keys to be checked against. */
InputState
read_input (StrictReader &read, JsonObject *o, guint i, const std::string &where,
    std::set<std::string> &window_keys)
{
  InputState in;
  in.path = read.string (o, "path", where);
  in.key = read.string (o, "key", where);
  if (in.key != input_key (i))
    read.fail (where, "key \"" + in.key + "\" is not the one this program gives it");
  const std::string status = read.string (o, "status", where);
  if (auto known = input_status_from_string (status)) {
    in.status = *known;
  } else {
    in.status = InputStatus::Other;
    in.other_status = status;
  }
  in.error = read.string (o, "error", where);
  in.mime = read.string (o, "mime", where);
  in.duration = (GstClockTime) read.integer (o, "duration_ns", where);
  in.has_video = read.boolean (o, "has_video", where);
  in.media_bytes = read.integer (o, "media_bytes", where);
  in.file_name = read.string (o, "file_name", where);
  read.service_name (in.file_name, "files", where);
  in.file_uri = read.string (o, "file_uri", where);
  in.file_expires = read.string (o, "file_expires", where);
  for_each_object (read, read.array (o, "windows", where), where + ", window ",
      [&] (JsonObject *wo, guint k, const std::string &wwhere) {
    WindowState w;
    w.key = read.string (wo, "key", wwhere);
    if (w.key != window_key (in.key, k))
      read.fail (wwhere, "key \"" + w.key + "\" is not the one this program gives it");
    w.start = (GstClockTime) read.integer (wo, "start_ns", wwhere);
    w.duration = (GstClockTime) read.integer (wo, "duration_ns", wwhere);
    window_keys.insert (w.key);
    in.windows.push_back (std::move (w));
  });
  in.written = read.strings (o, "written", where);
  in.writing = read.string (o, "writing", where);
  in.writing_prior = read.string (o, "writing_prior", where);
  in.job = read.string (o, "job", where);
  return in;
}

JobState
read_job (StrictReader &read, JsonObject *o, const std::string &where,
    const std::set<std::string> &window_keys)
{
  JobState j;
  j.display_name = read.string (o, "display_name", where);
  j.name = read.string (o, "name", where);
  read.service_name (j.name, "batches", where);
  j.input_file = read.string (o, "input_file", where);
  read.service_name (j.input_file, "files", where);
  j.keys = read.strings (o, "keys", where);
  for (const auto &k : j.keys)
    if (!window_keys.count (k))
      read.fail (where, "key \"" + k + "\" is no window's of this run");
  j.state = read.string (o, "state", where);
  j.results_saved = read.boolean (o, "results_saved", where);
  j.deleted = read.boolean (o, "deleted", where);
  return j;
}

}  // namespace

const char *
to_string (InputStatus status)
{
  for (const auto &[s, name] : STATUS_NAMES)
    if (s == status)
      return name;
  return "";
}

std::optional<InputStatus>
input_status_from_string (std::string_view name)
{
  for (const auto &[s, n] : STATUS_NAMES)
    if (name == n)
      return s;
  return std::nullopt;
}

std::string
InputState::status_name () const
{
  return status == InputStatus::Other ? other_status : to_string (status);
}

bool
write_atomically (const std::string &path, const std::string &text, std::string &error)
{
  GError *err = nullptr;
  if (!g_file_set_contents (path.c_str (), text.c_str (), (gssize) text.size (), &err)) {
    error = err->message;
    g_error_free (err);
    return false;
  }
  return true;
}

void
save_state (State &s)
{
  GPtr<JsonObject> root (json_object_new ());
  json_object_set_int_member (root.get (), "version", 1);
  json_object_set_string_member (root.get (), "model", s.model.c_str ());
  JsonArray *inputs = json_array_new ();
  for (const auto &in : s.inputs)
    json_array_add_object_element (inputs, input_object (in));
  json_object_set_array_member (root.get (), "inputs", inputs);
  JsonArray *jobs = json_array_new ();
  for (const auto &j : s.jobs)
    json_array_add_object_element (jobs, job_object (j));
  json_object_set_array_member (root.get (), "jobs", jobs);
  GPtr<JsonNode> node (json_node_init_object (json_node_alloc (), root.get ()));
  GPtr<gchar> text (json_to_string (node.get (), TRUE));
  std::string error;
  if (!write_atomically (s.path, text.get (), error))
    g_printerr ("gemini-transcribe: cannot save %s: %s\n", s.path.c_str (), error.c_str ());
}

std::string
input_key (size_t index)
{
  char key[32];
  g_snprintf (key, sizeof key, "in%05zu", index + 1);
  return key;
}

std::string
window_key (const std::string &input, size_t window)
{
  return input + "#" + std::to_string (window);
}

bool
load_state (State &s, std::string &error)
{
  GError *err = nullptr;
  GPtr<JsonNode> doc = gemini::load_json_file (s.path, &err);
  if (!doc) {
    error = err->message;
    g_error_free (err);
    return false;
  }
  if (!JSON_NODE_HOLDS_OBJECT (doc.get ())) {
    error = "not a JSON object";
    return false;
  }
  StrictReader read;
  JsonObject *r = json_node_get_object (doc.get ());
  s.model = read.string (r, "model", "the state");
  std::set<std::string> window_keys;
  for_each_object (read, read.array (r, "inputs", "the state"), "input ",
      [&] (JsonObject *o, guint i, const std::string &where) {
    s.inputs.push_back (read_input (read, o, i, where, window_keys));
  });
  for_each_object (read, read.array (r, "jobs", "the state"), "job ",
      [&] (JsonObject *o, guint, const std::string &where) {
    s.jobs.push_back (read_job (read, o, where, window_keys));
  });
  if (read.failed ()) {
    error = "not a state file this program wrote (" + read.error () + ")";
    s.inputs.clear ();
    s.jobs.clear ();
    return false;
  }
  return true;
}

}  // namespace transcribe
