/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe --batch; see batch_run.h and docs/batch.md.
 *
 * Phases: encode (the engine's SegmentEncoder, one input per worker, as
 * many workers as cores), upload (Files API), submit (one job), wait (poll),
 * write (the single-file mode's writers). After every step the state file is
 * rewritten atomically, so a run killed anywhere continues where it stopped
 * when the same command runs again. */
#include "batch_run.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/pbutils/pbutils.h>

#include "batch.h"
#include "cue_builder.h"
#include "json_doc.h"
#include "segment_encoder.h"
#include "speaker_registry.h"
#include "transcript_parser.h"
#include "glib_ptr.h"
#include "outputs.h"
#include "render.h"

#define GST_CAT_DEFAULT gemini_transcribe_debug

using gemini::GPtr;

namespace transcribe {

namespace {

/* USD per million tokens for interactive requests (prompts up to 200k
 * tokens), from ai.google.dev/gemini-api/docs/pricing as quoted on the day
 * in `taken` (this program cannot check them). Batch requests cost
 * BATCH_DISCOUNT of these. A price that holds only until a date has
 * `until` set and the next price in the row after it. No price was
 * published for 3.6 and 3.7 Flash while they were current. */
struct Price {
  const char *model;
  double input;                       /* text, image and video */
  double audio_input;
  double output;                      /* thinking tokens included */
  const char *taken;
  const char *until = nullptr;        /* last day (UTC) it holds, YYYY-MM-DD */
};
constexpr Price PRICES[] = {
  { "gemini-2.5-pro", 1.25, 1.25, 10.00, "2026-03" },
  { "gemini-2.5-flash", 0.30, 1.00, 2.50, "2026-03" },
  { "gemini-2.5-flash-lite", 0.10, 0.30, 0.40, "2026-03" },
  { "gemini-3-flash-preview", 0.50, 1.00, 3.00, "2026-07-04" },
  { "gemini-3.5-flash", 1.50, 1.50, 9.00, "2026-10-07" },
  { "gemini-3.8-flash", 0.75, 0.75, 3.75, "2026-10-07", "2026-12-31" },
  { "gemini-3.8-flash", 1.50, 1.50, 7.50, "2026-10-07" },
};
constexpr double BATCH_DISCOUNT = 0.5;
constexpr const char *DEFAULT_MODEL = "gemini-3.8-flash";
constexpr const char *STATE_NAME = "gemini-batch-state.json";
constexpr const char *MEDIA_EXTENSIONS[] = {
  ".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".aac", ".webm", ".mkv",
  ".mp4", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".m4v", ".wma", ".wmv",
};

std::atomic<bool> interrupted{false};

/* ---------- state ---------- */

struct WindowState {
  std::string key;
  GstClockTime start = 0;
  GstClockTime duration = 0;
};

struct InputState {
  std::string path;
  std::string key;
  /* new | unreadable | encoded | uploaded | submitted | answered | done | failed */
  std::string status = "new";
  std::string error;
  std::string mime;
  GstClockTime duration = 0;
  bool has_video = false;
  gint64 media_bytes = 0;
  std::string file_name, file_uri, file_expires;
  std::vector<WindowState> windows;
  std::vector<std::string> written;
  /* The output being written, and what stood at its path before: a kill
   * between the (atomic) write and the state saying so leaves a new file
   * there, which a rerun must not write again. */
  std::string writing, writing_prior;
  std::string job;
};

struct JobState {
  std::string display_name;           /* unique: finds a job created just before a kill */
  std::string name;                   /* empty while being submitted */
  std::string input_file;
  std::vector<std::string> keys;
  std::string state;                  /* PENDING ... SUCCEEDED, "" = not known yet */
  bool results_saved = false;
  bool deleted = false;
};

struct State {
  std::string path;
  std::string model;
  std::vector<InputState> inputs;
  std::vector<JobState> jobs;
  std::mutex lock;                    /* the encoders report in parallel */

  std::string cache_dir () const { return path + ".d"; }
  std::string result_path (const std::string &key) const {
    return cache_dir () + "/" + key + ".result.json";
  }
};

JsonNode *
string_array (const std::vector<std::string> &v)
{
  JsonArray *a = json_array_new ();
  for (const auto &s : v)
    json_array_add_string_element (a, s.c_str ());
  return json_node_init_array (json_node_alloc (), a);
}

/* Writes `text` to `path` through a temporary file and a rename, so a kill
 * leaves the old file or the new one, never half of one. */
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

/* What stands at `path`: "" when nothing, else its inode and change time;
 * a rename over it changes both. */
std::string
file_identity (const std::string &path)
{
  GStatBuf st;
  if (g_stat (path.c_str (), &st) != 0)
    return {};
  return std::to_string (st.st_ino) + ":" + std::to_string (st.st_ctim.tv_sec) + "."
      + std::to_string (st.st_ctim.tv_nsec);
}

/* Callers hold state.lock. */
void
save_state (State &s)
{
  GPtr<JsonObject> root (json_object_new ());
  json_object_set_int_member (root.get (), "version", 1);
  json_object_set_string_member (root.get (), "model", s.model.c_str ());
  JsonArray *inputs = json_array_new ();
  for (const auto &in : s.inputs) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "path", in.path.c_str ());
    json_object_set_string_member (o, "key", in.key.c_str ());
    json_object_set_string_member (o, "status", in.status.c_str ());
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
    json_array_add_object_element (inputs, o);
  }
  json_object_set_array_member (root.get (), "inputs", inputs);
  JsonArray *jobs = json_array_new ();
  for (const auto &j : s.jobs) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "display_name", j.display_name.c_str ());
    json_object_set_string_member (o, "name", j.name.c_str ());
    json_object_set_string_member (o, "input_file", j.input_file.c_str ());
    json_object_set_member (o, "keys", string_array (j.keys));
    json_object_set_string_member (o, "state", j.state.c_str ());
    json_object_set_boolean_member (o, "results_saved", j.results_saved);
    json_object_set_boolean_member (o, "deleted", j.deleted);
    json_array_add_object_element (jobs, o);
  }
  json_object_set_array_member (root.get (), "jobs", jobs);
  GPtr<JsonNode> node (json_node_init_object (json_node_alloc (), root.get ()));
  GPtr<gchar> text (json_to_string (node.get (), TRUE));
  std::string error;
  if (!write_atomically (s.path, text.get (), error))
    g_printerr ("gemini-transcribe: cannot save %s: %s\n", s.path.c_str (), error.c_str ());
}

/* The key of input `index` (from 0) and of its window `window`: the only
 * names this program gives its cache files and batch requests. */
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

/* Reads JSON nobody vouches for (a state or result file anyone may have
 * edited, a server's listing): members of the wrong type are an error
 * naming the first, never a crash or a GLib critical. */
class StrictReader {
public:
  bool failed () const { return !error_.empty (); }
  const std::string &error () const { return error_; }

  void fail (const std::string &where, const std::string &what) {
    if (error_.empty ())
      error_ = where + ": " + what;
  }

  std::string string (JsonObject *o, const char *name, const std::string &where) {
    JsonNode *n = json_object_get_member (o, name);
    if (!n || JSON_NODE_HOLDS_NULL (n))
      return {};
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
      fail (where, std::string ("\"") + name + "\" is not a string");
      return {};
    }
    return json_node_get_string (n);
  }

  gint64 integer (JsonObject *o, const char *name, const std::string &where) {
    JsonNode *n = json_object_get_member (o, name);
    if (!n || JSON_NODE_HOLDS_NULL (n))
      return 0;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
        || json_node_get_int (n) < 0) {
      fail (where, std::string ("\"") + name + "\" is not a count");
      return 0;
    }
    return json_node_get_int (n);
  }

  bool boolean (JsonObject *o, const char *name, const std::string &where) {
    JsonNode *n = json_object_get_member (o, name);
    if (!n || JSON_NODE_HOLDS_NULL (n))
      return false;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
      fail (where, std::string ("\"") + name + "\" is not true or false");
      return false;
    }
    return json_node_get_boolean (n);
  }

  /* An array of objects (or of strings); empty when absent. */
  JsonArray *array (JsonObject *o, const char *name, const std::string &where) {
    JsonNode *n = json_object_get_member (o, name);
    if (!n || JSON_NODE_HOLDS_NULL (n))
      return nullptr;
    if (!JSON_NODE_HOLDS_ARRAY (n)) {
      fail (where, std::string ("\"") + name + "\" is not a list");
      return nullptr;
    }
    return json_node_get_array (n);
  }

  JsonObject *object_at (JsonArray *a, guint i, const std::string &where) {
    JsonNode *n = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_OBJECT (n)) {
      fail (where, "not an object");
      return nullptr;
    }
    return json_node_get_object (n);
  }

  std::vector<std::string> strings (JsonObject *o, const char *name, const std::string &where) {
    std::vector<std::string> out;
    JsonArray *a = array (o, name, where);
    for (guint i = 0; a && i < json_array_get_length (a); i++) {
      JsonNode *n = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
        fail (where, std::string ("\"") + name + "\" holds something other than strings");
        return {};
      }
      out.emplace_back (json_node_get_string (n));
    }
    return out;
  }

  /* A resource name the service gave: "files/abc-123", "batches/x9". */
  void service_name (const std::string &name, const char *collection, const std::string &where) {
    const std::string prefix = std::string (collection) + "/";
    const bool ok = name.empty () || (g_str_has_prefix (name.c_str (), prefix.c_str ())
        && name.size () > prefix.size () && name.size () <= 256
        && std::all_of (name.begin () + prefix.size (), name.end (), [] (char c) {
              return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.'; })
        && name.find ("..") == std::string::npos);
    if (!ok)
      fail (where, "\"" + name + "\" is not a " + collection + " name");
  }

private:
  std::string error_;
};

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
  JsonArray *inputs = read.array (r, "inputs", "the state");
  for (guint i = 0; inputs && i < json_array_get_length (inputs) && !read.failed (); i++) {
    const std::string where = "input " + std::to_string (i + 1);
    JsonObject *o = read.object_at (inputs, i, where);
    if (!o)
      break;
    InputState in;
    in.path = read.string (o, "path", where);
    in.key = read.string (o, "key", where);
    if (in.key != input_key (i))
      read.fail (where, "key \"" + in.key + "\" is not the one this program gives it");
    in.status = read.string (o, "status", where);
    in.error = read.string (o, "error", where);
    in.mime = read.string (o, "mime", where);
    in.duration = (GstClockTime) read.integer (o, "duration_ns", where);
    in.has_video = read.boolean (o, "has_video", where);
    in.media_bytes = read.integer (o, "media_bytes", where);
    in.file_name = read.string (o, "file_name", where);
    read.service_name (in.file_name, "files", where);
    in.file_uri = read.string (o, "file_uri", where);
    in.file_expires = read.string (o, "file_expires", where);
    JsonArray *windows = read.array (o, "windows", where);
    for (guint k = 0; windows && k < json_array_get_length (windows) && !read.failed (); k++) {
      const std::string wwhere = where + ", window " + std::to_string (k + 1);
      JsonObject *wo = read.object_at (windows, k, wwhere);
      if (!wo)
        break;
      WindowState w;
      w.key = read.string (wo, "key", wwhere);
      if (w.key != window_key (in.key, k))
        read.fail (wwhere, "key \"" + w.key + "\" is not the one this program gives it");
      w.start = (GstClockTime) read.integer (wo, "start_ns", wwhere);
      w.duration = (GstClockTime) read.integer (wo, "duration_ns", wwhere);
      window_keys.insert (w.key);
      in.windows.push_back (std::move (w));
    }
    in.written = read.strings (o, "written", where);
    in.writing = read.string (o, "writing", where);
    in.writing_prior = read.string (o, "writing_prior", where);
    in.job = read.string (o, "job", where);
    s.inputs.push_back (std::move (in));
  }
  JsonArray *jobs = read.array (r, "jobs", "the state");
  for (guint i = 0; jobs && i < json_array_get_length (jobs) && !read.failed (); i++) {
    const std::string where = "job " + std::to_string (i + 1);
    JsonObject *o = read.object_at (jobs, i, where);
    if (!o)
      break;
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
    s.jobs.push_back (std::move (j));
  }
  if (read.failed ()) {
    error = "not a state file this program wrote (" + read.error () + ")";
    s.inputs.clear ();
    s.jobs.clear ();
    return false;
  }
  return true;
}

/* ---------- inputs and outputs ---------- */

bool
is_media_name (const std::string &name)
{
  GPtr<gchar> lower (g_ascii_strdown (name.c_str (), -1));
  return std::any_of (std::begin (MEDIA_EXTENSIONS), std::end (MEDIA_EXTENSIONS),
      [&] (const char *ext) { return g_str_has_suffix (lower.get (), ext); });
}

/* Files as given; directories give their media files (by extension, sorted). */
std::vector<std::string>
expand_inputs (const BatchSettings &s, std::string &error)
{
  std::vector<std::string> given = s.inputs;
  if (!s.list_file.empty ()) {
    gchar *contents = nullptr;
    GError *err = nullptr;
    if (!g_file_get_contents (s.list_file.c_str (), &contents, nullptr, &err)) {
      error = "cannot read the list " + s.list_file + ": " + err->message;
      g_error_free (err);
      return {};
    }
    gchar **lines = g_strsplit (contents, "\n", -1);
    for (gchar **l = lines; *l; l++) {
      g_strstrip (*l);
      if (**l && **l != '#')
        given.emplace_back (*l);
    }
    g_strfreev (lines);
    g_free (contents);
  }
  std::vector<std::string> out;
  for (const auto &path : given) {
    if (!g_file_test (path.c_str (), G_FILE_TEST_IS_DIR)) {
      out.push_back (path);
      continue;
    }
    GDir *dir = g_dir_open (path.c_str (), 0, nullptr);
    std::vector<std::string> found;
    for (const char *n = dir ? g_dir_read_name (dir) : nullptr; n; n = g_dir_read_name (dir)) {
      GPtr<gchar> full (g_build_filename (path.c_str (), n, nullptr));
      if (is_media_name (n) && g_file_test (full.get (), G_FILE_TEST_IS_REGULAR))
        found.emplace_back (full.get ());
    }
    if (dir)
      g_dir_close (dir);
    std::sort (found.begin (), found.end ());
    out.insert (out.end (), found.begin (), found.end ());
  }
  return out;
}

/* {dir} {stem} {name} {ext} of `input` in `templ`. */
std::string
render_template (const std::string &templ, const std::string &input)
{
  GPtr<gchar> dir (g_path_get_dirname (input.c_str ()));
  GPtr<gchar> base (g_path_get_basename (input.c_str ()));
  std::string name = base.get ();
  const size_t dot = name.rfind ('.');
  const std::string stem = dot != std::string::npos && dot > 0 ? name.substr (0, dot) : name;
  const std::string ext = dot != std::string::npos && dot > 0 ? name.substr (dot + 1) : "";
  const std::map<std::string, std::string> values = {
    { "{dir}", dir.get () }, { "{stem}", stem }, { "{name}", name }, { "{ext}", ext },
  };
  std::string out;
  for (size_t i = 0; i < templ.size ();) {
    bool replaced = false;
    for (const auto &[field, value] : values) {
      if (templ.compare (i, field.size (), field) == 0) {
        out += value;
        i += field.size ();
        replaced = true;
        break;
      }
    }
    if (!replaced)
      out += templ[i++];
  }
  return out;
}

/* ---------- encode ---------- */

struct Encoded {
  GPtr<GBytes> data;
  std::string mime;
  GstClockTime duration = 0;
  bool has_video = false;
};

struct EncodeRun {
  gemini::SegmentEncoder *encoder = nullptr;
  std::mutex lock;
  GstClockTime end = 0;
  bool failed = false;
};

GstFlowReturn
on_encoder_sample (GstAppSink *sink, gpointer data, bool video)
{
  auto *run = static_cast<EncodeRun *> (data);
  GPtr<GstSample> sample (gst_app_sink_pull_sample (sink));
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample.get ());
  if (GST_BUFFER_PTS_IS_VALID (buf)) {
    std::lock_guard<std::mutex> lk (run->lock);
    GstClockTime end = GST_BUFFER_PTS (buf) +
        (GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) : 0);
    run->end = std::max (run->end, end);
  }
  const bool ok = video ? run->encoder->push_video (buf) : run->encoder->push_audio (buf);
  if (!ok) {
    std::lock_guard<std::mutex> lk (run->lock);
    run->failed = true;
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* The whole input as the element would send one segment of it: decoded,
 * then through the engine's SegmentEncoder. */
std::optional<Encoded>
encode_input (const std::string &path, double fps, std::string &error)
{
  GError *err = nullptr;
  GPtr<gchar> uri (gst_filename_to_uri (path.c_str (), &err));
  if (!uri) {
    error = err->message;
    g_error_free (err);
    return std::nullopt;
  }
  GstDiscoverer *disc = gst_discoverer_new (60 * GST_SECOND, &err);
  if (!disc) {
    error = err->message;
    g_error_free (err);
    return std::nullopt;
  }
  GstDiscovererInfo *info = gst_discoverer_discover_uri (disc, uri.get (), &err);
  g_object_unref (disc);
  if (!info || gst_discoverer_info_get_result (info) != GST_DISCOVERER_OK) {
    error = err ? err->message : "not a media file GStreamer can read";
    g_clear_error (&err);
    if (info)
      g_object_unref (info);
    return std::nullopt;
  }
  GList *audio = gst_discoverer_info_get_audio_streams (info);
  GList *video = gst_discoverer_info_get_video_streams (info);
  const bool has_audio = audio != nullptr;
  gint width = 0, height = 0;
  bool has_video = false;
  for (GList *l = video; l; l = l->next) {
    auto *v = GST_DISCOVERER_VIDEO_INFO (l->data);
    if (!gst_discoverer_video_info_is_image (v)) {
      has_video = true;
      width = (gint) gst_discoverer_video_info_get_width (v);
      height = (gint) gst_discoverer_video_info_get_height (v);
      break;
    }
  }
  gst_discoverer_stream_info_list_free (audio);
  gst_discoverer_stream_info_list_free (video);
  g_object_unref (info);
  if (!has_audio && !has_video) {
    error = "no audio or video in it";
    return std::nullopt;
  }

  gemini::EncoderSettings settings;
  settings.fps = fps;
  /* scaled here already: the encoder then has less to convert */
  const double scale = std::min (1.0, (double) settings.max_side / std::max (width, height));
  const gint w = std::max (2, (gint) (width * scale) / 2 * 2);
  const gint h = std::max (2, (gint) (height * scale) / 2 * 2);
  gint fps_n = 1, fps_d = 1;
  gst_util_double_to_fraction (fps, &fps_n, &fps_d);
  const std::string audio_caps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,"
      "channels=1";
  const std::string video_caps = "video/x-raw,format=I420,width=" + std::to_string (w) +
      ",height=" + std::to_string (h) + ",framerate=" + std::to_string (fps_n) + "/" +
      std::to_string (fps_d) + ",pixel-aspect-ratio=1/1";
  GPtr<gchar> quoted (g_strescape (uri.get (), nullptr));
  std::string desc = std::string ("uridecodebin name=d uri=\"") + quoted.get () + "\" ";
  if (has_audio)
    desc += "d. ! audio/x-raw ! queue ! audioconvert ! audioresample ! " + audio_caps +
        " ! appsink name=a sync=false ";
  if (has_video)
    desc += "d. ! video/x-raw ! queue ! videoconvert ! videorate ! videoscale ! " +
        video_caps + " ! appsink name=v sync=false ";
  GPtr<GstElement> pipeline (gst_parse_launch (desc.c_str (), &err));
  if (!pipeline) {
    error = err ? err->message : "cannot build the decoder";
    g_clear_error (&err);
    return std::nullopt;
  }

  GPtr<GstCaps> acaps (has_audio ? gst_caps_from_string (audio_caps.c_str ()) : nullptr);
  GPtr<GstCaps> vcaps (has_video ? gst_caps_from_string (video_caps.c_str ()) : nullptr);
  auto encoder = gemini::SegmentEncoder::create (settings, acaps.get (), vcaps.get ());
  if (!encoder) {
    error = encoder.error ().describe ();
    return std::nullopt;
  }
  EncodeRun run;
  run.encoder = encoder->get ();
  for (const char *name : { "a", "v" }) {
    GPtr<GstElement> sink (gst_bin_get_by_name (GST_BIN (pipeline.get ()), name));
    if (!sink)
      continue;
    GstAppSinkCallbacks cb = {};
    cb.new_sample = name[0] == 'v' ?
        +[] (GstAppSink *s, gpointer d) { return on_encoder_sample (s, d, true); } :
        +[] (GstAppSink *s, gpointer d) { return on_encoder_sample (s, d, false); };
    gst_app_sink_set_callbacks (GST_APP_SINK (sink.get ()), &cb, &run, nullptr);
  }
  gst_element_set_state (pipeline.get (), GST_STATE_PLAYING);
  GPtr<GstBus> bus (gst_element_get_bus (pipeline.get ()));
  for (;;) {
    GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus.get (), 100 * GST_MSECOND,
            (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (interrupted) {
      error = "interrupted";
      break;
    }
    if (!msg)
      continue;
    if (GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_ERROR) {
      GError *e = nullptr;
      gst_message_parse_error (msg.get (), &e, nullptr);
      error = e->message;
      g_error_free (e);
    }
    break;
  }
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  if (!error.empty () || run.failed) {
    encoder.value ()->cancel ();
    if (error.empty ())
      error = "the encoder failed";
    return std::nullopt;
  }
  auto segment = encoder.value ()->finish (run.end);
  if (!segment) {
    error = segment.error ().describe ();
    return std::nullopt;
  }
  Encoded out;
  out.data = std::move (segment->data);
  out.mime = segment->mime_type;
  out.duration = segment->duration;
  out.has_video = segment->has_video;
  return out;
}

/* ---------- transcripts ---------- */

struct WindowAnswer {
  std::string text;
  bool truncated = false;
  std::string error;                  /* "" when answered */
  gint64 prompt_tokens = 0;
  gint64 audio_tokens = 0;
  gint64 candidates_tokens = 0;
  gint64 total_tokens = 0;
};

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

/* What the element would have pushed for these answers: the same parser,
 * speaker registry and cue builder, in window order. */
Transcript
assemble (const InputState &in, const std::string &model,
    const std::vector<std::optional<WindowAnswer>> &answers)
{
  Transcript t;
  t.input = in.path;
  t.model = model;
  t.duration = in.duration;
  t.has_audio = true;
  t.has_video = in.has_video;
  gemini::SpeakerRegistry registry;
  gemini::CueBuilder builder;
  for (size_t i = 0; i < in.windows.size (); i++) {
    const WindowState &w = in.windows[i];
    SegmentReport report;
    report.index = i;
    report.start = w.start;
    report.duration = w.duration;
    report.media_bytes = in.windows.size () == 1 ? (guint64) in.media_bytes : 0;
    const auto &a = answers[i];
    if (!a || !a->error.empty ()) {
      report.status = "failed";
      report.error = a ? a->error : "no answer";
      t.segments.push_back (std::move (report));
      continue;
    }
    report.prompt_tokens = a->prompt_tokens;
    report.candidates_tokens = a->candidates_tokens;
    report.total_tokens = a->total_tokens;
    report.truncated = a->truncated;
    gemini::BatchMedia media;
    media.duration = in.duration;
    media.has_video = in.has_video;
    const gemini::Window window{ w.start, w.start + w.duration };
    const gemini::BatchWindowReading reading = gemini::batch_window_reading (media, window);
    gemini::ParseContext ctx = reading.parse;
    ctx.truncated = a->truncated;
    auto parsed = gemini::parse_transcript (a->text, ctx);
    if (!parsed) {
      report.status = "failed";
      report.error = parsed.error ().describe ();
      t.segments.push_back (std::move (report));
      continue;
    }
    report.status = "ok";
    report.repairs = parsed->repairs;
    auto &rows = parsed->utterances;
    rows.erase (std::remove_if (rows.begin (), rows.end (), [&] (const gemini::Utterance &u) {
          return !reading.keeps (u.start, window, in.duration); }), rows.end ());
    auto ids = registry.resolve (parsed.value ());
    std::vector<gemini::TimedUtterance> timed = registry.place (parsed.value (), reading.origin,
        ids);
    for (const auto &tu : timed) {
      Utterance out;
      out.start = tu.start;
      out.end = tu.end;
      out.text = tu.text;
      out.speaker_id = tu.speaker_id;
      out.voice = tu.voice;
      out.segment = i;
      t.utterances.push_back (std::move (out));
    }
    for (const auto &c : builder.build (timed, w.start + w.duration)) {
      Cue cue;
      cue.start = c.pts;
      cue.duration = c.duration;
      cue.text = c.text;
      cue.markup = c.markup;
      cue.speaker_id = c.speaker_id;
      const gemini::RegisteredSpeaker *sp = registry.find (c.speaker_id);
      cue.name = sp && sp->info.identified () ? sp->info.name : "?";
      t.cues.push_back (std::move (cue));
    }
    t.segments.push_back (std::move (report));
  }
  for (const auto &sp : registry.speakers ()) {
    Speaker s;
    s.id = sp.id;
    s.name = sp.info.name.empty () ? "?" : sp.info.name;
    s.company = sp.info.company.empty () ? "?" : sp.info.company;
    s.position = sp.info.position.empty () ? "?" : sp.info.position;
    s.role = sp.info.role_in_video.empty () ? "?" : sp.info.role_in_video;
    s.identified = sp.info.identified ();
    s.segments = sp.segments;
    t.speakers.push_back (std::move (s));
  }
  return t;
}

/* ---------- the run ---------- */

struct Run {
  const BatchSettings &settings;
  Progress &progress;
  State state;
  std::vector<std::string> outputs;   /* templates */
  std::unique_ptr<gemini::Client> client;
  GPtr<GCancellable> cancellable{g_cancellable_new ()};
  gint64 start_us = g_get_monotonic_time ();

  void say (const std::string &line) { progress.message (line); }
  std::string elapsed () const {
    return format_clock ((GstClockTime) (g_get_monotonic_time () - start_us) * GST_USECOND);
  }
  void save () {
    std::lock_guard<std::mutex> lk (state.lock);
    save_state (state);
  }
  bool stopped () const { return interrupted.load (); }

  gemini::BatchTranscriptionSettings transcription () const {
    gemini::BatchTranscriptionSettings t;
    t.model = state.model;
    t.context = settings.context;
    t.language = settings.language;
    t.fps = settings.fps > 0 ? settings.fps : 1.0;
    const std::string &r = settings.media_resolution;
    if (r == "low")
      t.media_resolution = gemini::MediaResolution::Low;
    else if (r == "medium")
      t.media_resolution = gemini::MediaResolution::Medium;
    else if (r == "high")
      t.media_resolution = gemini::MediaResolution::High;
    if (settings.window_ms > 0)
      t.window = settings.window_ms * GST_MSECOND;
    return t;
  }

  void encode_all ();
  bool upload_all ();
  bool submit ();
  bool wait_all ();
  void write_all ();
  void cleanup ();
  int report ();
};

void
Run::encode_all ()
{
  std::vector<size_t> todo;
  for (size_t i = 0; i < state.inputs.size (); i++)
    if (state.inputs[i].status == "new")
      todo.push_back (i);
  if (todo.empty ())
    return;
  const guint workers = std::min<guint> (settings.encoders ? settings.encoders :
      std::max (1u, g_get_num_processors ()), (guint) todo.size ());
  say ("phase encode: " + std::to_string (todo.size ()) + " inputs, " +
      std::to_string (workers) + " at a time");
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  const double fps = settings.fps > 0 ? settings.fps : 1.0;
  auto work = [&] {
    for (size_t n = next++; n < todo.size () && !stopped (); n = next++) {
      InputState *in;
      {
        std::lock_guard<std::mutex> lk (state.lock);
        in = &state.inputs[todo[n]];
      }
      std::string error;
      auto encoded = encode_input (in->path, fps, error);
      if (stopped ())
        return;
      std::string media = state.cache_dir () + "/" + in->key + ".media";
      if (encoded) {
        gsize size = 0;
        auto data = static_cast<const char *> (g_bytes_get_data (encoded->data.get (), &size));
        if (!write_atomically (media, std::string (data, size), error))
          encoded.reset ();
      }
      std::lock_guard<std::mutex> lk (state.lock);
      if (encoded) {
        in->status = "encoded";
        in->mime = encoded->mime;
        in->duration = encoded->duration;
        in->has_video = encoded->has_video;
        in->media_bytes = (gint64) g_bytes_get_size (encoded->data.get ());
      } else {
        in->status = "unreadable";
        in->error = error;
      }
      save_state (state);
      progress.message ("phase encode: " + std::to_string (++done) + "/" +
          std::to_string (todo.size ()) + " " + in->path + (encoded ? "" :
              " (unreadable: " + error + ")"));
    }
  };
  std::vector<std::thread> threads;
  for (guint i = 0; i < workers; i++)
    threads.emplace_back (work);
  for (auto &t : threads)
    t.join ();
}

/* RFC 3339 `expires` is at least an hour away. */
bool
still_valid (const std::string &expires)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_iso8601 (expires.c_str (), nullptr);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return t && g_date_time_difference (t, now) > G_TIME_SPAN_HOUR;
}

bool
Run::upload_all ()
{
  std::vector<InputState *> todo;
  for (auto &in : state.inputs)
    if (in.status == "encoded" || (in.status == "uploaded" && !still_valid (in.file_expires)))
      todo.push_back (&in);
  if (todo.empty ())
    return true;
  say ("phase upload: " + std::to_string (todo.size ()) + " files");
  size_t n = 0;
  for (InputState *in : todo) {
    gchar *contents = nullptr;
    gsize size = 0;
    const std::string media = state.cache_dir () + "/" + in->key + ".media";
    if (!g_file_get_contents (media.c_str (), &contents, &size, nullptr)) {
      /* the cache was removed: encode again */
      in->status = "new";
      continue;
    }
    GPtr<GBytes> bytes (g_bytes_new_take (contents, size));
    auto file = client->upload_file_sync (bytes.get (), in->mime, in->key, cancellable.get ());
    if (file)
      file = client->wait_until_active_sync (file->name, cancellable.get ());
    if (!file) {
      if (file.error ().cancelled ())
        return false;
      say ("cannot upload " + in->path + ": " + file.error ().describe ());
      if (file.error ().fatal ())
        return false;
      continue;
    }
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
    g_autoptr (GDateTime) expires = g_date_time_add_hours (now, 47);
    GPtr<gchar> when (g_date_time_format_iso8601 (expires));
    {
      std::lock_guard<std::mutex> lk (state.lock);
      in->status = "uploaded";
      in->file_name = file->name;
      in->file_uri = file->uri;
      in->file_expires = when.get ();
      save_state (state);
    }
    say ("phase upload: " + std::to_string (++n) + "/" + std::to_string (todo.size ()) + " " +
        in->path + " (" + std::to_string (file->size_bytes) + " bytes)");
  }
  return true;
}

bool
Run::submit ()
{
  /* a job whose create may have gone out before the program stopped */
  for (auto &job : state.jobs) {
    if (!job.name.empty ())
      continue;
    std::string token;
    for (;;) {
      auto page = client->list_batches_sync (100, token, cancellable.get ());
      if (!page)
        return false;
      if (!JSON_NODE_HOLDS_OBJECT (page->get ()))
        return false;
      StrictReader read;
      JsonObject *o = json_node_get_object (page->get ());
      JsonArray *ops = read.array (o, "operations", "the list of batches");
      for (guint i = 0; ops && i < json_array_get_length (ops) && !read.failed (); i++) {
        JsonObject *op = read.object_at (ops, i, "a batch");
        JsonNode *meta = op ? json_object_get_member (op, "metadata") : nullptr;
        if (meta && JSON_NODE_HOLDS_OBJECT (meta)
            && read.string (json_node_get_object (meta), "displayName", "a batch")
                == job.display_name) {
          const std::string name = read.string (op, "name", "a batch");
          read.service_name (name, "batches", "a batch");
          if (!read.failed ())
            job.name = name;
        }
      }
      token = read.string (o, "nextPageToken", "the list of batches");
      if (read.failed ()) {
        say ("cannot look for " + job.display_name + ": " + read.error ());
        return false;
      }
      if (token.empty () || !job.name.empty ())
        break;
    }
    if (!job.name.empty ()) {
      std::lock_guard<std::mutex> lk (state.lock);
      for (auto &in : state.inputs)
        if (in.job == job.display_name && in.status == "uploaded")
          in.status = "submitted";
      save_state (state);
      progress.message ("phase submit: found " + job.name + " from the interrupted run");
    }
  }

  std::vector<InputState *> todo;
  for (auto &in : state.inputs)
    if (in.status == "uploaded")
      todo.push_back (&in);
  JobState *pending = nullptr;
  for (auto &job : state.jobs)
    if (job.name.empty ())
      pending = &job;
  if (todo.empty () && !pending)
    return true;

  auto settings_for = transcription ();
  settings_for.limits = gemini::model_limits (*client, state.model, cancellable.get ());
  std::vector<gemini::BatchRequest> requests;
  std::vector<std::string> keys;
  for (InputState *in : todo) {
    gemini::BatchMedia media;
    media.file_uri = in->file_uri;
    media.mime_type = in->mime;
    media.duration = in->duration;
    media.has_video = in->has_video;
    in->windows.clear ();
    for (const auto &w : gemini::batch_windows (media, settings_for)) {
      const std::string key = window_key (in->key, in->windows.size ());
      requests.push_back ({ key, gemini::batch_transcription_request (media, w, settings_for) });
      keys.push_back (key);
      in->windows.push_back ({ key, w.start, w.end - w.start });
    }
  }
  if (!pending) {
    JobState job;
    GPtr<gchar> uuid (g_uuid_string_random ());
    job.display_name = std::string ("gemini-transcribe-") + uuid.get ();
    job.keys = keys;
    std::lock_guard<std::mutex> lk (state.lock);
    state.jobs.push_back (std::move (job));
    pending = &state.jobs.back ();
    for (InputState *in : todo)
      in->job = pending->display_name;
    save_state (state);
  } else {
    /* the requests of the interrupted submission, rebuilt the same way */
    std::vector<gemini::BatchRequest> kept;
    for (auto &r : requests)
      if (std::find (pending->keys.begin (), pending->keys.end (), r.key) != pending->keys.end ())
        kept.push_back (std::move (r));
    requests = std::move (kept);
  }

  gemini::BatchSubmitOptions opts;
  opts.display_name = pending->display_name;
  if (settings.inline_limit >= 0)
    opts.inline_limit = (gsize) settings.inline_limit;
  opts.existing_input_file = pending->input_file;
  opts.on_input_uploaded = [this, pending] (const gemini::FileInfo &f) {
    std::lock_guard<std::mutex> lk (state.lock);
    pending->input_file = f.name;
    save_state (state);
  };
  say ("phase submit: " + std::to_string (requests.size ()) + " requests");
  auto sub = gemini::submit_batch (*client, state.model, requests, opts, cancellable.get ());
  if (!sub) {
    if (!sub.error ().cancelled ())
      say ("cannot submit the batch: " + sub.error ().describe ());
    return false;
  }
  std::lock_guard<std::mutex> lk (state.lock);
  pending->name = sub->name;
  pending->input_file = sub->input_file;
  for (auto &in : state.inputs)
    if (in.job == pending->display_name && in.status == "uploaded")
      in.status = "submitted";
  save_state (state);
  progress.message ("phase submit: " + sub->name + ", " + std::to_string (requests.size ()) +
      " requests (" + (sub->input_file.empty () ? "inline" : "JSONL file " + sub->input_file) +
      ", " + std::to_string (sub->body_bytes) + " bytes)");
  return true;
}

bool
Run::wait_all ()
{
  for (auto &job : state.jobs) {
    if (job.name.empty () || job.results_saved || job.deleted)
      continue;
    const bool known_done = !job.state.empty () &&
        gemini::batch_state_done (gemini::batch_state_from_wire (job.state));
    gemini::BatchPollOptions poll;
    if (settings.poll_ms)
      poll.initial_interval = settings.poll_ms * GST_MSECOND;
    poll.on_poll = [this, &job] (const gemini::BatchJob &j) {
      progress.message ("phase wait: " + job.name + " " + gemini::batch_state_name (j.state) +
          ", " + std::to_string (j.succeeded + j.failed) + "/" +
          std::to_string (j.request_count) + " done, " + elapsed () + " elapsed");
    };
    if (known_done)
      poll.on_poll = nullptr;
    auto finished = gemini::wait_for_batch (*client, job.name, poll, cancellable.get ());
    if (!finished) {
      if (!finished.error ().cancelled ())
        say ("cannot follow " + job.name + ": " + finished.error ().describe ());
      return false;
    }
    {
      std::lock_guard<std::mutex> lk (state.lock);
      job.state = gemini::batch_state_name (finished->state);
      save_state (state);
    }
    std::string job_error;
    if (finished->state == gemini::BatchState::Succeeded) {
      auto results = gemini::fetch_batch_results (*client, finished.value (), job.keys,
          cancellable.get ());
      if (!results) {
        if (!results.error ().cancelled ())
          say ("cannot read the results of " + job.name + ": " + results.error ().describe ());
        return false;
      }
      /* Only the requests this run made: a key is a file name in the
       * cache folder, and the service's answer chooses it. */
      guint foreign = 0;
      for (const auto &r : results.value ()) {
        if (std::find (job.keys.begin (), job.keys.end (), r.key) == job.keys.end ())
          foreign++;
        else
          save_answer (state, r);
      }
      if (foreign > 0)
        say ("ignored " + std::to_string (foreign) + " results of " + job.name
            + " for requests this run did not make");
    } else {
      job_error = "the batch " + job.name + " ended " + job.state +
          (finished->error ? ": " + finished->error->message : std::string ());
    }
    std::lock_guard<std::mutex> lk (state.lock);
    for (auto &in : state.inputs) {
      if (in.job != job.display_name || in.status != "submitted")
        continue;
      std::string error = job_error;
      for (const auto &w : in.windows) {
        auto a = load_answer (state, w.key);
        if (error.empty () && (!a || !a->error.empty ()))
          error = a ? a->error : "the batch returned no answer for " + w.key;
      }
      in.status = error.empty () ? "answered" : "failed";
      in.error = error;
    }
    job.results_saved = true;
    save_state (state);
  }
  return true;
}

void
Run::write_all ()
{
  std::vector<InputState *> todo;
  for (auto &in : state.inputs)
    if (in.status == "answered")
      todo.push_back (&in);
  if (todo.empty ())
    return;
  say ("phase write: " + std::to_string (todo.size ()) + " inputs");
  size_t n = 0;
  for (InputState *in : todo) {
    if (stopped ())
      return;
    std::vector<std::optional<WindowAnswer>> answers;
    for (const auto &w : in->windows)
      answers.push_back (load_answer (state, w.key));
    Transcript t = assemble (*in, state.model, answers);
    std::string failure;
    for (const auto &templ : outputs) {
      const std::string path = render_template (templ, in->path);
      if (std::find (in->written.begin (), in->written.end (), path) != in->written.end () &&
          g_file_test (path.c_str (), G_FILE_TEST_EXISTS))
        continue;
      const std::string identity = file_identity (path);
      if (in->writing == path && !identity.empty () && identity != in->writing_prior) {
        std::lock_guard<std::mutex> lk (state.lock);
        in->written.push_back (path);
        in->writing.clear ();
        save_state (state);
        continue;
      }
      {
        std::lock_guard<std::mutex> lk (state.lock);
        in->writing = path;
        in->writing_prior = identity;
        save_state (state);
      }
      const auto format = format_for_path (path);
      std::string error;
      if (is_video_format (*format)) {
        GPtr<gchar> uri (gst_filename_to_uri (in->path.c_str (), nullptr));
        if (auto f = render_video (uri.get (), path, *format, settings.burn, t, progress))
          error = f->message;
      } else {
        write_text_output (path, *format, t, error);
      }
      if (!error.empty ()) {
        failure = "cannot write " + path + ": " + error;
        break;
      }
      std::lock_guard<std::mutex> lk (state.lock);
      in->written.push_back (path);
      in->writing.clear ();
      save_state (state);
    }
    std::lock_guard<std::mutex> lk (state.lock);
    in->status = failure.empty () ? "done" : "failed";
    in->error = failure;
    save_state (state);
    progress.message ("phase write: " + std::to_string (++n) + "/" +
        std::to_string (todo.size ()) + " " + in->path);
  }
}

/* Uploaded files of finished inputs, then the jobs once nothing is left to
 * retry. Failed inputs keep their files for --retry-failed. */
void
Run::cleanup ()
{
  if (settings.keep)
    return;
  bool open = false;
  for (auto &in : state.inputs) {
    open = open || in.status == "failed" || in.status == "submitted" ||
        in.status == "uploaded" || in.status == "answered";
    if (in.status != "done" || in.file_name.empty ())
      continue;
    auto r = client->delete_file_sync (in.file_name, cancellable.get ());
    if (r || r.error ().http_status == 403 || r.error ().http_status == 404) {
      std::lock_guard<std::mutex> lk (state.lock);
      in.file_name.clear ();
      save_state (state);
    }
  }
  if (open)
    return;
  for (auto &job : state.jobs) {
    if (job.deleted || job.name.empty ())
      continue;
    if (!job.input_file.empty ())
      client->delete_file_sync (job.input_file, cancellable.get ());
    auto r = client->delete_batch_sync (job.name, cancellable.get ());
    if (r || r.error ().http_status == 404) {
      std::lock_guard<std::mutex> lk (state.lock);
      job.deleted = true;
      save_state (state);
    }
  }
}

/* The price of `model` on `today` (UTC, YYYY-MM-DD). */
const Price *
price_of (const std::string &model, const std::string &today)
{
  for (const auto &p : PRICES)
    if (model == p.model && (!p.until || today <= p.until))
      return &p;
  return nullptr;
}

std::string
utc_today ()
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  GPtr<gchar> day (g_date_time_format (now, "%Y-%m-%d"));
  return day.get ();
}

int
Run::report ()
{
  const Price *price = price_of (state.model, utc_today ());
  gint64 total_in = 0, total_audio = 0, total_out = 0;
  guint done = 0, failed = 0, unreadable = 0, waiting = 0;
  for (const auto &in : state.inputs) {
    gint64 in_tokens = 0, audio = 0, out_tokens = 0;
    for (const auto &w : in.windows)
      if (auto a = load_answer (state, w.key)) {
        in_tokens += a->prompt_tokens;
        audio += a->audio_tokens;
        out_tokens += a->candidates_tokens;
      }
    total_in += in_tokens;
    total_audio += audio;
    total_out += out_tokens;
    if (in.status == "done")
      done++;
    else if (in.status == "failed")
      failed++;
    else if (in.status == "unreadable")
      unreadable++;
    else
      waiting++;
    std::string line = in.status + "  " + in.path;
    if (in_tokens || out_tokens)
      line += "  tokens in " + std::to_string (in_tokens) + " out " +
          std::to_string (out_tokens);
    if (!in.error.empty ())
      line += "  (" + in.error + ")";
    say (line);
  }
  say ("total: " + std::to_string (done) + " done, " + std::to_string (failed) + " failed, " +
      std::to_string (unreadable) + " unreadable" + (waiting ? ", " +
          std::to_string (waiting) + " not finished" : std::string ()) + "; tokens in " +
      std::to_string (total_in) + " (audio " + std::to_string (total_audio) + ") out " +
      std::to_string (total_out));
  if (price) {
    const double interactive = ((total_in - total_audio) * price->input +
        total_audio * price->audio_input + total_out * price->output) / 1e6;
    char line[256];
    g_snprintf (line, sizeof line, "cost: batch $%.4f, interactive $%.4f (%s prices of %s, "
        "batch at %.0f%%)", interactive * BATCH_DISCOUNT, interactive, state.model.c_str (),
        price->taken, BATCH_DISCOUNT * 100);
    say (line);
  } else {
    say ("cost: no price known for " + state.model + " (docs/batch.md lists the prices "
        "this program knows)");
  }
  if (failed)
    say ("run again with --retry-failed to send the failed inputs in a new job");
  if (failed || waiting)
    return EXIT_OTHER;
  return unreadable ? EXIT_INPUT : EXIT_OK;
}

gboolean
on_signal (gpointer data)
{
  interrupted = true;
  g_cancellable_cancel (static_cast<GCancellable *> (data));
  return G_SOURCE_CONTINUE;
}

}  // namespace

int
run_batch (const BatchSettings &settings, Progress &progress)
{
  std::string error;
  std::vector<std::string> paths = expand_inputs (settings, error);
  if (!error.empty ()) {
    g_printerr ("gemini-transcribe: %s\n", error.c_str ());
    return EXIT_INPUT;
  }
  if (paths.empty ()) {
    g_printerr ("gemini-transcribe: --batch needs inputs: files, directories or "
        "--list FILE\n");
    return EXIT_USAGE;
  }
  Run run{settings, progress, {}, settings.outputs, nullptr};
  if (run.outputs.empty ())
    run.outputs.push_back ("{dir}/{stem}.srt");
  for (const auto &templ : run.outputs) {
    if (!format_for_path (render_template (templ, paths.front ()))) {
      g_printerr ("gemini-transcribe: unknown output format for %s: use .srt, .vtt, "
          ".json, .md, .html, .mkv or .mp4\n", templ.c_str ());
      return EXIT_USAGE;
    }
  }
  std::map<std::string, std::string> input_files;
  for (const auto &p : paths)
    if (auto key = file_key (p))
      input_files.emplace (*key, p);
  auto input_at = [&input_files] (const std::string &path) -> const std::string * {
    auto key = file_key (path);
    auto it = key ? input_files.find (*key) : input_files.end ();
    return it == input_files.end () ? nullptr : &it->second;
  };
  std::set<std::string> seen_outputs;
  for (const auto &p : paths)
    for (const auto &templ : run.outputs) {
      const std::string out = render_template (templ, p);
      if (!seen_outputs.insert (out).second) {
        const bool named = templ.find ("{stem}") != std::string::npos
            || templ.find ("{name}") != std::string::npos;
        g_printerr ("gemini-transcribe: two inputs would write %s: %s\n", out.c_str (),
            named ? "inputs of the same name in different folders: put {dir} in the -o "
                "template too"
                  : "put {stem} or {name} in the -o template");
        return EXIT_USAGE;
      }
      if (const std::string *input = input_at (out)) {
        g_printerr ("gemini-transcribe: the output %s is the input %s: choose "
            "another -o template\n", out.c_str (), input->c_str ());
        return EXIT_USAGE;
      }
    }

  State &state = run.state;
  if (!settings.state_file.empty ()) {
    state.path = settings.state_file;
  } else {
    GPtr<gchar> dir (g_path_get_dirname (render_template (run.outputs.front (),
                paths.front ()).c_str ()));
    GPtr<gchar> p (g_build_filename (dir.get (), STATE_NAME, nullptr));
    state.path = p.get ();
  }
  if (const std::string *input = input_at (state.path)) {
    g_printerr ("gemini-transcribe: the state file %s is the input %s: choose "
        "another --state FILE\n", state.path.c_str (), input->c_str ());
    return EXIT_USAGE;
  }
  const std::string model = settings.model.empty () ? DEFAULT_MODEL : settings.model;
  if (g_file_test (state.path.c_str (), G_FILE_TEST_EXISTS)) {
    if (!load_state (state, error)) {
      g_printerr ("gemini-transcribe: cannot read the state file %s: %s\n",
          state.path.c_str (), error.c_str ());
      return EXIT_OTHER;
    }
    std::vector<std::string> known;
    for (const auto &in : state.inputs)
      known.push_back (in.path);
    if (known != paths || state.model != model) {
      g_printerr ("gemini-transcribe: %s belongs to another run (other inputs or "
          "model): give this run its own --state FILE\n", state.path.c_str ());
      return EXIT_USAGE;
    }
    progress.message ("continuing the run in " + state.path);
  } else {
    state.model = model;
    for (size_t i = 0; i < paths.size (); i++) {
      InputState in;
      in.path = paths[i];
      in.key = input_key (i);
      if (g_access (in.path.c_str (), R_OK) != 0 ||
          g_file_test (in.path.c_str (), G_FILE_TEST_IS_DIR)) {
        in.status = "unreadable";
        in.error = g_file_test (in.path.c_str (), G_FILE_TEST_EXISTS) ?
            "permission denied" : "no such file";
      }
      state.inputs.push_back (std::move (in));
    }
  }
  if (g_mkdir_with_parents (state.cache_dir ().c_str (), 0700) != 0) {
    g_printerr ("gemini-transcribe: cannot create %s\n", state.cache_dir ().c_str ());
    return EXIT_OUTPUT;
  }
  run.save ();

  gemini::ClientConfig config;
  config.endpoint = settings.api_endpoint;
  config.api_key = settings.api_key;
  config.resolve_from_environment ();
  if (!config.has_credentials ()) {
    g_printerr ("gemini-transcribe: no Gemini API key: export GEMINI_API_KEY=... (get "
        "one at https://aistudio.google.com/apikey)\n");
    return EXIT_NO_KEY;
  }
  if (settings.poll_ms)
    config.file_poll_interval = settings.poll_ms * GST_MSECOND;
  if (settings.request_timeout_ms)
    config.request_timeout = settings.request_timeout_ms * GST_MSECOND;
  if (settings.max_retries >= 0)
    config.retry.max_attempts = (guint) settings.max_retries + 1;
  run.client = std::make_unique<gemini::Client> (config);

  /* SIGINT/SIGTERM: stop at the next step, with the state saved */
  GPtr<GMainContext> signals (g_main_context_new ());
  GPtr<GMainLoop> signal_loop (g_main_loop_new (signals.get (), FALSE));
  for (int sig : { SIGINT, SIGTERM }) {
    GSource *src = g_unix_signal_source_new (sig);
    g_source_set_callback (src, on_signal, run.cancellable.get (), nullptr);
    g_source_attach (src, signals.get ());
    g_source_unref (src);
  }
  std::thread signal_thread ([&] {
    g_main_context_push_thread_default (signals.get ());
    g_main_loop_run (signal_loop.get ());
    g_main_context_pop_thread_default (signals.get ());
  });
  auto stop_signals = [&] {
    g_main_context_invoke (signals.get (), [] (gpointer loop) -> gboolean {
          g_main_loop_quit (static_cast<GMainLoop *> (loop));
          return G_SOURCE_REMOVE;
        }, signal_loop.get ());
    signal_thread.join ();
  };

  if (settings.cancel) {
    int status = EXIT_OK;
    for (auto &job : state.jobs) {
      if (job.name.empty () || job.results_saved || job.deleted)
        continue;
      auto r = run.client->cancel_batch_sync (job.name, run.cancellable.get ());
      progress.message (r ? "cancelled " + job.name : "cannot cancel " + job.name + ": " +
          r.error ().describe ());
      status = r ? status : EXIT_OTHER;
    }
    stop_signals ();
    return status;
  }
  if (settings.retry_failed) {
    std::lock_guard<std::mutex> lk (state.lock);
    for (auto &in : state.inputs) {
      if (in.status != "failed")
        continue;
      in.status = in.file_name.empty () ? "encoded" : "uploaded";
      in.error.clear ();
      in.job.clear ();
      for (const auto &w : in.windows)
        g_unlink (state.result_path (w.key).c_str ());
    }
    save_state (state);
  }

  for (const auto &in : state.inputs)
    if (in.status == "unreadable")
      progress.message ("skipped (unreadable): " + in.path + ": " + in.error);
  run.encode_all ();
  bool ok = !run.stopped () && run.upload_all () && !run.stopped () && run.submit () &&
      run.wait_all ();
  if (ok)
    run.write_all ();
  if (ok && !run.stopped ())
    run.cleanup ();
  stop_signals ();
  if (run.stopped ()) {
    progress.message ("interrupted: run the same command again to continue (" +
        state.path + ")");
    return EXIT_INTERRUPTED;
  }
  return run.report ();
}

}  // namespace transcribe
