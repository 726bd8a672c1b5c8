/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe --batch; see batch_run.h, batch_phases.h and
 * docs/batch.md. What is checked before the first step, and what happens
 * around the phases: the state file opened, the client made, the signals
 * caught, --cancel and --retry-failed. */
#include "batch_run.h"

#include <csignal>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "batch_inputs.h"
#include "batch_phases.h"
#include "defaults.h"
#include "glib_ptr.h"
#include "outputs.h"

using gemini::GPtr;

namespace transcribe {

namespace {

constexpr const char *STATE_NAME = "gemini-batch-state.json";

/* The inputs by the file they are, whatever the spelling of their paths:
 * an output or state file that is an input would destroy it. */
class InputFiles {
public:
  explicit InputFiles (const std::vector<std::string> &paths) {
    for (const auto &p : paths)
      if (auto key = file_key (p))
        files_.emplace (*key, p);
  }

  /* The input that `path` is, or nullptr. */
  const std::string *at (const std::string &path) const {
    auto key = file_key (path);
    auto it = key ? files_.find (*key) : files_.end ();
    return it == files_.end () ? nullptr : &it->second;
  }

private:
  std::map<std::string, std::string> files_;
};

/* Every output template names a format, and gives every input outputs of
 * its own that are not inputs. */
std::optional<ExitCode>
check_outputs (const std::vector<std::string> &paths, const std::vector<std::string> &outputs,
    const InputFiles &inputs)
{
  for (const auto &templ : outputs) {
    if (!format_for_path (render_template (templ, paths.front ()))) {
      g_printerr ("gemini-transcribe: unknown output format for %s: use .srt, .vtt, "
          ".json, .md, .html, .mkv or .mp4\n", templ.c_str ());
      return EXIT_USAGE;
    }
  }
  std::set<std::string> seen_outputs;
  for (const auto &p : paths)
    for (const auto &templ : outputs) {
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
      if (const std::string *input = inputs.at (out)) {
        g_printerr ("gemini-transcribe: the output %s is the input %s: choose "
            "another -o template\n", out.c_str (), input->c_str ());
        return EXIT_USAGE;
      }
    }
  return std::nullopt;
}

std::string
state_path (const BatchSettings &settings, const std::string &first_output)
{
  if (!settings.state_file.empty ())
    return settings.state_file;
  GPtr<gchar> dir (g_path_get_dirname (first_output.c_str ()));
  GPtr<gchar> p (g_build_filename (dir.get (), STATE_NAME, nullptr));
  return p.get ();
}

/* The state of the run these inputs started, or a new one when none did. */
std::optional<ExitCode>
open_state (Run &run, const std::vector<std::string> &paths)
{
  State &state = run.state;
  const std::string model = run.settings.model.empty () ? gemini::defaults::MODEL
      : run.settings.model;
  if (g_file_test (state.path.c_str (), G_FILE_TEST_EXISTS)) {
    std::string error;
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
    run.progress.message ("continuing the run in " + state.path);
    return std::nullopt;
  }
  state.model = model;
  for (size_t i = 0; i < paths.size (); i++) {
    InputState in;
    in.path = paths[i];
    in.key = input_key (i);
    if (g_access (in.path.c_str (), R_OK) != 0 ||
        g_file_test (in.path.c_str (), G_FILE_TEST_IS_DIR)) {
      in.status = InputStatus::Unreadable;
      in.error = g_file_test (in.path.c_str (), G_FILE_TEST_EXISTS) ?
          "permission denied" : "no such file";
    }
    state.inputs.push_back (std::move (in));
  }
  return std::nullopt;
}

std::optional<ExitCode>
connect (Run &run)
{
  const BatchSettings &settings = run.settings;
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
  return std::nullopt;
}

gboolean
on_signal (gpointer data)
{
  auto *run = static_cast<Run *> (data);
  run->interrupted = true;
  g_cancellable_cancel (run->cancellable.get ());
  return G_SOURCE_CONTINUE;
}

/* SIGINT and SIGTERM stop the run at its next step, with the state saved:
 * caught on a thread of their own, since the phases block. */
class SignalWatch {
public:
  explicit SignalWatch (Run &run) {
    for (int sig : { SIGINT, SIGTERM }) {
      GSource *src = g_unix_signal_source_new (sig);
      g_source_set_callback (src, on_signal, &run, nullptr);
      g_source_attach (src, context_.get ());
      g_source_unref (src);
    }
    thread_ = std::thread ([this] {
      g_main_context_push_thread_default (context_.get ());
      g_main_loop_run (loop_.get ());
      g_main_context_pop_thread_default (context_.get ());
    });
  }
  ~SignalWatch () { stop (); }
  SignalWatch (const SignalWatch &) = delete;
  SignalWatch &operator= (const SignalWatch &) = delete;

  void stop () {
    if (!thread_.joinable ())
      return;
    g_main_context_invoke (context_.get (), [] (gpointer loop) -> gboolean {
          g_main_loop_quit (static_cast<GMainLoop *> (loop));
          return G_SOURCE_REMOVE;
        }, loop_.get ());
    thread_.join ();
  }

private:
  GPtr<GMainContext> context_{g_main_context_new ()};
  GPtr<GMainLoop> loop_{g_main_loop_new (context_.get (), FALSE)};
  std::thread thread_;
};

int
cancel_jobs (Run &run)
{
  int status = EXIT_OK;
  for (auto &job : run.state.jobs) {
    if (job.name.empty () || job.results_saved || job.deleted)
      continue;
    auto r = run.client->cancel_batch_sync (job.name, run.cancellable.get ());
    run.progress.message (r ? "cancelled " + job.name : "cannot cancel " + job.name + ": " +
        r.error ().describe ());
    status = r ? status : EXIT_OTHER;
  }
  return status;
}

/* The failed inputs sent again from their upload (or their encoding once
 * the upload is gone), their old answers dropped. */
void
retry_failed (State &state)
{
  std::lock_guard<std::mutex> lk (state.lock);
  for (auto &in : state.inputs) {
    if (in.status != InputStatus::Failed)
      continue;
    in.status = in.file_name.empty () ? InputStatus::Encoded : InputStatus::Uploaded;
    in.error.clear ();
    in.job.clear ();
    for (const auto &w : in.windows)
      g_unlink (state.result_path (w.key).c_str ());
  }
  save_state (state);
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
  Run run (settings, progress);
  if (run.outputs.empty ())
    run.outputs.push_back ("{dir}/{stem}.srt");
  const InputFiles inputs (paths);
  if (auto code = check_outputs (paths, run.outputs, inputs))
    return *code;

  State &state = run.state;
  state.path = state_path (settings, render_template (run.outputs.front (), paths.front ()));
  if (const std::string *input = inputs.at (state.path)) {
    g_printerr ("gemini-transcribe: the state file %s is the input %s: choose "
        "another --state FILE\n", state.path.c_str (), input->c_str ());
    return EXIT_USAGE;
  }
  if (auto code = open_state (run, paths))
    return *code;
  if (g_mkdir_with_parents (state.cache_dir ().c_str (), 0700) != 0) {
    g_printerr ("gemini-transcribe: cannot create %s\n", state.cache_dir ().c_str ());
    return EXIT_OUTPUT;
  }
  run.save ();
  if (auto code = connect (run))
    return *code;

  SignalWatch signals (run);
  if (settings.cancel) {
    const int status = cancel_jobs (run);
    signals.stop ();
    return status;
  }
  if (settings.retry_failed)
    retry_failed (state);

  for (const auto &in : state.inputs)
    if (in.status == InputStatus::Unreadable)
      progress.message ("skipped (unreadable): " + in.path + ": " + in.error);
  run.encode_all ();
  bool ok = !run.stopped () && run.upload_all () && !run.stopped () && run.submit () &&
      run.wait_all ();
  if (ok)
    run.write_all ();
  if (ok && !run.stopped ())
    run.cleanup ();
  signals.stop ();
  if (run.stopped ()) {
    progress.message ("interrupted: run the same command again to continue (" +
        state.path + ")");
    return EXIT_INTERRUPTED;
  }
  return run.report ();
}

}  // namespace transcribe
