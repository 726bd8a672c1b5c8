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
#include <string>
#include <string_view>
#include <vector>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "batch_run.h"
#include "emulator_process.h"
#include "glib_ptr.h"
#include "memory.h"
#include "outputs.h"
#include "progress.h"
#include "render.h"
#include "transcription.h"

GST_DEBUG_CATEGORY (gemini_transcribe_debug);
#define GST_CAT_DEFAULT gemini_transcribe_debug

using gemini::GPtr;
using namespace transcribe;

namespace {

/* The emulator's key: a dry run never sees the person's real one. */
constexpr const char *EMULATOR_KEY = "test-key";

struct Options {
  gchar **outputs = nullptr;
  gboolean burn = FALSE;
  gchar *model = nullptr;
  gchar *context = nullptr;
  gchar *language = nullptr;
  gint segment_duration = 0;
  gchar *mode = nullptr;
  gint window = 0;
  gdouble fps = 0;
  gchar *media_resolution = nullptr;
  gint concurrency = -1;              /* -1: the element's */
  gboolean version = FALSE;
  gboolean emulator = FALSE;
  gchar *emulator_script = nullptr;
  gboolean quiet = FALSE;
  gboolean batch = FALSE;
  gchar *list = nullptr;
  gchar *state = nullptr;
  gboolean cancel = FALSE;
  gboolean keep = FALSE;
  gboolean retry_failed = FALSE;
  gint64 inline_limit = -1;
  gint poll_interval = 0;
  gint request_timeout = 0;
  gint max_retries = -1;

  ~Options () {
    g_free (list);
    g_free (state);
    g_strfreev (outputs);
    g_free (model);
    g_free (context);
    g_free (language);
    g_free (media_resolution);
    g_free (mode);
    g_free (emulator_script);
  }
};

struct Output {
  std::string path;
  Format format;
};

int
fail (ExitCode code, const std::string &message)
{
  g_printerr ("gemini-transcribe: %s\n", message.c_str ());
  return code;
}

std::string
to_string (const gchar *s)
{
  return s ? s : "";
}

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

/* The shape of a BCP-47 tag (RFC 5646): a language of 2-3 letters (or a
 * registered 4-8), then subtags of 1-8 letters or digits; whether Gemini
 * knows the language is its own business. */
bool
is_language_tag (std::string_view tag)
{
  size_t start = 0;
  for (size_t n = 0; start <= tag.size (); n++) {
    const size_t end = std::min (tag.find ('-', start), tag.size ());
    const std::string_view sub = tag.substr (start, end - start);
    if (sub.empty () || sub.size () > 8)
      return false;
    for (char c : sub)
      if (n == 0 ? !g_ascii_isalpha (c) : !g_ascii_isalnum (c))
        return false;
    if (n == 0 && sub.size () == 1)
      return false;
    start = end + 1;
  }
  return true;
}

std::string
default_output (const std::string &input)
{
  GPtr<gchar> base (g_path_get_basename (input.c_str ()));
  std::string name = base.get ();
  const size_t dot = name.rfind ('.');
  if (dot != std::string::npos && dot > 0)
    name.resize (dot);
  if (name.empty () || name == "/" || name == ".")
    name = "transcript";
  return name + ".srt";
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

}  // namespace

int
main (int argc, char **argv)
{
  use_locale_charset ();
  limit_malloc_arenas ();
  Options o;
  const GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.outputs,
        "Write OUT; its extension picks the format: .srt .vtt .json .md .html .mkv .mp4 "
        "(repeat for several; default INPUT's name with .srt)", "OUT"},
    {"burn", 'b', 0, G_OPTION_ARG_NONE, &o.burn,
        "Burn the captions into .mkv/.mp4 outputs instead of adding a subtitle track", nullptr},
    {"model", 'm', 0, G_OPTION_ARG_STRING, &o.model,
        "Gemini model (default: the element's, gemini-3.8-flash)", "MODEL"},
    {"context", 'c', 0, G_OPTION_ARG_STRING, &o.context,
        "Names, vocabulary or a description given with every request", "TEXT"},
    {"language", 'l', 0, G_OPTION_ARG_STRING, &o.language,
        "BCP-47 language of the transcript (default: as spoken)", "LANG"},
    {"mode", 0, 0, G_OPTION_ARG_STRING, &o.mode,
        "whole (the model sees the whole file: names shown once hold everywhere) or "
        "streaming (a request per segment); default whole, or streaming with "
        "--segment-duration", "MODE"},
    {"window", 'w', 0, G_OPTION_ARG_INT, &o.window,
        "Whole mode: longest stretch per request in seconds (default 0 = one request "
        "whenever the model's limits allow)", "SECONDS"},
    {"segment-duration", 's', 0, G_OPTION_ARG_INT, &o.segment_duration,
        "Streaming mode: milliseconds of media per request (default 0 = automatic: "
        "120000 for files)", "MS"},
    {"fps", 0, 0, G_OPTION_ARG_DOUBLE, &o.fps,
        "Video frames per second sent to Gemini, 0.01 to 24 (default 1)", "FPS"},
    {"media-resolution", 'r', 0, G_OPTION_ARG_STRING, &o.media_resolution,
        "Tokens per frame: auto, low, medium or high (default auto)", "RES"},
    {"request-timeout", 0, 0, G_OPTION_ARG_INT, &o.request_timeout,
        "Seconds one attempt of a request may take, plus a tenth of its media's duration "
        "(default 120; 1 to 3600)", "S"},
    {"max-retries", 0, 0, G_OPTION_ARG_INT, &o.max_retries,
        "Retries of a failed request (429, 5xx, timeouts, network errors) before it fails "
        "(default 4; 0 to 20)", "N"},
    {"concurrency", 'j', 0, G_OPTION_ARG_INT, &o.concurrency,
        "Segments transcribed at once, 1 to 64 (default 4)", "N"},
    {"version", 0, 0, G_OPTION_ARG_NONE, &o.version,
        "Print the versions of this program and of GStreamer, then exit", nullptr},
    {"emulator", 0, 0, G_OPTION_ARG_NONE, &o.emulator,
        "Offline dry run against the bundled Gemini emulator: no key, no network", nullptr},
    {"emulator-script", 0, 0, G_OPTION_ARG_FILENAME, &o.emulator_script,
        "What the emulator answers (docs/emulator.md); implies --emulator", "FILE"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
        "No progress, summary or notes; errors only", nullptr},
    {"batch", 0, 0, G_OPTION_ARG_NONE, &o.batch,
        "Many INPUTs (files, directories) in one Gemini batch job: half the price, answers "
        "within hours; resumable (docs/batch.md). -o takes templates: {dir} {stem} {name} {ext}",
        nullptr},
    {"list", 0, 0, G_OPTION_ARG_FILENAME, &o.list,
        "--batch: read more inputs from FILE, one per line", "FILE"},
    {"state", 0, 0, G_OPTION_ARG_FILENAME, &o.state,
        "--batch: the run's state file (default gemini-batch-state.json beside the first "
        "output)", "FILE"},
    {"cancel", 0, 0, G_OPTION_ARG_NONE, &o.cancel,
        "--batch: cancel the run's job at Gemini", nullptr},
    {"keep", 0, 0, G_OPTION_ARG_NONE, &o.keep,
        "--batch: keep the uploaded files and the job when done", nullptr},
    {"retry-failed", 0, 0, G_OPTION_ARG_NONE, &o.retry_failed,
        "--batch: send the inputs that failed again, in a new job", nullptr},
    {"inline-limit", 0, 0, G_OPTION_ARG_INT64, &o.inline_limit,
        "--batch: largest job sent inline, in bytes; above, a JSONL file (default 20000000)",
        "BYTES"},
    {"poll-interval", 0, 0, G_OPTION_ARG_INT, &o.poll_interval,
        "--batch: first interval between job polls in ms (default 5000, then backing off)",
        "MS"},
    {nullptr},
  };

  GOptionContext *ctx = g_option_context_new ("INPUT - transcribe a media file with Gemini");
  g_option_context_set_summary (ctx,
      "INPUT is a file or a URI. The API key is read from GEMINI_API_KEY (or\n"
      "GOOGLE_API_KEY); get one at https://aistudio.google.com/apikey.");
  g_option_context_set_description (ctx,
      "Exit status: 0 done, 1 usage, 2 no API key, 3 input unreadable,\n"
      "4 output unwritable, 5 Gemini refused (key, model, quota),\n"
      "6 other failure (including segments that could not be transcribed).\n");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *err = nullptr;
  const bool parsed = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  if (!parsed) {
    const std::string message = err->message;
    g_error_free (err);
    return fail (EXIT_USAGE, message + " (see --help)");
  }
  GST_DEBUG_CATEGORY_INIT (gemini_transcribe_debug, "geminitranscribe", 0,
      "gemini-transcribe program");

  if (o.version) {
    GPtr<gchar> gst (gst_version_string ());
    printf ("gemini-transcribe %s (%s)\n", PACKAGE_VERSION, gst.get ());
    return EXIT_OK;
  }
  if (o.concurrency != -1 && (o.concurrency < 1 || o.concurrency > 64))
    return fail (EXIT_USAGE, "--concurrency must be between 1 and 64");
  if (o.language && *o.language && !is_language_tag (o.language))
    return fail (EXIT_USAGE, std::string ("--language \"") + o.language + "\" is not a BCP-47 "
        "language tag such as en, fr-FR or pt-BR");
  if (o.request_timeout != 0 && (o.request_timeout < 1 || o.request_timeout > 3600))
    return fail (EXIT_USAGE, "--request-timeout must be between 1 and 3600 s");
  if (o.max_retries < -1 || o.max_retries > 20)
    return fail (EXIT_USAGE, "--max-retries must be between 0 and 20");

  if (o.batch) {
    if (o.emulator_script)
      o.emulator = TRUE;
    BatchSettings b;
    for (int i = 1; i < argc; i++)
      b.inputs.emplace_back (argv[i]);
    b.list_file = to_string (o.list);
    for (gchar **p = o.outputs; p && *p; p++)
      b.outputs.emplace_back (*p);
    b.state_file = to_string (o.state);
    b.burn = o.burn;
    b.model = to_string (o.model);
    b.context = to_string (o.context);
    b.language = to_string (o.language);
    b.media_resolution = to_string (o.media_resolution);
    b.fps = o.fps;
    if (o.segment_duration > 0 || (o.mode && g_strcmp0 (o.mode, "whole") != 0))
      return fail (EXIT_USAGE, "--batch sends whole files (cut into --window windows when "
          "too long): --segment-duration and --mode streaming do not apply");
    if (o.window < 0 || o.window > 86400)
      return fail (EXIT_USAGE, "--window must be between 0 (automatic) and 86400 s");
    b.window_ms = (guint) o.window * 1000;
    b.inline_limit = o.inline_limit;
    b.poll_ms = (guint) std::max (0, o.poll_interval);
    b.encoders = o.concurrency < 0 ? 0 : (guint) o.concurrency;
    b.cancel = o.cancel;
    b.keep = o.keep;
    b.retry_failed = o.retry_failed;
    b.request_timeout_ms = (guint) o.request_timeout * 1000;
    b.max_retries = o.max_retries;
    Progress progress (o.quiet);
    std::string error;
    std::unique_ptr<EmulatorProcess> emulator;
    if (o.emulator) {
      emulator = EmulatorProcess::start (to_string (o.emulator_script), EMULATOR_KEY, error);
      if (!emulator)
        return fail (EXIT_OTHER, error);
      b.api_endpoint = emulator->url ();
      b.api_key = EMULATOR_KEY;
    }
    return run_batch (b, progress);
  }
  if (argc != 2)
    return fail (EXIT_USAGE, "give exactly one INPUT file or URI (see --help)");
  const std::string input = argv[1];

  if (o.emulator_script)
    o.emulator = TRUE;
  const std::string resolution = to_string (o.media_resolution);
  if (!resolution.empty () && resolution != "auto" && resolution != "low"
      && resolution != "medium" && resolution != "high")
    return fail (EXIT_USAGE, "--media-resolution must be auto, low, medium or high");
  if (o.fps != 0 && (o.fps < 0.01 || o.fps > 24))
    return fail (EXIT_USAGE, "--fps must be between 0.01 and 24");
  if (o.segment_duration < 0 || o.segment_duration > 3600000)
    return fail (EXIT_USAGE, "--segment-duration must be between 0 (automatic) and 3600000 ms");
  std::string mode = to_string (o.mode);
  if (mode.empty ())
    mode = o.segment_duration > 0 ? "streaming" : "auto";
  if (mode != "auto" && mode != "whole" && mode != "streaming")
    return fail (EXIT_USAGE, "--mode must be whole or streaming");
  if (o.window < 0 || o.window > 86400)
    return fail (EXIT_USAGE, "--window must be between 0 (automatic) and 86400 s");

  std::vector<Output> outputs;
  if (o.outputs) {
    for (gchar **p = o.outputs; *p; p++) {
      auto f = format_for_path (*p);
      if (!f)
        return fail (EXIT_USAGE, std::string ("unknown output format for ") + *p
            + ": use .srt, .vtt, .json, .md, .html, .mkv or .mp4");
      outputs.push_back ({*p, *f});
    }
  } else {
    outputs.push_back ({default_output (input), Format::Srt});
  }
  for (const auto &out : outputs) {
    if (same_file (out.path, input))
      return fail (EXIT_USAGE, "the output " + out.path + " is the input " + input
          + ": choose another output with -o");
    const std::string why = unwritable_reason (out.path);
    if (!why.empty ())
      return fail (EXIT_OUTPUT, "cannot write " + out.path + ": " + why);
    if (is_video_format (out.format)) {
      const std::string missing = missing_video_elements (out.format, o.burn);
      if (!missing.empty ())
        return fail (EXIT_OTHER, "cannot write " + out.path + ": GStreamer elements "
            "missing: " + missing + " (install gstreamer1.0-plugins-good and -bad)");
    }
  }

  std::string error;
  auto uri = input_uri (input, error);
  if (!uri)
    return fail (EXIT_INPUT, error);

  if (!o.emulator && !have_api_key ())
    return fail (EXIT_NO_KEY, "no Gemini API key: export GEMINI_API_KEY=... (get one at "
        "https://aistudio.google.com/apikey), or try an offline dry run with --emulator.");

  ElementSettings settings;
  settings.model = to_string (o.model);
  settings.context = to_string (o.context);
  settings.language = to_string (o.language);
  settings.media_resolution = resolution;
  settings.segment_duration_ms = (guint) o.segment_duration;
  settings.mode = mode;
  settings.window_s = (guint) o.window;
  settings.fps = o.fps;
  settings.concurrency = o.concurrency < 0 ? 0 : (guint) o.concurrency;
  settings.request_timeout_ms = (guint) o.request_timeout * 1000;
  settings.max_retries = o.max_retries;

  Progress progress (o.quiet);
  std::unique_ptr<EmulatorProcess> emulator;
  if (o.emulator) {
    emulator = EmulatorProcess::start (to_string (o.emulator_script), EMULATOR_KEY, error);
    if (!emulator)
      return fail (EXIT_OTHER, error);
    settings.api_endpoint = emulator->url ();
    settings.api_key = EMULATOR_KEY;
    progress.message ("OFFLINE DRY RUN: nothing is sent to Gemini; the bundled emulator "
        "at " + emulator->url () + " answers" + (o.emulator_script ?
            " from " + to_string (o.emulator_script) : std::string (" with empty transcripts"))
        + ".");
  }

  Transcript t;
  t.input = input;
  if (auto failure = transcribe_input (*uri, settings, progress, t))
    return fail (failure->code, failure->message);

  for (const auto &out : outputs) {
    std::optional<Failure> failure;
    if (is_video_format (out.format)) {
      failure = render_video (*uri, out.path, out.format, o.burn, t, progress);
    } else if (!write_text_output (out.path, out.format, t, error)) {
      failure = Failure{EXIT_OUTPUT, "cannot write " + out.path + ": " + error};
    }
    if (failure)
      return fail (failure->code, failure->message);
    progress.message ("Wrote " + out.path);
  }
  progress.speaker_summary (t);
  progress.repairs (t);

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
