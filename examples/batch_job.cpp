/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run's batch job at the service: created once (and found again when
 * a kill came during its creation), waited for, its answers kept. */
#include "batch_phases.h"

#include <algorithm>

#include "batch_answers.h"
#include "batch_reader.h"
#include "json_doc.h"

using gemini::GPtr;

namespace transcribe {

namespace {

bool
contains (const std::vector<std::string> &v, const std::string &s)
{
  return std::find (v.begin (), v.end (), s) != v.end ();
}

}  // namespace

/* Callers hold state.lock. */
void
Run::mark_submitted (const JobState &job)
{
  for (auto &in : state.inputs)
    if (in.job == job.display_name && in.status == InputStatus::Uploaded)
      in.status = InputStatus::Submitted;
}

/* Sets job.name when the service lists a job of job.display_name; false
 * when the listing cannot be read. */
bool
Run::look_up_job (JobState &job)
{
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
      JsonObject *meta = op ? gemini::member_object (op, "metadata") : nullptr;
      if (meta && read.string (meta, "displayName", "a batch") == job.display_name) {
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
      return true;
  }
}

/* A job whose create may have gone out before the program stopped is
 * looked for by its display name: creating it again would pay twice. */
bool
Run::find_interrupted_jobs ()
{
  for (auto &job : state.jobs) {
    if (!job.name.empty ())
      continue;
    if (!look_up_job (job))
      return false;
    if (!job.name.empty ()) {
      std::lock_guard<std::mutex> lk (state.lock);
      mark_submitted (job);
      save_state (state);
      progress.message ("phase submit: found " + job.name + " from the interrupted run");
    }
  }
  return true;
}

/* The requests for the windows of `todo`, whose windows they set. */
std::vector<gemini::BatchRequest>
Run::window_requests (const std::vector<InputState *> &todo)
{
  auto settings_for = transcription ();
  settings_for.limits = gemini::model_limits (*client, state.model, cancellable.get ());
  std::vector<gemini::BatchRequest> requests;
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
      in->windows.push_back ({ key, w.start, w.end - w.start });
    }
  }
  return requests;
}

bool
Run::submit ()
{
  if (!find_interrupted_jobs ())
    return false;
  std::vector<InputState *> todo;
  for (auto &in : state.inputs)
    if (in.status == InputStatus::Uploaded)
      todo.push_back (&in);
  JobState *pending = nullptr;
  for (auto &job : state.jobs)
    if (job.name.empty ())
      pending = &job;
  if (todo.empty () && !pending)
    return true;

  std::vector<gemini::BatchRequest> requests = window_requests (todo);
  if (!pending) {
    JobState job;
    GPtr<gchar> uuid (g_uuid_string_random ());
    job.display_name = std::string ("gemini-transcribe-") + uuid.get ();
    for (const auto &r : requests)
      job.keys.push_back (r.key);
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
      if (contains (pending->keys, r.key))
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
  mark_submitted (*pending);
  save_state (state);
  progress.message ("phase submit: " + sub->name + ", " + std::to_string (requests.size ()) +
      " requests (" + (sub->input_file.empty () ? "inline" : "JSONL file " + sub->input_file) +
      ", " + std::to_string (sub->body_bytes) + " bytes)");
  return true;
}

/* The answers of a job that succeeded, into the cache folder. */
bool
Run::save_results (const JobState &job, const gemini::BatchJob &finished)
{
  auto results = gemini::fetch_batch_results (*client, finished, job.keys, cancellable.get ());
  if (!results) {
    if (!results.error ().cancelled ())
      say ("cannot read the results of " + job.name + ": " + results.error ().describe ());
    return false;
  }
  /* Only the requests this run made: a key is a file name in the
   * cache folder, and the service's answer chooses it. */
  guint foreign = 0;
  for (const auto &r : results.value ()) {
    if (!contains (job.keys, r.key))
      foreign++;
    else
      save_answer (state, r);
  }
  if (foreign > 0)
    say ("ignored " + std::to_string (foreign) + " results of " + job.name
        + " for requests this run did not make");
  return true;
}

/* The inputs `job` holds, answered or failed by their windows' answers.
 * Callers hold state.lock. */
void
Run::settle_inputs (const JobState &job, const std::string &job_error)
{
  for (auto &in : state.inputs) {
    if (in.job != job.display_name || in.status != InputStatus::Submitted)
      continue;
    std::string error = job_error;
    for (const auto &w : in.windows) {
      auto a = load_answer (state, w.key);
      if (error.empty () && (!a || !a->error.empty ()))
        error = a ? a->error : "the batch returned no answer for " + w.key;
    }
    in.status = error.empty () ? InputStatus::Answered : InputStatus::Failed;
    in.error = error;
  }
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
      if (!save_results (job, finished.value ()))
        return false;
    } else {
      job_error = "the batch " + job.name + " ended " + job.state +
          (finished->error ? ": " + finished->error->message : std::string ());
    }
    std::lock_guard<std::mutex> lk (state.lock);
    settle_inputs (job, job_error);
    job.results_saved = true;
    save_state (state);
  }
  return true;
}

}  // namespace transcribe
