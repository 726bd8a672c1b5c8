/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe: a media file (or URI) to subtitles, data, a report or
 * a captioned video, through the geminitranscriber element.
 *
 *   gemini-transcribe INPUT [-o OUT]... [options]
 *
 * See docs/transcribe.md. */
#include "config.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "batch_run.h"
#include "cli_options.h"
#include "emulator_process.h"
#include "glib_ptr.h"
#include "memory.h"
#include "outputs.h"
#include "progress.h"
#include "render.h"
#include "transcription.h"

GST_DEBUG_CATEGORY (gemini_transcribe_debug);

using gemini::GPtr;
using namespace transcribe;

namespace {

/* The emulator's key: a dry run never sees the person's real one. */
constexpr const char *EMULATOR_KEY = "test-key";

/* Why `path` cannot be written, or "" when it can: checked before spending
 * any tokens. */
std::string
unwritable_reason (const std::string &path)
{
  if (g_file_test (path.c_str (), G_FILE_TEST_IS_DIR))
    return "it is a directory";
  GPtr<gchar> dir (g_path_get_dirname (path.c_str ()));
  if (!g_file_test (dir.get (), G_FILE_TEST_IS_DIR))
    return std::string ("the directory ") + dir.get () + " does not exist";
  /* Outputs are written to a new file, then renamed over the old one. */
  if (g_access (dir.get (), W_OK) != 0)
    return std::string ("the directory ") + dir.get () + " is not writable";
  return {};
}

/* The input as a URI, or a failure a person can act on. */
std::optional<std::string>
input_uri (const std::string &input, std::string &error)
{
  if (gst_uri_is_valid (input.c_str ()))
    return input;
  if (!g_file_test (input.c_str (), G_FILE_TEST_EXISTS)) {
    error = "cannot read " + input + ": no such file";
    return std::nullopt;
  }
  if (g_file_test (input.c_str (), G_FILE_TEST_IS_DIR)
      || g_access (input.c_str (), R_OK) != 0) {
    error = "cannot read " + input + ": " + (g_file_test (input.c_str (),
            G_FILE_TEST_IS_DIR) ? "it is a directory" : "permission denied");
    return std::nullopt;
  }
  GError *err = nullptr;
  GPtr<gchar> uri (gst_filename_to_uri (input.c_str (), &err));
  if (!uri) {
    error = "cannot read " + input + ": " + err->message;
    g_error_free (err);
    return std::nullopt;
  }
  return std::string (uri.get ());
}

bool
have_api_key ()
{
  for (const char *var : {"GEMINI_API_KEY", "GOOGLE_API_KEY"}) {
    const gchar *v = g_getenv (var);
    if (v && *v)
      return true;
  }
  return false;
}

int
print_version ()
{
  GPtr<gchar> gst (gst_version_string ());
  printf ("gemini-transcribe %s (%s)\n", PACKAGE_VERSION, gst.get ());
  return EXIT_OK;
}

/* The bundled emulator for a dry run, its URL and key put into `endpoint`
 * and `key`; the failure when it cannot start. */
std::optional<Failure>
start_emulator (const CommandLine &c, std::unique_ptr<EmulatorProcess> &emulator,
    std::string &endpoint, std::string &key)
{
  std::string error;
  emulator = EmulatorProcess::start (c.emulator_script.value_or (""), EMULATOR_KEY, error);
  if (!emulator)
    return Failure{EXIT_OTHER, error};
  endpoint = emulator->url ();
  key = EMULATOR_KEY;
  return std::nullopt;
}

int
batch_main (CommandLine &c)
{
  Progress progress (c.quiet);
  std::unique_ptr<EmulatorProcess> emulator;
  if (c.emulator) {
    if (auto failure = start_emulator (c, emulator, c.batch_settings.api_endpoint,
            c.batch_settings.api_key))
      return fail (failure->code, failure->message);
  }
  return run_batch (c.batch_settings, progress);
}

/* What can fail before any token is spent: the outputs, the input and the
 * key; `uri` is set when nothing does. */
std::optional<Failure>
preflight (const SingleSettings &s, bool emulator, std::string &uri)
{
  for (const auto &out : s.outputs) {
    if (same_file (out.path, s.input))
      return Failure{EXIT_USAGE, "the output " + out.path + " is the input " + s.input
          + ": choose another output with -o"};
    const std::string why = unwritable_reason (out.path);
    if (!why.empty ())
      return Failure{EXIT_OUTPUT, "cannot write " + out.path + ": " + why};
    if (is_video_format (out.format)) {
      const std::string missing = missing_video_elements (out.format, s.burn);
      if (!missing.empty ())
        return Failure{EXIT_OTHER, "cannot write " + out.path + ": GStreamer elements "
            "missing: " + missing + " (install gstreamer1.0-plugins-good and -bad)"};
    }
  }
  std::string error;
  auto found = input_uri (s.input, error);
  if (!found)
    return Failure{EXIT_INPUT, error};
  if (!emulator && !have_api_key ())
    return Failure{EXIT_NO_KEY, "no Gemini API key: export GEMINI_API_KEY=... (get one at "
        "https://aistudio.google.com/apikey), or try an offline dry run with --emulator."};
  uri = *found;
  return std::nullopt;
}

std::optional<Failure>
write_outputs (const std::string &uri, const SingleSettings &s, const Transcript &t,
    Progress &progress)
{
  for (const auto &out : s.outputs) {
    std::optional<Failure> failure;
    std::string error;
    if (is_video_format (out.format)) {
      failure = render_video (uri, out.path, out.format, s.burn, t, progress);
    } else if (!write_text_output (out.path, out.format, t, error)) {
      failure = Failure{EXIT_OUTPUT, "cannot write " + out.path + ": " + error};
    }
    if (failure)
      return failure;
    progress.message ("Wrote " + out.path);
  }
  return std::nullopt;
}

/* Segments without an answer leave gaps in every output: not a success. */
int
segments_status (const Transcript &t)
{
  guint failed = 0;
  std::string first_error;
  for (const auto &s : t.segments) {
    if (s.status == "failed" || s.status == "blocked") {
      if (failed++ == 0)
        first_error = s.error;
    }
  }
  if (failed > 0)
    return fail (EXIT_OTHER, std::to_string (failed) + " of " + std::to_string (t.segments.size ())
        + " segments could not be transcribed and have no captions (" + first_error + ")");
  return EXIT_OK;
}

int
single_main (CommandLine &c)
{
  SingleSettings &s = c.single;
  std::string uri;
  if (auto failure = preflight (s, c.emulator, uri))
    return fail (failure->code, failure->message);

  Progress progress (c.quiet);
  std::unique_ptr<EmulatorProcess> emulator;
  if (c.emulator) {
    if (auto failure = start_emulator (c, emulator, s.element.api_endpoint, s.element.api_key))
      return fail (failure->code, failure->message);
    progress.message ("OFFLINE DRY RUN: nothing is sent to Gemini; the bundled emulator "
        "at " + emulator->url () + " answers" + (c.emulator_script ?
            " from " + *c.emulator_script : std::string (" with empty transcripts")) + ".");
  }

  Transcript t;
  t.input = s.input;
  if (auto failure = transcribe_input (uri, s.element, progress, t))
    return fail (failure->code, failure->message);
  if (auto failure = write_outputs (uri, s, t, progress))
    return fail (failure->code, failure->message);
  progress.speaker_summary (t);
  progress.repairs (t);
  return segments_status (t);
}

}  // namespace

int
main (int argc, char **argv)
{
  use_locale_charset ();
  limit_malloc_arenas ();
  std::optional<CommandLine> command = parse_command_line (argc, argv);
  if (!command)
    return EXIT_USAGE;
  GST_DEBUG_CATEGORY_INIT (gemini_transcribe_debug, "geminitranscribe", 0,
      "gemini-transcribe program");
  if (command->version)
    return print_version ();
  return command->batch ? batch_main (*command) : single_main (*command);
}
