/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-emulator: the Gemini API emulator as a program, for the official
 * SDK test and for trying a client by hand. */
#include <clocale>
#include <cstdio>
#include <string>

#include <glib-unix.h>
#include <gst/gst.h>

#include "emulator.h"

namespace {

gboolean
on_signal (gpointer loop)
{
  g_main_loop_quit (static_cast<GMainLoop *> (loop));
  return G_SOURCE_REMOVE;
}

/* As gemini-transcribe prints (examples/progress.cpp): in the locale's
 * character set, transliterated where GLib would print '?'. */
void
print_transliterated (const gchar *text)
{
  gchar *ascii = g_str_to_ascii (text, nullptr);
  fputs (ascii, stderr);
  g_free (ascii);
}

}  // namespace

int
main (int argc, char **argv)
{
  setlocale (LC_CTYPE, "");
  if (!g_get_charset (nullptr))
    g_set_printerr_handler (print_transliterated);
  gint port = 0;
  gchar *script_path = nullptr;
  gchar *log_path = nullptr;
  gchar *api_key = nullptr;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port,
      "TCP port on 127.0.0.1 (0 = any free port)", "N" },
    { "script", 0, 0, G_OPTION_ARG_FILENAME, &script_path,
      "JSON script: answers, faults, keys (see docs/emulator.md)", "FILE" },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &log_path,
      "Write the request log here on exit", "FILE" },
    { "api-key", 0, 0, G_OPTION_ARG_STRING, &api_key,
      "Accepted API key (overrides the script's api_key)", "KEY" },
    { nullptr }
  };
  GOptionContext *options = g_option_context_new ("- Gemini API emulator");
  g_option_context_add_main_entries (options, entries, nullptr);
  g_option_context_add_group (options, gst_init_get_option_group ());
  GError *err = nullptr;
  if (!g_option_context_parse (options, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    g_clear_error (&err);
    g_option_context_free (options);
    return 2;
  }
  g_option_context_free (options);
  gst_init (&argc, &argv);

  std::string script = "{}";
  if (script_path) {
    gchar *contents = nullptr;
    if (!g_file_get_contents (script_path, &contents, nullptr, &err)) {
      g_printerr ("cannot read script: %s\n", err->message);
      g_clear_error (&err);
      return 2;
    }
    script = contents;
    g_free (contents);
  }
  if (api_key) {
    gemini::GPtr<JsonParser> parser (json_parser_new ());
    if (!json_parser_load_from_data (parser.get (), script.c_str (), -1, &err)
        || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser.get ()))) {
      g_printerr ("bad script: %s\n", err ? err->message : "not an object");
      g_clear_error (&err);
      return 2;
    }
    JsonNode *root = json_parser_get_root (parser.get ());
    json_object_set_string_member (json_node_get_object (root), "api_key",
        api_key);
    gemini::GPtr<gchar> text (json_to_string (root, FALSE));
    script = text.get ();
  }

  int status = 0;
  {
    gemini::test::Emulator emulator ("{}", (guint) port);
    std::string error;
    if (emulator.url ().empty ()) {
      g_printerr ("cannot listen on port %d\n", port);
      return 1;
    }
    if (!emulator.try_set_script (script, &error)) {
      g_printerr ("bad script: %s\n", error.c_str ());
      return 2;
    }
    std::printf ("gemini-emulator listening on %s\n", emulator.url ().c_str ());
    std::fflush (stdout);

    gemini::GPtr<GMainLoop> loop (g_main_loop_new (nullptr, FALSE));
    g_unix_signal_add (SIGINT, on_signal, loop.get ());
    g_unix_signal_add (SIGTERM, on_signal, loop.get ());
    g_main_loop_run (loop.get ());

    if (log_path) {
      gemini::GPtr<JsonNode> log = emulator.log ();
      gemini::GPtr<gchar> text (json_to_string (log.get (), TRUE));
      if (!g_file_set_contents (log_path, text.get (), -1, &err)) {
        g_printerr ("cannot write log: %s\n", err->message);
        g_clear_error (&err);
        status = 1;
      }
    }
  }
  g_free (script_path);
  g_free (log_path);
  g_free (api_key);
  return status;
}
