/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli_options.h"

#include <algorithm>
#include <cstdarg>
#include <string_view>

#include <gst/gst.h>

#include "batch.h"
#include "defaults.h"
#include "glib_ptr.h"
#include "request.h"

using gemini::GPtr;

namespace transcribe {

namespace {

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
  gchar *timing = nullptr;
  gboolean evidence = FALSE;
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
    g_free (timing);
    g_free (mode);
    g_free (emulator_script);
  }
};

std::string
to_string (const gchar *s)
{
  return s ? s : "";
}

std::string
printed (const char *format, ...) G_GNUC_PRINTF (1, 2);

std::string
printed (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  GPtr<gchar> text (g_strdup_vprintf (format, args));
  va_end (args);
  return text.get ();
}

/* The help texts that show a default, from the values the program and the
 * element use, so that they cannot drift apart. GOption keeps only the
 * pointers: these live while it parses. */
struct DefaultTexts {
  const std::string model = printed ("Gemini model (default: the element's, %s)",
      gemini::defaults::MODEL);
  const std::string segment_duration = printed ("Streaming mode: milliseconds of media per "
      "request (default 0 = automatic: %u for files)", gemini::defaults::SEGMENT_MS_FILE);
  const std::string fps = printed ("Video frames per second sent to Gemini, 0.01 to 24 "
      "(default %g)", gemini::defaults::FPS);
  const std::string request_timeout = printed ("Seconds one attempt of a request may take, "
      "plus a tenth of its media's duration (default %u; 1 to 3600)",
      gemini::defaults::REQUEST_TIMEOUT_MS / 1000);
  const std::string max_retries = printed ("Retries of a failed request (429, 5xx, timeouts, "
      "network errors) before it fails (default %u; 0 to 20)", gemini::defaults::MAX_RETRIES);
  const std::string concurrency = printed ("Segments transcribed at once, 1 to 64 (default %u)",
      gemini::defaults::MAX_CONCURRENT);
  const std::string inline_limit = printed ("--batch: largest job sent inline, in bytes; "
      "above, a JSONL file (default %" G_GSIZE_FORMAT ")", gemini::DEFAULT_BATCH_INLINE_LIMIT);
  const std::string poll_interval = printed ("--batch: first interval between job polls in ms "
      "(default %" G_GUINT64_FORMAT ", then backing off)",
      (guint64) (gemini::BatchPollOptions ().initial_interval / GST_MSECOND));
};

std::vector<GOptionEntry>
option_entries (Options &o, const DefaultTexts &d)
{
  return {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.outputs,
        "Write OUT; its extension picks the format: .srt .vtt .json .md .html .mkv .mp4 "
        "(repeat for several; default INPUT's name with .srt)", "OUT"},
    {"burn", 'b', 0, G_OPTION_ARG_NONE, &o.burn,
        "Burn the captions into .mkv/.mp4 outputs instead of adding a subtitle track", nullptr},
    {"model", 'm', 0, G_OPTION_ARG_STRING, &o.model, d.model.c_str (), "MODEL"},
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
        d.segment_duration.c_str (), "MS"},
    {"fps", 0, 0, G_OPTION_ARG_DOUBLE, &o.fps, d.fps.c_str (), "FPS"},
    {"media-resolution", 'r', 0, G_OPTION_ARG_STRING, &o.media_resolution,
        "Tokens per frame: auto, low, medium or high (default auto)", "RES"},
    {"timing", 0, 0, G_OPTION_ARG_STRING, &o.timing,
        "Cue times: audio (on the speech found near the model's times) or model (as "
        "the model wrote them, in whole seconds); default audio", "TIMING"},
    {"evidence", 0, 0, G_OPTION_ARG_NONE, &o.evidence,
        "For each speaker's name, company, position and role: what was shown or said, "
        "and when (JSON, HTML and Markdown outputs)", nullptr},
    {"request-timeout", 0, 0, G_OPTION_ARG_INT, &o.request_timeout,
        d.request_timeout.c_str (), "S"},
    {"max-retries", 0, 0, G_OPTION_ARG_INT, &o.max_retries, d.max_retries.c_str (), "N"},
    {"concurrency", 'j', 0, G_OPTION_ARG_INT, &o.concurrency, d.concurrency.c_str (), "N"},
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
    {"inline-limit", 0, 0, G_OPTION_ARG_INT64, &o.inline_limit, d.inline_limit.c_str (),
        "BYTES"},
    {"poll-interval", 0, 0, G_OPTION_ARG_INT, &o.poll_interval, d.poll_interval.c_str (),
        "MS"},
    {nullptr},
  };
}

/* argv into `o` and GStreamer initialised; false once the error is printed. */
bool
parse_options (int &argc, char **&argv, Options &o)
{
  const DefaultTexts texts;
  const std::vector<GOptionEntry> entries = option_entries (o, texts);
  GOptionContext *ctx = g_option_context_new ("INPUT - transcribe a media file with Gemini");
  g_option_context_set_summary (ctx,
      "INPUT is a file or a URI. The API key is read from GEMINI_API_KEY (or\n"
      "GOOGLE_API_KEY); get one at https://aistudio.google.com/apikey.");
  g_option_context_set_description (ctx,
      "Exit status: 0 done, 1 usage, 2 no API key, 3 input unreadable,\n"
      "4 output unwritable, 5 Gemini refused (key, model, quota),\n"
      "6 other failure (including segments that could not be transcribed).\n");
  g_option_context_add_main_entries (ctx, entries.data (), nullptr);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *err = nullptr;
  const bool parsed = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  if (!parsed) {
    const std::string message = err->message;
    g_error_free (err);
    fail (EXIT_USAGE, message + " (see --help)");
  }
  return parsed;
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

/* What both modes check; the first problem, or "". */
std::string
common_error (const Options &o)
{
  if (o.concurrency != -1 && (o.concurrency < 1 || o.concurrency > 64))
    return "--concurrency must be between 1 and 64";
  if (o.language && *o.language && !is_language_tag (o.language))
    return std::string ("--language \"") + o.language + "\" is not a BCP-47 "
        "language tag such as en, fr-FR or pt-BR";
  if (o.request_timeout != 0 && (o.request_timeout < 1 || o.request_timeout > 3600))
    return "--request-timeout must be between 1 and 3600 s";
  if (o.max_retries < -1 || o.max_retries > 20)
    return "--max-retries must be between 0 and 20";
  return {};
}

constexpr const char *TIMING_USAGE = "--timing must be audio or model";

bool
valid_timing (const Options &o)
{
  const std::string t = to_string (o.timing);
  return t.empty () || t == "audio" || t == "model";
}

std::string
batch_settings (const Options &o, int argc, char **argv, BatchSettings &b)
{
  if (o.segment_duration > 0 || (o.mode && g_strcmp0 (o.mode, "whole") != 0))
    return "--batch sends whole files (cut into --window windows when too long): "
        "--segment-duration and --mode streaming do not apply";
  if (o.window < 0 || o.window > 86400)
    return "--window must be between 0 (automatic) and 86400 s";
  if (!valid_timing (o))
    return TIMING_USAGE;
  b.audio_timing = to_string (o.timing) != "model";
  b.evidence = o.evidence;
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
  b.window_ms = (guint) o.window * 1000;
  b.inline_limit = o.inline_limit;
  b.poll_ms = (guint) std::max (0, o.poll_interval);
  b.encoders = o.concurrency < 0 ? 0 : (guint) o.concurrency;
  b.cancel = o.cancel;
  b.keep = o.keep;
  b.retry_failed = o.retry_failed;
  b.request_timeout_ms = (guint) o.request_timeout * 1000;
  b.max_retries = o.max_retries;
  return {};
}

std::string
single_settings (const Options &o, int argc, char **argv, SingleSettings &s)
{
  if (argc != 2)
    return "give exactly one INPUT file or URI (see --help)";
  s.input = argv[1];
  const std::string resolution = to_string (o.media_resolution);
  if (!gemini::media_resolution_from_name (resolution))
    return "--media-resolution must be auto, low, medium or high";
  if (o.fps != 0 && (o.fps < 0.01 || o.fps > 24))
    return "--fps must be between 0.01 and 24";
  if (o.segment_duration < 0 || o.segment_duration > 3600000)
    return "--segment-duration must be between 0 (automatic) and 3600000 ms";
  std::string mode = to_string (o.mode);
  if (mode.empty ())
    mode = o.segment_duration > 0 ? "streaming" : "auto";
  if (mode != "auto" && mode != "whole" && mode != "streaming")
    return "--mode must be whole or streaming";
  if (o.window < 0 || o.window > 86400)
    return "--window must be between 0 (automatic) and 86400 s";
  if (!valid_timing (o))
    return TIMING_USAGE;
  for (gchar **p = o.outputs; p && *p; p++) {
    auto f = format_for_path (*p);
    if (!f)
      return std::string ("unknown output format for ") + *p
          + ": use .srt, .vtt, .json, .md, .html, .mkv or .mp4";
    s.outputs.push_back ({*p, *f});
  }
  if (s.outputs.empty ())
    s.outputs.push_back ({default_output (s.input), Format::Srt});
  s.burn = o.burn;
  ElementSettings &e = s.element;
  e.model = to_string (o.model);
  e.context = to_string (o.context);
  e.language = to_string (o.language);
  e.media_resolution = resolution;
  e.timing = to_string (o.timing);
  e.evidence = o.evidence;
  e.segment_duration_ms = (guint) o.segment_duration;
  e.mode = mode;
  e.window_s = (guint) o.window;
  e.fps = o.fps;
  e.concurrency = o.concurrency < 0 ? 0 : (guint) o.concurrency;
  e.request_timeout_ms = (guint) o.request_timeout * 1000;
  e.max_retries = o.max_retries;
  return {};
}

}  // namespace

int
fail (ExitCode code, const std::string &message)
{
  g_printerr ("gemini-transcribe: %s\n", message.c_str ());
  return code;
}

std::optional<CommandLine>
parse_command_line (int argc, char **argv)
{
  Options o;
  if (!parse_options (argc, argv, o))
    return std::nullopt;
  CommandLine c;
  if (o.version) {
    c.version = true;
    return c;
  }
  c.quiet = o.quiet;
  c.emulator = o.emulator || o.emulator_script;
  if (o.emulator_script)
    c.emulator_script = o.emulator_script;
  c.batch = o.batch;
  std::string error = common_error (o);
  if (error.empty ())
    error = c.batch ? batch_settings (o, argc, argv, c.batch_settings)
        : single_settings (o, argc, argv, c.single);
  if (!error.empty ()) {
    fail (EXIT_USAGE, error);
    return std::nullopt;
  }
  return c;
}

}  // namespace transcribe
