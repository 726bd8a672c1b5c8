/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_phases.h"

#include <algorithm>
#include <thread>

#include <glib/gstdio.h>

#include "batch_answers.h"
#include "batch_assemble.h"
#include "batch_cost.h"
#include "batch_inputs.h"
#include "defaults.h"
#include "outputs.h"
#include "render.h"

using gemini::GPtr;

namespace transcribe {

namespace {

/* RFC 3339 `expires` is at least an hour away. */
bool
still_valid (const std::string &expires)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_iso8601 (expires.c_str (), nullptr);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return t && g_date_time_difference (t, now) > G_TIME_SPAN_HOUR;
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

}  // namespace

std::string
Run::elapsed () const
{
  return format_clock ((GstClockTime) (g_get_monotonic_time () - start_us) * GST_USECOND);
}

void
Run::save ()
{
  std::lock_guard<std::mutex> lk (state.lock);
  save_state (state);
}

gemini::BatchTranscriptionSettings
Run::transcription () const
{
  gemini::BatchTranscriptionSettings t;
  t.model = state.model;
  t.context = settings.context;
  t.language = settings.language;
  t.evidence = settings.evidence;
  t.fps = settings.fps > 0 ? settings.fps : gemini::defaults::FPS;
  /* nullopt is auto (the engine picks per request); --batch leaves the name
   * unchecked, and one it does not know stays auto */
  const auto resolution = gemini::media_resolution_from_name (settings.media_resolution);
  if (resolution && *resolution != gemini::MediaResolution::Unspecified)
    t.media_resolution = resolution;
  if (settings.window_ms > 0)
    t.window = settings.window_ms * GST_MSECOND;
  return t;
}

void
Run::encode_all ()
{
  std::vector<size_t> todo;
  for (size_t i = 0; i < state.inputs.size (); i++)
    if (state.inputs[i].status == InputStatus::New)
      todo.push_back (i);
  if (todo.empty ())
    return;
  const guint workers = std::min<guint> (settings.encoders ? settings.encoders :
      std::max (1u, g_get_num_processors ()), (guint) todo.size ());
  say ("phase encode: " + std::to_string (todo.size ()) + " inputs, " +
      std::to_string (workers) + " at a time");
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  const double fps = settings.fps > 0 ? settings.fps : gemini::defaults::FPS;
  auto work = [&] {
    for (size_t n = next++; n < todo.size () && !stopped (); n = next++) {
      InputState *in;
      {
        std::lock_guard<std::mutex> lk (state.lock);
        in = &state.inputs[todo[n]];
      }
      std::string error;
      auto encoded = encode_input (in->path, fps, interrupted, error);
      if (stopped ())
        return;
      std::string media = state.cache_dir () + "/" + in->key + ".media";
      if (encoded) {
        gsize size = 0;
        auto data = static_cast<const char *> (g_bytes_get_data (encoded->data.get (), &size));
        if (!write_atomically (media, std::string (data, size), error)
            || (encoded->sound && !write_atomically (state.sound_path (in->key),
                    encoded->sound->serialize (), error)))
          encoded.reset ();
      }
      std::lock_guard<std::mutex> lk (state.lock);
      if (encoded) {
        in->status = InputStatus::Encoded;
        in->mime = encoded->mime;
        in->duration = encoded->duration;
        in->has_video = encoded->has_video;
        in->media_bytes = (gint64) g_bytes_get_size (encoded->data.get ());
      } else {
        in->status = InputStatus::Unreadable;
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

bool
Run::upload_all ()
{
  std::vector<InputState *> todo;
  for (auto &in : state.inputs)
    if (in.status == InputStatus::Encoded ||
        (in.status == InputStatus::Uploaded && !still_valid (in.file_expires)))
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
      in->status = InputStatus::New;
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
      in->status = InputStatus::Uploaded;
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

/* Writes the outputs of `in` not written yet; the failure, or "". */
std::string
Run::write_outputs (InputState &in, const Transcript &t)
{
  for (const auto &templ : outputs) {
    const std::string path = render_template (templ, in.path);
    if (std::find (in.written.begin (), in.written.end (), path) != in.written.end () &&
        g_file_test (path.c_str (), G_FILE_TEST_EXISTS))
      continue;
    const std::string identity = file_identity (path);
    if (in.writing == path && !identity.empty () && identity != in.writing_prior) {
      std::lock_guard<std::mutex> lk (state.lock);
      in.written.push_back (path);
      in.writing.clear ();
      save_state (state);
      continue;
    }
    {
      std::lock_guard<std::mutex> lk (state.lock);
      in.writing = path;
      in.writing_prior = identity;
      save_state (state);
    }
    const auto format = format_for_path (path);
    std::string error;
    if (is_video_format (*format)) {
      GPtr<gchar> uri (gst_filename_to_uri (in.path.c_str (), nullptr));
      if (auto f = render_video (uri.get (), path, *format, settings.burn, t, progress))
        error = f->message;
    } else {
      write_text_output (path, *format, t, error);
    }
    if (!error.empty ())
      return "cannot write " + path + ": " + error;
    std::lock_guard<std::mutex> lk (state.lock);
    in.written.push_back (path);
    in.writing.clear ();
    save_state (state);
  }
  return {};
}

void
Run::write_all ()
{
  std::vector<InputState *> todo;
  for (auto &in : state.inputs)
    if (in.status == InputStatus::Answered)
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
    const std::optional<gemini::AudioEnvelope> sound = settings.audio_timing
        ? load_sound (state, in->key) : std::nullopt;
    Transcript t = assemble (*in, state.model, answers, sound ? &*sound : nullptr);
    const std::string failure = write_outputs (*in, t);
    std::lock_guard<std::mutex> lk (state.lock);
    in->status = failure.empty () ? InputStatus::Done : InputStatus::Failed;
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
    open = open || in.status == InputStatus::Failed || in.status == InputStatus::Submitted ||
        in.status == InputStatus::Uploaded || in.status == InputStatus::Answered;
    if (in.status != InputStatus::Done || in.file_name.empty ())
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

int
Run::report ()
{
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
    if (in.status == InputStatus::Done)
      done++;
    else if (in.status == InputStatus::Failed)
      failed++;
    else if (in.status == InputStatus::Unreadable)
      unreadable++;
    else
      waiting++;
    std::string line = in.status_name () + "  " + in.path;
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
  say (cost_line (state.model, total_in, total_audio, total_out));
  if (failed)
    say ("run again with --retry-failed to send the failed inputs in a new job");
  if (failed || waiting)
    return EXIT_OTHER;
  return unreadable ? EXIT_INPUT : EXIT_OK;
}

}  // namespace transcribe
