/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cstring>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "bounds.h"
#include "transcript_parser.h"

using namespace gemini;

static const char *SAMPLE = R"({
  "task1_transcripts": [
    {"start": "00:01", "end": "00:04", "text": "Welcome to the show, I'm Alice.", "voice": 1},
    {"start": "00:05", "text": "Thanks, Alice. Happy to be here {really} \"quoted\".", "voice": 2},
    {"start": "00:09", "end": "00:12", "text": "Let's start with [laughs] the news.", "voice": 1},
    {"start": "00:13", "text": "Sure: caf\u00e9 \\ backslash.", "voice": 2}
  ],
  "task2_speakers": [
    {"voice": 1, "name": "Alice Martin", "company": "Acme", "position": "CTO", "role_in_video": "Host"},
    {"voice": 2, "name": "Bob Stone", "company": "?", "position": "?", "role_in_video": "Guest"}
  ]
})";

static ParseContext
ctx_30s ()
{
  ParseContext ctx;
  ctx.duration = 30 * GST_SECOND;
  return ctx;
}

static SegmentTranscript
parse_ok (const std::string &text, const ParseContext &ctx = ctx_30s ())
{
  auto r = parse_transcript (text, ctx);
  if (!r.ok ())
    g_error ("parse failed: %s", r.error ().message.c_str ());
  return std::move (r).value ();
}

static bool
has_repair (const SegmentTranscript &t, const char *needle)
{
  for (const auto &r : t.repairs) {
    if (r.find (needle) != std::string::npos)
      return true;
  }
  return false;
}

static void
test_clean_answer (void)
{
  auto t = parse_ok (SAMPLE);
  g_assert_cmpuint (t.utterances.size (), ==, 4);
  g_assert_cmpuint (t.utterances[0].start, ==, 1 * GST_SECOND);
  g_assert_cmpuint (t.utterances[0].end, ==, 4 * GST_SECOND);
  g_assert_cmpstr (t.utterances[0].text.c_str (), ==, "Welcome to the show, I'm Alice.");
  g_assert_cmpstr (t.utterances[0].voice.c_str (), ==, "1");
  g_assert_cmpuint (t.utterances[1].end, ==, GST_CLOCK_TIME_NONE);
  g_assert_cmpstr (t.utterances[1].text.c_str (), ==,
      "Thanks, Alice. Happy to be here {really} \"quoted\".");
  g_assert_cmpstr (t.utterances[3].text.c_str (), ==, "Sure: caf\u00e9 \\ backslash.");
  g_assert_cmpuint (t.speakers.size (), ==, 2);
  g_assert_cmpstr (t.speakers[0].name.c_str (), ==, "Alice Martin");
  g_assert_cmpstr (t.speakers[1].company.c_str (), ==, "?");
  g_assert_false (t.truncated);
  g_assert_cmpuint (t.repairs.size (), ==, 0);
}

static void
test_fences_and_prose (void)
{
  std::string text = std::string ("Here is the transcript [as JSON]:\n```json\n") + SAMPLE
      + "\n```\nLet me know if you need more.";
  auto t = parse_ok (text);
  g_assert_cmpuint (t.utterances.size (), ==, 4);
  g_assert_cmpuint (t.speakers.size (), ==, 2);
  g_assert_false (t.truncated);
}

static void
test_top_level_array_and_key_cases (void)
{
  auto t = parse_ok (R"([{"Start": "00:02", "TEXT": "Hi.", "Voice": "Speaker 2"},
      {"start": "00:03", "text": "Hello.", "voice": "03"},
      {"start": "00:04", "text": "Hey.", "voice": 4.0}])");
  g_assert_cmpuint (t.utterances.size (), ==, 3);
  g_assert_cmpstr (t.utterances[0].voice.c_str (), ==, "2");
  g_assert_cmpuint (t.utterances[0].start, ==, 2 * GST_SECOND);
  g_assert_cmpstr (t.utterances[1].voice.c_str (), ==, "3");
  g_assert_cmpstr (t.utterances[2].voice.c_str (), ==, "4");
  /* No speakers table: one unknown speaker per voice. */
  g_assert_cmpuint (t.speakers.size (), ==, 3);
  g_assert_cmpstr (t.speakers[0].name.c_str (), ==, "?");

  auto u = parse_ok (R"({"Task1_Transcripts": [{"start": "00:01", "text": "A", "voice": 1}],
      "TASK2_SPEAKERS": [{"VOICE": "1", "Name": "Ann", "Role_In_Video": "Host"}]})");
  g_assert_cmpuint (u.utterances.size (), ==, 1);
  g_assert_cmpstr (u.speakers[0].name.c_str (), ==, "Ann");
  g_assert_cmpstr (u.speakers[0].role_in_video.c_str (), ==, "Host");
  g_assert_cmpstr (u.speakers[0].company.c_str (), ==, "?");
}

static void
test_numeric_seconds (void)
{
  auto t = parse_ok (R"({"task1_transcripts": [{"start": 2, "end": 3.5, "text": "A", "voice": 1}],
      "task2_speakers": []})");
  g_assert_cmpuint (t.utterances[0].start, ==, 2 * GST_SECOND);
  g_assert_cmpuint (t.utterances[0].end, ==, 3500 * GST_MSECOND);
}

static void
test_invalid_utf8 (void)
{
  std::string text = R"({"task1_transcripts": [{"start": "00:01", "text": "caf)";
  text += "\xc3\x28 ok\xff";
  text += R"(", "voice": 1}], "task2_speakers": []})";
  auto t = parse_ok (text);
  g_assert_cmpuint (t.utterances.size (), ==, 1);
  g_assert_true (g_utf8_validate (t.utterances[0].text.c_str (), -1, nullptr));
  g_assert_true (g_str_has_prefix (t.utterances[0].text.c_str (), "caf"));
  g_assert_true (g_str_has_suffix (t.utterances[0].text.c_str (), " ok\xef\xbf\xbd"));
  g_assert_true (has_repair (t, "UTF-8"));
}

static void
test_control_characters (void)
{
  std::string text = "{\"task1_transcripts\": [{\"start\": \"00:01\", \"text\": \"line one\nline\ttwo\x01\", "
      "\"voice\": 1}],\x02 \"task2_speakers\": []}";
  auto t = parse_ok (text);
  g_assert_cmpuint (t.utterances.size (), ==, 1);
  g_assert_cmpstr (t.utterances[0].text.c_str (), ==, "line one line two");
  g_assert_true (has_repair (t, "control"));
}

/* The rest of a cut answer: rows from the cut on are appended, voices kept
 * apart from the head's (the two answers number voices independently). */
static void
test_merge_tail (void)
{
  std::string full = SAMPLE;
  auto head = parse_ok (full.substr (0, full.find ("Let's start")));
  g_assert_true (head.truncated);
  g_assert_cmpuint (head.utterances.size (), ==, 2);
  g_assert_cmpuint (head.covered_until, ==, 5 * GST_SECOND);

  /* The rest repeats the head's last row (it had no end, so the rest was
   * asked from its start), then the cut one, and numbers Alice 2. */
  auto tail = parse_ok (R"({"task1_transcripts": [
      {"start": "00:05", "text": "Thanks, Alice. Happy to be here {really} \"quoted\".", "voice": 1},
      {"start": "00:09", "end": "00:12", "text": "Let's start.", "voice": 2}],
    "task2_speakers": [{"voice": 2, "name": "Alice Martin", "company": "?",
      "position": "?", "role_in_video": "?"}]})");
  merge_tail (head, std::move (tail));
  g_assert_cmpuint (head.utterances.size (), ==, 3);
  g_assert_cmpstr (head.utterances[2].text.c_str (), ==, "Let's start.");
  g_assert_cmpstr (head.utterances[2].voice.c_str (), ==, "t2");
  g_assert_cmpuint (head.utterances[2].start, ==, 9 * GST_SECOND);
  g_assert_false (head.truncated);
  bool alice_in_tail = false;
  for (const auto &sp : head.speakers)
    alice_in_tail = alice_in_tail || (sp.voice == "t2" && sp.name == "Alice Martin");
  g_assert_true (alice_in_tail);
  g_assert_true (has_repair (head, "asked again"));
}

/* A lone surrogate escape is valid JSON that decodes to invalid UTF-8; on
 * the full and on the cut-answer path the text must come out valid. */
static void
test_lone_surrogate_escapes (void)
{
  const std::string row = "{\"start\": \"00:01\", \"text\": \"caf\\udce9 ok\", \"voice\": 1}";
  const std::string full = "{\"task1_transcripts\": [" + row + "], \"task2_speakers\": "
      "[{\"voice\": 1, \"name\": \"Al\\ud800\", \"company\": \"?\", \"position\": \"?\", "
      "\"role_in_video\": \"?\"}]}";
  for (const std::string &text : {full, full.substr (0, full.find ("\"task2"))}) {
    auto t = parse_ok (text);
    g_assert_cmpuint (t.utterances.size (), ==, 1);
    g_assert_true (g_utf8_validate (t.utterances[0].text.c_str (), -1, nullptr));
    for (const auto &sp : t.speakers)
      g_assert_true (g_utf8_validate (sp.name.c_str (), -1, nullptr));
  }
}

/* Cut the sample at every byte: the complete rows before the cut are kept,
 * in order, and nothing else. */
static void
test_language (void)
{
  std::string with_language = std::string ("{\"language\": \"EN-us\",") + (SAMPLE + 1);
  g_assert_true (parse_ok (with_language).language == "en");
  /* The language comes first: a cut answer still tells it. */
  std::string cut = with_language.substr (0, with_language.find ("Thanks"));
  auto truncated = parse_ok (cut);
  g_assert_true (truncated.truncated);
  g_assert_cmpstr (truncated.language.c_str (), ==, "en");
  /* Not a code: ignored, never guessed. */
  std::string name = std::string ("{\"language\": \"English\",") + (SAMPLE + 1);
  g_assert_true (parse_ok (name).language.empty ());
  g_assert_true (parse_ok (SAMPLE).language.empty ());
}

static void
test_salvage_at_every_offset (void)
{
  const std::string full = SAMPLE;
  const gsize task1 = full.find ('[');
  const gsize task2_key = full.find ("\"task2_speakers\"");
  std::vector<gsize> row_ends, speaker_ends;
  for (gsize i = full.find ('{', task1); i < task2_key; i = full.find ('{', i + 1)) {
    /* Rows are one per line in the sample. */
    row_ends.push_back (full.find ("},", i) != std::string::npos
        && full.find ("},", i) < full.find ('\n', i) ? full.find ("},", i) + 1
        : full.find ("}\n", i) + 1);
    i = row_ends.back ();
  }
  g_assert_cmpuint (row_ends.size (), ==, 4);
  for (gsize i = full.find ('{', task2_key); i != std::string::npos && i < full.size () - 2;
       i = full.find ('{', i + 1)) {
    speaker_ends.push_back (full.find ('}', i) + 1);
    i = speaker_ends.back ();
  }
  g_assert_cmpuint (speaker_ends.size (), ==, 2);

  for (gsize cut = 0; cut < full.size (); cut++) {
    std::string text = full.substr (0, cut);
    auto r = parse_transcript (text, ctx_30s ());
    if (cut <= task1) {
      g_assert_false (r.ok ());
      g_assert_true (r.error ().kind == Error::Kind::Protocol);
      continue;
    }
    if (!r.ok ())
      g_error ("cut at %" G_GSIZE_FORMAT " failed: %s", cut, r.error ().message.c_str ());
    const auto &t = r.value ();
    gsize rows = 0;
    for (gsize e : row_ends)
      rows += e <= cut;
    gsize speakers = 0;
    for (gsize e : speaker_ends)
      speakers += e <= cut;
    g_assert_cmpuint (t.utterances.size (), ==, rows);
    g_assert_true (t.truncated);
    if (rows > 0) {
      const auto &last = t.utterances.back ();
      GstClockTime expect = GST_CLOCK_TIME_IS_VALID (last.end) ? last.end : last.start;
      g_assert_cmpuint (t.covered_until, ==, expect);
      g_assert_cmpstr (t.utterances[0].text.c_str (), ==, "Welcome to the show, I'm Alice.");
    }
    /* Heard voices always have a row; named ones only once complete. */
    gsize named = 0;
    for (const auto &s : t.speakers)
      named += s.identified ();
    g_assert_cmpuint (named, ==, speakers);
  }
}

static void
test_truncated_flag_on_complete_json (void)
{
  ParseContext ctx = ctx_30s ();
  ctx.truncated = true;
  auto t = parse_ok (SAMPLE, ctx);
  g_assert_true (t.truncated);
  g_assert_cmpuint (t.covered_until, ==, 13 * GST_SECOND);
}

static std::string
rows_json (const std::vector<std::pair<std::string, std::string>> &rows,
    const char *extra = "")
{
  std::string s = "{\"task1_transcripts\": [";
  for (gsize i = 0; i < rows.size (); i++) {
    if (i)
      s += ",";
    s += "{\"start\": \"" + rows[i].first + "\", \"text\": \"" + rows[i].second
        + "\", \"voice\": 1" + extra + "}";
  }
  return s + "], \"task2_speakers\": []}";
}

static void
test_clamps_beyond_end_and_negative (void)
{
  auto t = parse_ok (rows_json ({{"-00:03", "a"}, {"00:10", "b"}, {"07:12", "c"}}));
  g_assert_cmpuint (t.utterances[0].start, ==, 0);
  g_assert_cmpuint (t.utterances[1].start, ==, 10 * GST_SECOND);
  g_assert_cmpuint (t.utterances[2].start, ==, 30 * GST_SECOND);
  g_assert_true (has_repair (t, "negative"));
  g_assert_true (has_repair (t, "07:12 beyond segment end"));
}

static void
test_forces_monotonic (void)
{
  auto t = parse_ok (rows_json ({{"00:10", "a"}, {"00:05", "b"}, {"00:12", "c"}}));
  g_assert_cmpuint (t.utterances[1].start, ==, 10 * GST_SECOND);
  g_assert_cmpuint (t.utterances[2].start, ==, 12 * GST_SECOND);
  g_assert_true (has_repair (t, "before the previous row"));
}

static void
test_spreads_all_zero (void)
{
  /* Text lengths 10, 20, 30: starts at 0, 1/6 and 1/2 of the duration. */
  auto t = parse_ok (rows_json ({{"00:00", std::string (10, 'a')},
      {"00:00", std::string (20, 'b')}, {"00:00", std::string (30, 'c')}}));
  g_assert_cmpuint (t.utterances[0].start, ==, 0);
  g_assert_cmpuint (t.utterances[1].start, ==, 5 * GST_SECOND);
  g_assert_cmpuint (t.utterances[2].start, ==, 15 * GST_SECOND);
  g_assert_true (has_repair (t, "spread"));

  /* One row at 00:00 is just a row at the start. */
  auto one = parse_ok (rows_json ({{"00:00", "solo"}}));
  g_assert_cmpuint (one.utterances[0].start, ==, 0);
  g_assert_false (has_repair (one, "spread"));
}

static void
test_interpolates_unparseable (void)
{
  auto t = parse_ok (rows_json ({{"00:04", "a"}, {"soon", "b"}, {"", "c"}, {"00:10", "d"}}));
  g_assert_cmpuint (t.utterances[1].start, ==, 6 * GST_SECOND);
  g_assert_cmpuint (t.utterances[2].start, ==, 8 * GST_SECOND);
  g_assert_true (has_repair (t, "\"soon\" unreadable"));

  auto tail = parse_ok (rows_json ({{"00:20", "a"}, {"x", "b"}}));
  g_assert_cmpuint (tail.utterances[1].start, ==, 25 * GST_SECOND);
}

static void
test_converts_stream_times (void)
{
  ParseContext ctx;
  ctx.duration = 30 * GST_SECOND;
  ctx.clip_offset = 90 * GST_SECOND;
  auto t = parse_ok (rows_json ({{"01:30", "a"}, {"01:45", "b"}, {"1:59", "c"}}), ctx);
  g_assert_cmpuint (t.utterances[0].start, ==, 0);
  g_assert_cmpuint (t.utterances[1].start, ==, 15 * GST_SECOND);
  g_assert_cmpuint (t.utterances[2].start, ==, 29 * GST_SECOND);
  g_assert_true (has_repair (t, "relative to the stream"));

  /* Clip-relative answers are left alone even with an offset. */
  auto r = parse_ok (rows_json ({{"00:01", "a"}, {"00:29", "b"}}), ctx);
  g_assert_cmpuint (r.utterances[1].start, ==, 29 * GST_SECOND);
  g_assert_false (has_repair (r, "relative to the stream"));
}

/* The speakers table's evidence: one per field the row names, words cut
 * to a line, times as the rows' (moved back with them when the answer
 * used the stream's times), nothing for a field not found. */
static void
test_evidence (void)
{
  const std::string long_text (500, 'x');
  const std::string answer = R"({"task1_transcripts": [
      {"start": "01:31", "end": "01:34", "text": "Hello.", "voice": 1},
      {"start": "01:50", "end": "01:55", "text": "Hi.", "voice": 2}],
    "task2_speakers": [
      {"voice": 1, "name": "Ana Ruiz", "company": "Acme", "position": "?",
       "role_in_video": "host", "evidence": [
         {"field": "name", "time": "01:32", "source": "shown", "text": "ANA RUIZ - Acme"},
         {"field": "NAME", "time": "01:40", "source": "said", "text": "a second one"},
         {"field": "company", "time": "01:33", "source": "Said", "text": ")" + long_text + R"("},
         {"field": "position", "time": "01:33", "source": "said", "text": "for a ?"},
         {"field": "shoe size", "time": "01:33", "source": "said", "text": "42"},
         {"field": "role", "source": "guess", "text": "she opens the show"},
         "not an object"]},
      {"voice": 2, "name": "?", "company": "?", "position": "?", "role_in_video": "?",
       "evidence": {"field": "name"}}]})";
  ParseContext ctx;
  ctx.duration = 30 * GST_SECOND;
  ctx.clip_offset = 90 * GST_SECOND;
  auto t = parse_ok (answer, ctx);
  g_assert_true (has_repair (t, "relative to the stream"));
  g_assert_cmpuint (t.speakers.size (), ==, 2);
  const auto &ev = t.speakers[0].evidence;
  g_assert_cmpuint (ev.size (), ==, 3);
  g_assert_cmpstr (ev[0].field.c_str (), ==, "name");
  g_assert_cmpuint (ev[0].time, ==, 2 * GST_SECOND);
  g_assert_cmpstr (ev[0].source.c_str (), ==, "shown");
  g_assert_cmpstr (ev[0].text.c_str (), ==, "ANA RUIZ - Acme");
  g_assert_cmpstr (ev[1].field.c_str (), ==, "company");
  g_assert_cmpstr (ev[1].source.c_str (), ==, "said");
  g_assert_cmpint (g_utf8_strlen (ev[1].text.c_str (), -1), ==, 200);
  g_assert_cmpstr (ev[2].field.c_str (), ==, "role_in_video");
  g_assert_false (GST_CLOCK_TIME_IS_VALID (ev[2].time));
  g_assert_cmpstr (ev[2].source.c_str (), ==, "?");
  g_assert_true (t.speakers[1].evidence.empty ());
}

static void
test_fixes_ends (void)
{
  auto t = parse_ok (R"({"task1_transcripts": [
      {"start": "00:05", "end": "00:03", "text": "a", "voice": 1},
      {"start": "00:10", "end": "00:45", "text": "b", "voice": 1},
      {"start": "00:12", "end": "nope", "text": "c", "voice": 1}],
      "task2_speakers": []})");
  g_assert_cmpuint (t.utterances[0].end, ==, GST_CLOCK_TIME_NONE);
  g_assert_cmpuint (t.utterances[1].end, ==, 30 * GST_SECOND);
  g_assert_cmpuint (t.utterances[2].end, ==, GST_CLOCK_TIME_NONE);
  g_assert_true (has_repair (t, "not after start"));
  g_assert_true (has_repair (t, "beyond segment end"));

  /* a sentence the cut interrupts: clamped as routine, no repair note */
  auto cut = parse_ok (R"({"task1_transcripts": [
      {"start": "00:27", "end": "00:33", "text": "a", "voice": 1}],
      "task2_speakers": []})");
  g_assert_cmpuint (cut.utterances[0].end, ==, 30 * GST_SECOND);
  g_assert_false (has_repair (cut, "beyond segment end"));
}

static void
test_drops_repeated_rows (void)
{
  std::vector<std::pair<std::string, std::string>> rows = {{"00:01", "Hello."}};
  for (int i = 0; i < 10; i++)
    rows.push_back ({"00:02", "Thank you."});
  rows.push_back ({"00:03", "Bye."});
  auto t = parse_ok (rows_json (rows));
  g_assert_cmpuint (t.utterances.size (), ==, 3);
  g_assert_cmpstr (t.utterances[1].text.c_str (), ==, "Thank you.");
  g_assert_cmpstr (t.utterances[2].text.c_str (), ==, "Bye.");
  g_assert_true (has_repair (t, "repetition loop"));

  /* Three times is speech, not a loop. */
  auto three = parse_ok (rows_json ({{"00:01", "Yes."}, {"00:02", "Yes."}, {"00:03", "yes"}}));
  g_assert_cmpuint (three.utterances.size (), ==, 3);
  g_assert_false (has_repair (three, "loop"));
}

static void
test_drops_looping_tail (void)
{
  std::vector<std::pair<std::string, std::string>> rows = {{"00:01", "Intro."}};
  for (int i = 0; i < 6; i++) {
    rows.push_back ({"00:05", "Go left."});
    rows.push_back ({"00:06", "Go right."});
  }
  auto t = parse_ok (rows_json (rows));
  g_assert_cmpuint (t.utterances.size (), ==, 3);
  g_assert_cmpstr (t.utterances[1].text.c_str (), ==, "Go left.");
  g_assert_cmpstr (t.utterances[2].text.c_str (), ==, "Go right.");
}

static void
test_collapses_phrase_loop_in_text (void)
{
  std::string looped = "So I said";
  for (int i = 0; i < 20; i++)
    looped += " thank you very much,";
  looped += " thank you";
  auto t = parse_ok (rows_json ({{"00:01", looped}}));
  g_assert_cmpstr (t.utterances[0].text.c_str (), ==, "So I said thank you very much,");
  g_assert_true (has_repair (t, "repeated phrase"));

  auto words = parse_ok (rows_json ({{"00:01", "no no no no"}}));
  g_assert_cmpstr (words.utterances[0].text.c_str (), ==, "no no no no");

  std::string many = "la";
  for (int i = 0; i < 30; i++)
    many += " la";
  auto la = parse_ok (rows_json ({{"00:01", many}}));
  g_assert_cmpstr (la.utterances[0].text.c_str (), ==, "la");
}

static void
test_drops_empty_rows (void)
{
  auto t = parse_ok (rows_json ({{"00:01", "a"}, {"00:02", "   "}, {"00:03", "c"}}));
  g_assert_cmpuint (t.utterances.size (), ==, 2);
  g_assert_true (has_repair (t, "without text"));
}

static void
test_voices_and_speaker_rows (void)
{
  auto t = parse_ok (R"({"task1_transcripts": [
      {"start": "00:01", "text": "a", "voice": "Speaker 1"},
      {"start": "00:02", "text": "b", "voice": 3}],
      "task2_speakers": [
      {"voice": 1, "name": "Ann", "company": "?", "position": "?", "role_in_video": "?"},
      {"voice": "1", "name": "Ann B", "company": "Acme", "position": "", "role_in_video": "Host"},
      {"voice": 2, "name": "Zoe", "company": "?", "position": "?", "role_in_video": "On screen"}]})");
  g_assert_cmpuint (t.speakers.size (), ==, 3);
  g_assert_cmpstr (t.speakers[0].voice.c_str (), ==, "1");
  g_assert_cmpstr (t.speakers[0].name.c_str (), ==, "Ann");
  g_assert_cmpstr (t.speakers[0].company.c_str (), ==, "Acme");
  g_assert_cmpstr (t.speakers[0].position.c_str (), ==, "?");
  g_assert_cmpstr (t.speakers[0].role_in_video.c_str (), ==, "Host");
  /* Voice 2 is never heard but stays: it may be a name on screen. */
  g_assert_cmpstr (t.speakers[1].name.c_str (), ==, "Zoe");
  g_assert_cmpstr (t.speakers[2].voice.c_str (), ==, "3");
  g_assert_cmpstr (t.speakers[2].name.c_str (), ==, "?");
  g_assert_true (has_repair (t, "voice 3 missing"));
}

static void
test_empty_and_invalid (void)
{
  auto empty = parse_ok (R"({"task1_transcripts": [], "task2_speakers": []})");
  g_assert_cmpuint (empty.utterances.size (), ==, 0);
  g_assert_false (empty.truncated);

  for (const char *bad : {"", "   ", "I cannot help with that.", "{\"answer\": 42}",
           "[Music] playing", "{\"task"}) {
    auto r = parse_transcript (bad, ctx_30s ());
    if (r.ok ())
      g_error ("\"%s\" was accepted", bad);
    g_assert_true (r.error ().kind == Error::Kind::Protocol);
  }
}

static void
test_big_inputs_bounded (void)
{
  const gsize TEN_MB = 10 * 1024 * 1024;

  std::string big = "{\"task1_transcripts\": [";
  for (guint i = 0; big.size () < TEN_MB; i++) {
    big += "{\"start\": \"" + std::to_string (i / 60 % 60) + ":" + std::to_string (10 + i % 50)
        + "\", \"text\": \"Sentence number " + std::to_string (i)
        + " of a very long answer.\", \"voice\": " + std::to_string (i % 7 + 1) + "},";
  }
  std::string complete = big;
  complete.back () = ']';
  complete += ", \"task2_speakers\": []}";

  ParseContext ctx;
  ctx.duration = 3600 * GST_SECOND;

  gint64 t0 = g_get_monotonic_time ();
  auto full = parse_transcript (complete, ctx);
  g_assert_true (full.ok ());
  g_assert_cmpuint (full->utterances.size (), ==, 60 * limits::ROWS_PER_MINUTE);

  auto cut = parse_transcript (std::string_view (big).substr (0, big.size () - 20), ctx);
  g_assert_true (cut.ok ());
  g_assert_true (cut->truncated);
  g_assert_cmpuint (cut->utterances.size (), ==, 60 * limits::ROWS_PER_MINUTE);

  std::string loop = "{\"task1_transcripts\": [{\"start\": \"00:01\", \"text\": \"";
  while (loop.size () < TEN_MB)
    loop += "and then we went home ";
  loop += "\", \"voice\": 1}], \"task2_speakers\": []}";
  auto l = parse_transcript (loop, ctx);
  g_assert_true (l.ok ());
  g_assert_cmpstr (l->utterances[0].text.c_str (), ==, "and then we went home");

  std::string deep (TEN_MB, '[');
  g_assert_false (parse_transcript (deep, ctx).ok ());
  std::string braces (TEN_MB, '{');
  g_assert_false (parse_transcript (braces, ctx).ok ());

  gint64 elapsed = g_get_monotonic_time () - t0;
  g_test_message ("10 MB inputs parsed in %" G_GINT64_FORMAT " ms", elapsed / 1000);
  g_assert_cmpint (elapsed, <, 30 * G_USEC_PER_SEC);
}

/* Feeds `text` in pieces of `step` bytes; returns every row released, and
 * after which piece (by end offset) each one came out. */
static std::vector<std::pair<Utterance, gsize>>
stream_in_pieces (const std::string &text, gsize step, TranscriptStream &stream)
{
  std::vector<std::pair<Utterance, gsize>> rows;
  for (gsize at = 0; at < text.size (); at += step) {
    for (auto &u : stream.push (std::string_view (text).substr (at, step)))
      rows.emplace_back (std::move (u), std::min (at + step, text.size ()));
  }
  return rows;
}

static void
test_stream_releases_rows_as_they_complete ()
{
  const std::string text = std::string ("{\"language\":\"en\",") + (strchr (SAMPLE, '{') + 1);
  const SegmentTranscript whole = parse_ok (text);
  for (gsize step : {1, 7, 64, 4096}) {
    TranscriptStream stream (ctx_30s ());
    auto rows = stream_in_pieces (text, step, stream);
    g_assert_cmpuint (rows.size (), ==, whole.utterances.size ());
    g_assert_true (stream.table_closed ());
    g_assert_cmpuint (stream.released (), ==, 4);
    for (gsize i = 0; i < rows.size (); i++) {
      g_assert_cmpstr (rows[i].first.text.c_str (), ==, whole.utterances[i].text.c_str ());
      g_assert_cmpuint (rows[i].first.start, ==, whole.utterances[i].start);
      g_assert_cmpuint (rows[i].first.end, ==, whole.utterances[i].end);
      g_assert_cmpstr (rows[i].first.voice.c_str (), ==, whole.utterances[i].voice.c_str ());
    }
    g_assert_true (stream.text () == text);
    if (step == 1) {
      /* Row k is final once row k + 1 is complete; the last one once the
       * table closes, before any speaker is read. */
      const gsize row2_end = text.find ("\"voice\": 2},") + 11;
      g_assert_cmpuint (rows[0].second, ==, row2_end);
      const gsize table_end = text.find ("\n  ]") + 4;
      g_assert_cmpuint (rows[3].second, ==, table_end);
      g_assert_cmpuint (table_end, <, text.find ("Alice Martin"));
    }
  }
}

static void
test_stream_ignores_brackets_in_strings_and_other_keys ()
{
  TranscriptStream stream (ctx_30s ());
  /* A "]" or "}" in text and in a non-table key is not the end of a row. */
  auto rows = stream.push (R"({"notes": ["a]", {"b": "}"}], "transcripts": [)"
      R"({"start": "00:01", "text": "one } ] \" two", "voice": 1},)");
  g_assert_true (rows.empty ());
  g_assert_false (stream.table_closed ());
  rows = stream.push (R"({"start": "00:03", "text": "three", "voice": 1})");
  g_assert_cmpuint (rows.size (), ==, 1);
  g_assert_cmpstr (rows[0].text.c_str (), ==, "one } ] \" two");
  rows = stream.push ("]");
  g_assert_cmpuint (rows.size (), ==, 1);
  g_assert_cmpstr (rows[0].text.c_str (), ==, "three");
  g_assert_true (stream.table_closed ());
  /* Nothing more comes out of the speakers table. */
  rows = stream.push (R"(, "speakers": [{"voice": 1, "name": "A"}]})");
  g_assert_true (rows.empty ());
  g_assert_cmpuint (stream.released (), ==, 2);
}

static void
test_stream_applies_repairs_and_bare_arrays ()
{
  TranscriptStream stream (ctx_30s ());
  std::vector<Utterance> rows;
  for (const char *piece : {"[{\"start\": \"00:10\", \"text\": \"a\", \"voice\": 1},",
           "{\"start\": \"00:20\", \"text\": \"b\", \"voice\": 1},",
           "{\"start\": \"00:07\", \"text\": \"c\", \"voice\": 1},",
           "{\"start\": \"07:00\", \"text\": \"d\", \"voice\": 2}]"}) {
    for (auto &u : stream.push (piece))
      rows.push_back (std::move (u));
  }
  g_assert_cmpuint (rows.size (), ==, 4);
  g_assert_cmpuint (rows[0].start, ==, 10 * GST_SECOND);
  g_assert_cmpuint (rows[1].start, ==, 20 * GST_SECOND);
  /* Decreasing: raised to the previous row; beyond the clip: clamped, as
   * parse_transcript does. */
  g_assert_cmpuint (rows[2].start, ==, 20 * GST_SECOND);
  g_assert_cmpuint (rows[3].start, ==, 30 * GST_SECOND);
  g_assert_true (stream.table_closed ());
}

static void
test_stream_cut_answer_keeps_complete_rows ()
{
  TranscriptStream stream (ctx_30s ());
  auto rows = stream.push (R"({"language": "fr", "task1_transcripts": [)"
      R"({"start": "00:01", "text": "un", "voice": 1}, {"start": "00:02", "text": "de)");
  g_assert_true (rows.empty ());
  /* The stream stopped there (MAX_TOKENS): the last complete row is read
   * from the whole text, as for any answer. */
  ParseContext ctx = ctx_30s ();
  ctx.truncated = true;
  const SegmentTranscript whole = parse_ok (stream.text (), ctx);
  g_assert_cmpuint (whole.utterances.size (), ==, 1);
  g_assert_cmpstr (whole.language.c_str (), ==, "fr");
}

/* `rows` rows a second apart (wrapping at an hour), with `voices` voices,
 * and a speakers table of `speakers` rows. */
static std::string
answer_with (gsize rows, gsize voices, gsize speakers)
{
  std::string a = "{\"task1_transcripts\": [";
  for (gsize i = 0; i < rows; i++) {
    gchar *row = g_strdup_printf ("%s{\"start\": \"%02u:%02u\", \"text\": \"Row %"
        G_GSIZE_FORMAT ".\", \"voice\": %" G_GSIZE_FORMAT "}", i ? "," : "",
        (guint) (i / 60 % 60), (guint) (i % 60), i, i % voices + 1);
    a += row;
    g_free (row);
  }
  a += "], \"task2_speakers\": [";
  for (gsize i = 0; i < speakers; i++) {
    a += (i ? "," : "") + std::string ("{\"voice\": ") + std::to_string (i + 1)
        + ", \"name\": \"Person " + std::to_string (i + 1) + "\"}";
  }
  return a + "]}";
}

static void
test_rows_in_proportion_to_clip ()
{
  ParseContext eleven;
  eleven.duration = 11 * GST_SECOND;
  SegmentTranscript t = parse_ok (answer_with (1000, 1, 1), eleven);
  g_assert_cmpuint (t.utterances.size (), ==, limits::ROWS_FLOOR);
  g_assert_true (has_repair (t, "1000 rows, more than anyone says in 00:11"));
  g_assert_true (has_repair (t, "the 936 after row 64 dropped"));
  g_assert_false (t.truncated);

  ParseContext minute;
  minute.duration = 60 * GST_SECOND;
  t = parse_ok (answer_with (1000, 1, 1), minute);
  g_assert_cmpuint (t.utterances.size (), ==, limits::ROWS_PER_MINUTE);

  /* Within the bound nothing is dropped. */
  t = parse_ok (answer_with (limits::ROWS_PER_MINUTE, 1, 1), minute);
  g_assert_cmpuint (t.utterances.size (), ==, limits::ROWS_PER_MINUTE);
  g_assert_false (has_repair (t, "rows, more than"));

  /* Unknown duration: the longest clip a request takes. */
  t = parse_ok (answer_with (1000, 1, 1), ParseContext{});
  g_assert_cmpuint (t.utterances.size (), ==, 1000);
}

static void
test_speakers_in_proportion_to_clip ()
{
  ParseContext eleven;
  eleven.duration = 11 * GST_SECOND;
  const gint64 t0 = g_get_monotonic_time ();
  SegmentTranscript t = parse_ok (answer_with (10, 10, 100000), eleven);
  g_test_message ("100000 speakers read in %" G_GINT64_FORMAT " ms",
      (g_get_monotonic_time () - t0) / 1000);
  g_assert_cmpuint (t.speakers.size (), ==, limits::SPEAKERS_FLOOR);
  g_assert_true (has_repair (t, "100000 speakers, more than 32 for the clip"));
  ParseContext minute;
  minute.duration = 60 * GST_SECOND;
  t = parse_ok (answer_with (200, 60, 60), minute);
  g_assert_cmpuint (t.speakers.size (), ==, limits::SPEAKERS_PER_MINUTE);
  g_assert_false (has_repair (t, "speakers, more than"));
}

/* `text` pushed into `stream` in pieces of `piece` bytes: every row released. */
static std::vector<Utterance>
stream_in_pieces (TranscriptStream &stream, const std::string &text, gsize piece)
{
  std::vector<Utterance> rows;
  for (gsize at = 0; at < text.size (); at += piece)
    for (auto &u : stream.push (std::string_view (text).substr (at, piece)))
      rows.push_back (std::move (u));
  return rows;
}

/* A million rows streamed for an 11-second clip: the bound's rows come out,
 * and the stream stops reading rows once it has them. */
static void
test_stream_bounds_rows ()
{
  ParseContext eleven;
  eleven.duration = 11 * GST_SECOND;
  const std::string text = answer_with (1000000, 3, 3);
  TranscriptStream stream (eleven);
  const gint64 t0 = g_get_monotonic_time ();
  const auto rows = stream_in_pieces (stream, text, 512);
  g_test_message ("%" G_GSIZE_FORMAT " MB streamed in %" G_GINT64_FORMAT " ms",
      text.size () >> 20, (g_get_monotonic_time () - t0) / 1000);
  g_assert_cmpuint (rows.size (), ==, limits::ROWS_FLOOR);
  g_assert_cmpuint (stream.released (), ==, limits::ROWS_FLOOR);
}

/* A long answer within the bounds streams every row, each once. */
static void
test_stream_long_answer ()
{
  ParseContext hour;
  hour.duration = 3600 * GST_SECOND;
  const std::string text = answer_with (3000, 4, 4);
  TranscriptStream stream (hour);
  const auto rows = stream_in_pieces (stream, text, 40);
  g_assert_cmpuint (rows.size (), ==, 3000);
  for (gsize i = 0; i < rows.size (); i++) {
    const std::string expected = "Row " + std::to_string (i) + ".";
    g_assert_cmpstr (rows[i].text.c_str (), ==, expected.c_str ());
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  gst_init (&argc, &argv);
  g_test_add_func ("/parser/language-code-even-when-cut", test_language);
  g_test_add_func ("/parser/merge-tail-appends-the-rest", test_merge_tail);
  g_test_add_func ("/parser/lone-surrogate-escapes-give-valid-utf8", test_lone_surrogate_escapes);
  g_test_add_func ("/parser/reads-clean-answer", test_clean_answer);
  g_test_add_func ("/parser/skips-fences-and-prose", test_fences_and_prose);
  g_test_add_func ("/parser/accepts-bare-array-and-key-cases", test_top_level_array_and_key_cases);
  g_test_add_func ("/parser/reads-numeric-seconds", test_numeric_seconds);
  g_test_add_func ("/parser/repairs-invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/parser/tolerates-control-characters", test_control_characters);
  g_test_add_func ("/parser/salvages-complete-rows-at-every-cut", test_salvage_at_every_offset);
  g_test_add_func ("/parser/keeps-truncated-flag-of-max-tokens", test_truncated_flag_on_complete_json);
  g_test_add_func ("/parser/clamps-beyond-end-and-negative", test_clamps_beyond_end_and_negative);
  g_test_add_func ("/parser/forces-monotonic-starts", test_forces_monotonic);
  g_test_add_func ("/parser/spreads-all-zero-by-text-length", test_spreads_all_zero);
  g_test_add_func ("/parser/interpolates-unreadable-timecodes", test_interpolates_unparseable);
  g_test_add_func ("/parser/converts-stream-relative-times", test_converts_stream_times);
  g_test_add_func ("/parser/fixes-bad-ends", test_fixes_ends);
  g_test_add_func ("/parser/drops-repeated-rows", test_drops_repeated_rows);
  g_test_add_func ("/parser/drops-looping-tail", test_drops_looping_tail);
  g_test_add_func ("/parser/collapses-phrase-loop-in-text", test_collapses_phrase_loop_in_text);
  g_test_add_func ("/parser/drops-empty-rows", test_drops_empty_rows);
  g_test_add_func ("/parser/normalizes-voices-and-merges-speakers", test_voices_and_speaker_rows);
  g_test_add_func ("/parser/errors-only-when-nothing-usable", test_empty_and_invalid);
  g_test_add_func ("/parser/bounds-work-on-10mb", test_big_inputs_bounded);
  g_test_add_func ("/parser/rows-in-proportion-to-clip", test_rows_in_proportion_to_clip);
  g_test_add_func ("/parser/speakers-in-proportion-to-clip",
      test_speakers_in_proportion_to_clip);
  g_test_add_func ("/parser/stream/bounds-rows", test_stream_bounds_rows);
  g_test_add_func ("/parser/stream/long-answer-every-row-once", test_stream_long_answer);
  g_test_add_func ("/parser/stream/releases-rows-as-they-complete",
      test_stream_releases_rows_as_they_complete);
  g_test_add_func ("/parser/evidence", test_evidence);
  g_test_add_func ("/parser/stream/ignores-brackets-in-strings-and-other-keys",
      test_stream_ignores_brackets_in_strings_and_other_keys);
  g_test_add_func ("/parser/stream/applies-repairs-and-bare-arrays",
      test_stream_applies_repairs_and_bare_arrays);
  g_test_add_func ("/parser/stream/cut-answer-keeps-complete-rows",
      test_stream_cut_answer_keeps_complete_rows);
  return g_test_run ();
}
