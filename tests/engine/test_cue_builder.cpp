/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <algorithm>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "cue_builder.h"

using namespace gemini;

static TimedUtterance
utt (GstClockTime start, const char *text, const char *id = "S1", const char *label = "Alice Martin",
    GstClockTime end = GST_CLOCK_TIME_NONE)
{
  TimedUtterance u;
  u.start = start;
  u.end = end;
  u.text = text;
  u.speaker_id = id;
  u.speaker_label = label;
  u.voice = "1";
  return u;
}

static std::vector<std::string>
lines_of (const std::string &text)
{
  std::vector<std::string> out;
  gsize from = 0;
  while (true) {
    gsize nl = text.find ('\n', from);
    out.push_back (text.substr (from, nl == std::string::npos ? std::string::npos : nl - from));
    if (nl == std::string::npos)
      return out;
    from = nl + 1;
  }
}

/* No cue overlaps the next, and the gap before it is min_gap unless the
 * two start closer than that; past `limit` a cue only runs to stay
 * readable (min_duration from its start). */
static void
assert_no_overlap (const std::vector<Cue> &cues, GstClockTime limit)
{
  for (gsize i = 0; i < cues.size (); i++) {
    g_assert_cmpuint (cues[i].duration, >, 0);
    g_assert_cmpuint (cues[i].pts + cues[i].duration, <=,
        std::max (limit, cues[i].pts + CueOptions ().min_duration));
    if (i + 1 < cues.size ()) {
      const GstClockTime gap = cues[i + 1].pts > cues[i].pts + CueOptions ().min_gap
          ? CueOptions ().min_gap : 0;
      g_assert_cmpuint (cues[i].pts + cues[i].duration + gap, <=, cues[i + 1].pts);
    }
  }
}

static const char *LONG_TEXT =
    "Welcome   everyone to this panel about water leaks in rural networks. "
    "Today we will hear from three teams, each with a trained dog, who walk the pipes "
    "at night; they listen, they sniff, and they mark the ground. It is slow work, but "
    "it saves millions of litres every year, and nobody else can do it as well.";

static void
test_line_limits (void)
{
  CueBuilder b;
  auto cues = b.build ({utt (0, LONG_TEXT, "S1", "Alice Martin", 40 * GST_SECOND)},
      60 * GST_SECOND);
  g_assert_cmpuint (cues.size (), >, 3);

  std::string joined;
  for (const auto &c : cues) {
    auto lines = lines_of (c.text);
    g_assert_cmpuint (lines.size (), <=, 2);
    for (const auto &l : lines) {
      g_assert_cmpint (g_utf8_strlen (l.c_str (), -1), <=, 42);
      g_assert_false (l.empty ());
      g_assert_false (g_str_has_prefix (l.c_str (), " "));
    }
    std::string flat = c.text;
    for (auto &ch : flat)
      if (ch == '\n')
        ch = ' ';
    joined += (joined.empty () ? "" : " ") + flat;
  }
  /* Nothing lost, whitespace collapsed, label once. */
  std::string expected = std::string ("Alice Martin: ") + LONG_TEXT;
  expected.replace (expected.find ("Welcome   everyone"), 18, "Welcome everyone");
  g_assert_cmpstr (joined.c_str (), ==, expected.c_str ());
  g_assert_true (g_str_has_prefix (cues[0].text.c_str (), "Alice Martin: "));
  for (gsize i = 1; i < cues.size (); i++)
    g_assert_false (g_str_has_prefix (cues[i].text.c_str (), "Alice Martin"));
  assert_no_overlap (cues, 60 * GST_SECOND);
}

static void
test_prefers_sentence_then_phrase_ends (void)
{
  CueBuilder b;
  auto cues = b.build ({utt (0, LONG_TEXT, "S1", "", 40 * GST_SECOND)}, 60 * GST_SECOND);
  /* "S1: Welcome everyone ... rural networks." is 72 characters: one cue. */
  g_assert_cmpstr (cues[0].text.c_str (), ==,
      "S1: Welcome everyone to this panel\nabout water leaks in rural networks.");
  for (gsize i = 0; i + 1 < cues.size (); i++) {
    std::string t = cues[i].text;
    char last = t.back ();
    if (last != '.' && last != ',' && last != ';')
      g_error ("cue %" G_GSIZE_FORMAT " \"%s\" not cut at punctuation", i, t.c_str ());
  }
}

static void
test_balanced_two_lines (void)
{
  CueBuilder b;
  auto cues = b.build ({utt (0, "one two three four five six seven eight nine ten eleven",
          "S1", "", 5 * GST_SECOND)}, 10 * GST_SECOND);
  g_assert_cmpuint (cues.size (), ==, 1);
  auto lines = lines_of (cues[0].text);
  g_assert_cmpuint (lines.size (), ==, 2);
  glong a = g_utf8_strlen (lines[0].c_str (), -1), c = g_utf8_strlen (lines[1].c_str (), -1);
  g_assert_cmpint (ABS (a - c), <=, 8);
}

static void
test_reading_speed_and_limits (void)
{
  CueOptions o;
  CueBuilder b (o);
  /* 17 chars/s: 34 characters need 2 s even though the speech took 0.5 s. */
  auto cues = b.build ({
        utt (0, "abcdefghijklmnopqrstuvwxyz12345", "S1", "Al", 500 * GST_MSECOND),
        utt (10 * GST_SECOND, "Hi.", "S1", "Al", 10200 * GST_MSECOND),
        utt (20 * GST_SECOND, "Short words in a long pause.", "S1", "Al"),
      }, 60 * GST_SECOND);
  g_assert_cmpuint (cues.size (), ==, 3);
  g_assert_cmpuint (cues[0].pts, ==, 0);
  g_assert_cmpuint (cues[0].duration, ==, 2 * GST_SECOND);
  /* A 0.2 s "Hi." still stays up for the minimum. */
  g_assert_cmpuint (cues[1].pts, ==, 10 * GST_SECOND);
  g_assert_cmpuint (cues[1].duration, ==, 1 * GST_SECOND);
  /* Spoken until the limit: shown for at most the maximum. */
  g_assert_cmpuint (cues[2].duration, ==, 7 * GST_SECOND);
  assert_no_overlap (cues, 60 * GST_SECOND);
}

static void
test_never_overlaps_next (void)
{
  CueBuilder b;
  auto cues = b.build ({
        utt (1 * GST_SECOND, "A very long first sentence that takes a while to read."),
        utt (1200 * GST_MSECOND, "Interrupting!", "S2", "Bob"),
        utt (1200 * GST_MSECOND, "Same time.", "S3", "Carol"),
        utt (1500 * GST_MSECOND, "And again.", "S1", "Alice Martin"),
        utt (9800 * GST_MSECOND, "Right at the end of the segment.", "S2", "Bob"),
        utt (10 * GST_SECOND, "Past the end, clamped by the parser.", "S2", "Bob"),
      }, 10 * GST_SECOND);
  /* Nothing is dropped, even at the very end of the segment. */
  g_assert_cmpuint (cues.size (), ==, 6);
  g_assert_cmpuint (cues[0].pts, ==, 1 * GST_SECOND);
  /* It ends two frames (80 ms) before the interruption. */
  g_assert_cmpuint (cues[0].duration, ==, 120 * GST_MSECOND);
  /* The words said at 9.8 s are shown at 9.8 s, not moved earlier. */
  g_assert_cmpuint (cues[4].pts, ==, 9800 * GST_MSECOND);
  assert_no_overlap (cues, 10 * GST_SECOND);
  for (gsize i = 1; i < cues.size (); i++)
    g_assert_cmpuint (cues[i].pts, >=, cues[i - 1].pts);
}

static void
test_labels_on_change_only (void)
{
  CueBuilder b;
  auto first = b.build ({utt (0, "One."), utt (GST_SECOND, "Two."),
        utt (2 * GST_SECOND, "Three.", "S2", "Bob")}, 10 * GST_SECOND);
  g_assert_cmpstr (first[0].text.c_str (), ==, "Alice Martin: One.");
  g_assert_true (first[0].speaker_changed);
  g_assert_cmpstr (first[1].text.c_str (), ==, "Two.");
  g_assert_false (first[1].speaker_changed);
  g_assert_cmpstr (first[2].text.c_str (), ==, "Bob: Three.");
  g_assert_true (first[2].speaker_changed);
  g_assert_cmpstr (first[2].speaker_id.c_str (), ==, "S2");

  /* Bob keeps talking in the next segment: no new label. */
  auto second = b.build ({utt (10 * GST_SECOND, "Four.", "S2", "Bob")}, 20 * GST_SECOND);
  g_assert_cmpstr (second[0].text.c_str (), ==, "Four.");
  g_assert_false (second[0].speaker_changed);

  b.reset ();
  auto third = b.build ({utt (20 * GST_SECOND, "Five.", "S2", "Bob")}, 30 * GST_SECOND);
  g_assert_cmpstr (third[0].text.c_str (), ==, "Bob: Five.");

  /* Unnamed speakers are labelled with their id. */
  auto fourth = b.build ({utt (30 * GST_SECOND, "Six.", "S7", "")}, 40 * GST_SECOND);
  g_assert_cmpstr (fourth[0].text.c_str (), ==, "S7: Six.");
}

static void
test_markup_escaping (void)
{
  CueBuilder b;
  auto cues = b.build ({utt (0, "x <b>bold</b> & \"q\"", "S2", "Tom & <Jerry>")},
      5 * GST_SECOND);
  g_assert_cmpuint (cues.size (), ==, 1);
  g_assert_cmpstr (cues[0].text.c_str (), ==, "Tom & <Jerry>: x <b>bold</b> & \"q\"");
  g_assert_cmpstr (cues[0].markup.c_str (), ==,
      "<span foreground=\"#00E5FF\">Tom &amp; &lt;Jerry&gt;:</span> "
      "x &lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;");
  /* The markup is valid pango markup. */
  g_autoptr (GMarkupParseContext) ctx = nullptr;
  GMarkupParser parser = {};
  ctx = g_markup_parse_context_new (&parser, G_MARKUP_DEFAULT_FLAGS, nullptr, nullptr);
  std::string wrapped = "<markup>" + cues[0].markup + "</markup>";
  g_assert_true (g_markup_parse_context_parse (ctx, wrapped.c_str (), -1, nullptr));
}

static void
test_long_word_and_empty_text (void)
{
  CueBuilder b;
  std::string url (100, 'w');
  auto cues = b.build ({utt (0, "   "), utt (GST_SECOND, url.c_str (), "S1", "")},
      10 * GST_SECOND);
  g_assert_cmpuint (cues.size (), ==, 2);
  for (const auto &c : cues)
    for (const auto &l : lines_of (c.text))
      g_assert_cmpint (g_utf8_strlen (l.c_str (), -1), <=, 42);
  g_assert_cmpuint (cues[0].pts, ==, GST_SECOND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  gst_init (&argc, &argv);
  g_test_add_func ("/cues/respect-line-limits-and-lose-nothing", test_line_limits);
  g_test_add_func ("/cues/split-at-sentence-then-phrase-ends", test_prefers_sentence_then_phrase_ends);
  g_test_add_func ("/cues/balance-two-lines", test_balanced_two_lines);
  g_test_add_func ("/cues/reading-speed-min-max-durations", test_reading_speed_and_limits);
  g_test_add_func ("/cues/never-overlap-nor-pass-limit", test_never_overlaps_next);
  g_test_add_func ("/cues/label-on-speaker-change-only", test_labels_on_change_only);
  g_test_add_func ("/cues/escape-markup-and-colour-label", test_markup_escaping);
  g_test_add_func ("/cues/cut-long-words-skip-empty-text", test_long_word_and_empty_text);
  return g_test_run ();
}
