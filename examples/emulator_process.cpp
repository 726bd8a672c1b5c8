/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator_process.h"

#include <csignal>
#include <sys/prctl.h>
#include <cstring>
#include <vector>

#include <gst/gst.h>

#include "glib_ptr.h"
#include "run_transcript.h"

#define GST_CAT_DEFAULT gemini_transcribe_debug

namespace transcribe {

using gemini::GPtr;

namespace {

constexpr const char *PROGRAM = "gemini-emulator";
constexpr const char *READY_PREFIX = "gemini-emulator listening on ";

std::string
own_directory ()
{
  GPtr<gchar> exe (g_file_read_link ("/proc/self/exe", nullptr));
  if (!exe)
    return {};
  GPtr<gchar> dir (g_path_get_dirname (exe.get ()));
  return dir.get ();
}

/* A crashed or killed gemini-transcribe must not leave its emulator
 * running (nor holding the stderr of whoever waits for it). */
void
die_with_parent (gpointer)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

}  // namespace

std::optional<std::string>
find_emulator ()
{
  if (const gchar *env = g_getenv ("GEMINI_EMULATOR"); env && *env)
    return std::string (env);
  const std::string dir = own_directory ();
  if (!dir.empty ()) {
    /* Installed side by side, or run from the build tree. */
    for (const std::string &candidate : {dir + "/" + PROGRAM,
            dir + "/../tests/emulator/" + PROGRAM}) {
      if (g_file_test (candidate.c_str (), G_FILE_TEST_IS_EXECUTABLE))
        return candidate;
    }
  }
  GPtr<gchar> in_path (g_find_program_in_path (PROGRAM));
  if (in_path)
    return std::string (in_path.get ());
  return std::nullopt;
}

std::unique_ptr<EmulatorProcess>
EmulatorProcess::start (const std::string &script, const std::string &api_key,
    std::string &error)
{
  auto program = find_emulator ();
  if (!program) {
    error = "the gemini-emulator program was not found: install gst-gemini with "
        "`meson install`, or set GEMINI_EMULATOR to its path.";
    return nullptr;
  }
  std::vector<const gchar *> argv = {program->c_str (), "--port", "0",
    "--api-key", api_key.c_str ()};
  if (!script.empty ()) {
    argv.push_back ("--script");
    argv.push_back (script.c_str ());
  }
  argv.push_back (nullptr);

  GError *err = nullptr;
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, nullptr, nullptr);
  GSubprocess *process = g_subprocess_launcher_spawnv (launcher, argv.data (), &err);
  g_object_unref (launcher);
  if (!process) {
    error = "cannot start " + *program + ": " + err->message;
    g_error_free (err);
    return nullptr;
  }

  GDataInputStream *lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  GPtr<gchar> line (g_data_input_stream_read_line_utf8 (lines, nullptr, nullptr, nullptr));
  g_object_unref (lines);
  if (!line || !g_str_has_prefix (line.get (), READY_PREFIX)) {
    error = "the emulator (" + *program + ") did not start"
        + (script.empty ()? std::string (".") : ": check the script " + script + ".");
    g_subprocess_force_exit (process);
    g_subprocess_wait (process, nullptr, nullptr);
    g_object_unref (process);
    return nullptr;
  }
  std::string url = line.get () + strlen (READY_PREFIX);
  GST_INFO ("emulator %s at %s", program->c_str (), url.c_str ());
  return std::make_unique<EmulatorProcess> (Started{}, process, std::move (url));
}

EmulatorProcess::~EmulatorProcess ()
{
  g_subprocess_send_signal (process_, SIGTERM);
  g_subprocess_wait (process_, nullptr, nullptr);
  g_object_unref (process_);
}

}  // namespace transcribe
