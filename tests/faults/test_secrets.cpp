/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API key never leaks: a canary key goes through the element (as the
 * api-key property and as GEMINI_API_KEY), on the success path and every
 * error path, and is looked for in GST_DEBUG output at level 9, in error and
 * warning texts, in every bus message, in `gst-launch-1.0 -v` output and in
 * what the emulator saw (URLs, queries, headers, bodies). */
#include <mutex>
#include <string>
#include <vector>

#include <glib/gstdio.h>

#include "contract.h"

using namespace gemini::test;
using gemini::GPtr;

namespace {

constexpr const char *CANARY = "AIzaCANARY-do-not-log-7f3a";

std::mutex debug_lock;
std::string debug_text;

void
capture_log (GstDebugCategory *category, GstDebugLevel level, const gchar *,
    const gchar *function, gint, GObject *, GstDebugMessage *message, gpointer)
{
  const gchar *text = gst_debug_message_get (message);
  std::lock_guard<std::mutex> lk (debug_lock);
  debug_text += gst_debug_category_get_name (category);
  debug_text += ' ';
  debug_text += gst_debug_level_get_name (level);
  debug_text += ' ';
  debug_text += function;
  debug_text += ": ";
  debug_text += text ? text : "";
  debug_text += '\n';
}

std::string
take_debug_text ()
{
  std::lock_guard<std::mutex> lk (debug_lock);
  return std::move (debug_text);
}

void
assert_no_canary (const std::string &where, const std::string &text)
{
  const size_t at = text.find (CANARY);
  if (at != std::string::npos)
    g_error ("the key leaked into %s: ...%s...", where.c_str (),
        text.substr (at > 200 ? at - 200 : 0, 400).c_str ());
}

/* Runs the pipeline with the canary, as property or from the environment,
 * and checks every place it could show up. */
RunResult
run_with_canary (const std::string &script_extra, bool as_property,
    const std::string &props = "")
{
  Emulator emu (fault_script (script_extra));
  RunSpec spec;
  spec.props = props;
  if (as_property) {
    spec.api_key = CANARY;
    g_unsetenv ("GEMINI_API_KEY");
  } else {
    spec.api_key = "";
    g_setenv ("GEMINI_API_KEY", CANARY, TRUE);
  }
  g_unsetenv ("GOOGLE_API_KEY");
  take_debug_text ();
  RunResult r = run_transcriber (emu, spec);
  g_unsetenv ("GEMINI_API_KEY");

  const std::string log = take_debug_text ();
  /* Level 9 really was on: the run logged plenty. */
  g_assert_cmpuint (log.size (), >, 10000);
  assert_no_canary ("GST_DEBUG output", log);
  for (const auto &m : r.all_messages)
    assert_no_canary ("a bus message", m);
  for (const auto &m : r.warnings)
    assert_no_canary ("a warning", m);
  for (const auto &m : r.errors)
    assert_no_canary ("an error", m);
  gchar *emu_log = json_to_string (r.log.get (), FALSE);
  assert_no_canary ("the emulator log", emu_log);
  g_free (emu_log);

  /* The key travels in the x-goog-api-key header, never in the URL. */
  for (JsonObject *req : generate_requests (r.log.get ())) {
    g_assert_false (json_object_get_boolean_member (req, "api_key_in_query"));
    g_assert_true (json_object_get_boolean_member (req, "has_api_key"));
  }
  g_assert_cmpuint (r.generate_count (), >, 0);
  return r;
}

void
test_success (gconstpointer as_property)
{
  RunResult r = run_with_canary (R"("api_key": "AIzaCANARY-do-not-log-7f3a")",
      GPOINTER_TO_INT (as_property));
  check_contract (r, {});
}

void
test_wrong_key (gconstpointer as_property)
{
  RunResult r = run_with_canary ("", GPOINTER_TO_INT (as_property));
  g_assert_cmpuint (r.transcriber_errors ().size (), >=, 1);
}

void
test_401 (gconstpointer as_property)
{
  RunResult r = run_with_canary (R"("api_key": "AIzaCANARY-do-not-log-7f3a",
      "faults": [{"match": "generate", "type": "http", "status": 401,
      "grpc_status": "UNAUTHENTICATED", "message": "Request had invalid authentication credentials."}])",
      GPOINTER_TO_INT (as_property));
  g_assert_cmpuint (r.transcriber_errors ().size (), >=, 1);
}

void
test_retried_and_failed_segments (gconstpointer as_property)
{
  RunResult r = run_with_canary (R"("api_key": "AIzaCANARY-do-not-log-7f3a",
      "faults": [{"match": "generate", "nth": 1, "count": 1, "type": "http", "status": 429,
      "retry_delay": "0.1s", "message": "Quota exceeded"},
      {"match": "generate", "nth": 3, "count": 2, "type": "http", "status": 500,
      "message": "Internal error encountered."}])",
      GPOINTER_TO_INT (as_property), "max-retries=1");
  g_assert_cmpstr (r.ending.c_str (), ==, "eos");
  g_assert_cmpuint (r.warnings.size (), ==, 1);
}

void
test_upload (gconstpointer as_property)
{
  RunResult r = run_with_canary (R"("api_key": "AIzaCANARY-do-not-log-7f3a",
      "file_processing_polls": 1)", GPOINTER_TO_INT (as_property), "max-inline-bytes=0");
  check_contract (r, {});
  g_assert_cmpuint (count_kind (r, "upload_start"), >, 0);
}

/* gst-launch-1.0 -v with GST_DEBUG=*:9 into a file: stdout, stderr and
 * the debug file are searched. */
void
test_gst_launch (gconstpointer as_property)
{
  Emulator emu (R"({"api_key": "AIzaCANARY-do-not-log-7f3a"})");
  gchar *tmpdir = g_dir_make_tmp ("gemini-secrets-XXXXXX", nullptr);
  g_assert_nonnull (tmpdir);
  gchar *debug_file = g_build_filename (tmpdir, "debug.log", nullptr);

  gchar **env = g_get_environ ();
  env = g_environ_setenv (env, "GST_DEBUG", "*:9", TRUE);
  env = g_environ_setenv (env, "GST_DEBUG_NO_COLOR", "1", TRUE);
  env = g_environ_setenv (env, "GST_DEBUG_FILE", debug_file, TRUE);
  env = g_environ_unsetenv (env, "GOOGLE_API_KEY");
  std::string key_prop;
  if (GPOINTER_TO_INT (as_property)) {
    env = g_environ_unsetenv (env, "GEMINI_API_KEY");
    key_prop = std::string ("api-key=") + CANARY;
  } else {
    env = g_environ_setenv (env, "GEMINI_API_KEY", CANARY, TRUE);
  }
  const std::string endpoint = "api-endpoint=" + emu.url ();
  const gchar *argv[] = {"gst-launch-1.0", "-v", "-m", "audiotestsrc", "num-buffers=30",
    "samplesperbuffer=1600", "!", "audio/x-raw,rate=16000,channels=1", "!",
    "geminitranscriber", endpoint.c_str (), "mode=streaming", "segment-duration=1000",
    key_prop.empty () ? "max-retries=0" : key_prop.c_str (), "!", "fakesink",
    "silent=false", nullptr};
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  GError *error = nullptr;
  g_assert_true (g_spawn_sync (nullptr, (gchar **) argv, env, G_SPAWN_SEARCH_PATH,
          nullptr, nullptr, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_strfreev (env);

  gchar *debug = nullptr;
  gsize debug_len = 0;
  g_assert_true (g_file_get_contents (debug_file, &debug, &debug_len, nullptr));
  g_assert_cmpuint (debug_len, >, 100000);
  /* It ran: the transcriber logged at level 9 and reached the emulator. */
  g_assert_nonnull (strstr (debug, "geminitranscriber"));
  g_assert_nonnull (strstr (out, "gemini-segment"));
  g_assert_true (g_spawn_check_wait_status (status, nullptr));
  assert_no_canary ("gst-launch-1.0 -v stdout", out);
  assert_no_canary ("gst-launch-1.0 -v stderr", err);
  /* A key on the command line is in the launch line that GStreamer's own
   * parser logs (gstparse.c, parse.l): not ours to hide, and the reason
   * docs/reliability.md says to use GEMINI_API_KEY with gst-launch-1.0. */
  gchar **lines = g_strsplit (debug, "\n", -1);
  for (gchar **l = lines; *l; l++) {
    if (strstr (*l, "gst_parse_") || strstr (*l, "priv_gst_parse_"))
      continue;
    assert_no_canary ("the GST_DEBUG_FILE", *l);
  }
  g_strfreev (lines);
  if (!GPOINTER_TO_INT (as_property))
    assert_no_canary ("the GST_DEBUG_FILE", std::string (debug, debug_len));
  GPtr<JsonNode> log = emu.log ();
  g_assert_cmpuint (generate_requests (log.get ()).size (), >, 0);
  gchar *emu_log = json_to_string (log.get (), FALSE);
  assert_no_canary ("the emulator log", emu_log);
  g_free (emu_log);

  g_free (debug);
  g_free (out);
  g_free (err);
  g_unlink (debug_file);
  g_rmdir (tmpdir);
  g_free (debug_file);
  g_free (tmpdir);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (capture_log, nullptr, nullptr);
  gst_debug_set_active (TRUE);
  gst_debug_set_default_threshold (GST_LEVEL_MEMDUMP);

  for (int as_property = 1; as_property >= 0; as_property--) {
    const char *how = as_property ? "property" : "environment";
    const gpointer data = GINT_TO_POINTER (as_property);
    struct {
      const char *name;
      GTestDataFunc func;
    } cases[] = {
      {"success", test_success},
      {"wrong-key", test_wrong_key},
      {"http-401", test_401},
      {"retried-and-failed-segments", test_retried_and_failed_segments},
      {"upload", test_upload},
      {"gst-launch-v", test_gst_launch},
    };
    for (const auto &c : cases) {
      gchar *path = g_strdup_printf ("/secrets/%s/key-not-in-debug-messages-or-"
          "emulator/%s", how, c.name);
      g_test_add_data_func (path, data, c.func);
      g_free (path);
    }
  }
  return g_test_run ();
}
