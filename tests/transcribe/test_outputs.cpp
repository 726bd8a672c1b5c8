/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The output writers on transcripts the program could not have made from a
 * well-behaved element: a writer refuses a time it cannot print. */
#include <cstring>
#include <string>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "outputs.h"

GST_DEBUG_CATEGORY (gemini_transcribe_debug);

using namespace transcribe;

static Utterance
said (GstClockTime start, GstClockTime end, const char *text)
{
  Utterance u;
  u.start = start;
  u.end = end;
  u.text = text;
  u.speaker_id = "S1";
  u.voice = "1";
  return u;
}

static Transcript
two_cues ()
{
  Transcript t;
  t.input = "in.ogg";
  t.duration = 10 * GST_SECOND;
  t.speakers.push_back ({"S1", {"1", "Ada", "?", "?", "?"}, 1});
  t.cues.push_back ({1 * GST_SECOND, 2 * GST_SECOND, "Ada: One.", "Ada: One.", "S1", "Ada"});
  t.cues.push_back ({4 * GST_SECOND, 2 * GST_SECOND, "Two.", "Two.", "S1", "Ada"});
  t.utterances.push_back (said (1 * GST_SECOND, 3 * GST_SECOND, "One."));
  t.utterances.push_back (said (4 * GST_SECOND, GST_CLOCK_TIME_NONE, "Two."));
  return t;
}

static void
test_refuses_invalid_times ()
{
  gchar *dir = g_dir_make_tmp ("outputs-XXXXXX", nullptr);
  g_assert_nonnull (dir);
  const std::string base = std::string (dir) + "/out";

  Transcript good = two_cues ();
  g_assert_true (invalid_time (good).empty ());
  for (const char *ext : {".srt", ".vtt", ".json", ".md", ".html"}) {
    std::string error;
    const std::string path = base + ext;
    g_assert_true (write_text_output (path, *format_for_path (path), good, error));
    g_assert_true (g_file_test (path.c_str (), G_FILE_TEST_EXISTS));
    g_unlink (path.c_str ());
  }

  struct Bad {
    const char *what;
    void (*spoil) (Transcript &);
    const char *error;
  };
  const Bad bad[] = {
    {"cue without PTS", [] (Transcript &t) { t.cues[1].start = GST_CLOCK_TIME_NONE; },
     "cue 2 \"Two.\" has no valid time"},
    {"cue without duration", [] (Transcript &t) { t.cues[0].duration = GST_CLOCK_TIME_NONE; },
     "cue 1 \"Ada: One.\" has no valid time"},
    {"cue of no length", [] (Transcript &t) { t.cues[0].duration = 0; },
     "cue 1 \"Ada: One.\" has no valid time"},
    {"cue whose end overflows", [] (Transcript &t) { t.cues[1].start = G_MAXUINT64 - GST_SECOND; },
     "cue 2 \"Two.\" has no valid time"},
    {"row without start", [] (Transcript &t) { t.utterances[0].start = GST_CLOCK_TIME_NONE; },
     "row 1 \"One.\" has no valid start"},
  };
  for (const auto &b : bad) {
    Transcript t = two_cues ();
    b.spoil (t);
    g_test_message ("%s", b.what);
    const std::string invalid = invalid_time (t);
    g_assert_cmpstr (invalid.c_str (), ==, b.error);
    for (const char *ext : {".srt", ".vtt", ".json"}) {
      std::string error;
      const std::string path = base + ext;
      g_assert_false (write_text_output (path, *format_for_path (path), t, error));
      g_assert_cmpstr (error.c_str (), ==, b.error);
      g_assert_false (g_file_test (path.c_str (), G_FILE_TEST_EXISTS));
    }
  }
  g_rmdir (dir);
  g_free (dir);
}

/* The SRT, WebVTT and JSON of one transcript give the same milliseconds:
 * every writer rounds. */
static void
test_writers_round_alike ()
{
  Transcript t = two_cues ();
  t.cues[0].start = 999600 * GST_USECOND;                  /* 999.6 ms */
  t.cues[0].duration = 2 * GST_SECOND + 400 * GST_USECOND;  /* ends at 3000.0 ms */
  const std::string srt = render_srt (t);
  const std::string vtt = render_vtt (t);
  const std::string json = render_json (t);
  g_assert_nonnull (strstr (srt.c_str (), "00:00:01,000 --> 00:00:03,000"));
  g_assert_nonnull (strstr (vtt.c_str (), "00:00:01.000 --> 00:00:03.000"));
  g_assert_nonnull (strstr (json.c_str (), "\"start_ms\" : 1000"));
  g_assert_nonnull (strstr (json.c_str (), "\"end_ms\" : 3000"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  gst_init (&argc, &argv);
  GST_DEBUG_CATEGORY_INIT (gemini_transcribe_debug, "gemini-transcribe", 0, "test");
  g_test_add_func ("/outputs/refuse-invalid-times", test_refuses_invalid_times);
  g_test_add_func ("/outputs/writers-round-alike", test_writers_round_alike);
  return g_test_run ();
}
