/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The step from answers to cues that the element and --batch share, the
 * transcript JSON of gemini-segment, and the JSON member readers. */
#include <cstring>

#include <gst/gst.h>

#include "assembly.h"
#include "json_doc.h"
#include "request.h"
#include "transcript_json.h"

using namespace gemini;

static Utterance
row (GstClockTime start_s, GstClockTime end_s, const char *text, const char *voice)
{
  Utterance u;
  u.start = start_s * GST_SECOND;
  u.end = end_s == 0 ? GST_CLOCK_TIME_NONE : end_s * GST_SECOND;
  u.text = text;
  u.voice = voice;
  return u;
}

static SegmentTranscript
segment (std::vector<Utterance> rows, std::vector<Speaker> speakers)
{
  SegmentTranscript t;
  t.utterances = std::move (rows);
  t.speakers = std::move (speakers);
  return t;
}

/* Voices are numbered per request: the same person is "2" in one segment
 * and "1" in the next, and keeps one id and one label across both. */
static void
test_speakers_and_labels_carry_across_segments (void)
{
  Assembly a;
  auto first = a.add (segment ({row (1, 3, "Welcome.", "1"), row (4, 6, "Thanks.", "2")},
          {{"1", "Ana Ruiz", "BBC", "?", "host"}, {"2", "?", "?", "?", "?"}}),
      0, 10 * GST_SECOND);
  g_assert_true (first.speakers_changed);
  g_assert_cmpuint (first.utterances.size (), ==, 2);
  g_assert_cmpstr (first.ids["1"].c_str (), ==, "S1");
  g_assert_cmpuint (first.cues.size (), ==, 2);
  g_assert_true (g_str_has_prefix (first.cues[0].text.c_str (), "Ana Ruiz:"));
  g_assert_true (g_str_has_prefix (first.cues[1].text.c_str (), "S2:"));

  auto second = a.add (segment ({row (1, 3, "Back again.", "2")},
          {{"2", "ana ruiz", "?", "?", "?"}}), 10 * GST_SECOND, 20 * GST_SECOND);
  g_assert_cmpstr (second.ids["2"].c_str (), ==, "S1");
  g_assert_cmpuint (second.utterances[0].start, ==, 11 * GST_SECOND);
  g_assert_true (a.label ("S1") == "Ana Ruiz");
  g_assert_true (a.label ("S2") == "S2");
  /* Nobody new, but the table said something: the application hears it. */
  g_assert_true (second.speakers_changed);

  auto quiet = a.add (segment ({row (1, 2, "Mm.", "7")}, {}), 20 * GST_SECOND, 30 * GST_SECOND);
  g_assert_false (quiet.speakers_changed);
}

/* Rows pushed while the answer streamed are placed but not cued twice. */
static void
test_rows_cued_early_are_not_cued_again (void)
{
  Assembly a;
  auto early = a.add_streaming ({row (1, 2, "One.", "1")}, 5 * GST_SECOND, 15 * GST_SECOND);
  g_assert_cmpuint (early.size (), ==, 1);
  g_assert_cmpstr (early[0].speaker_id.c_str (), ==, "");
  g_assert_cmpuint (early[0].pts, ==, 6 * GST_SECOND);

  auto done = a.add (segment ({row (1, 2, "One.", "1"), row (3, 4, "Two.", "1")},
          {{"1", "Tom Berg", "?", "?", "?"}}), 5 * GST_SECOND, 15 * GST_SECOND, 1);
  g_assert_cmpuint (done.utterances.size (), ==, 2);
  g_assert_cmpuint (done.cues.size (), ==, 1);
  g_assert_true (g_strrstr (done.cues[0].text.c_str (), "Two.") != nullptr);
}

static TimedUtterance
placed (GstClockTime start, GstClockTime end, const char *text, const char *speaker,
    const char *voice)
{
  TimedUtterance u;
  u.start = start;
  u.end = end;
  u.text = text;
  u.speaker_id = speaker;
  u.voice = voice;
  return u;
}

static void
test_transcript_json_round_trip (void)
{
  /* The first row moved by the cue timer, the second as the model wrote it. */
  TimedUtterance moved = placed (61 * GST_SECOND + 230 * GST_MSECOND, 62 * GST_SECOND,
      "Un \"mot\" & <b>", "S4", "1");
  moved.model_start = 61 * GST_SECOND;
  moved.model_end = 63 * GST_SECOND;
  const std::vector<TimedUtterance> rows_in{moved,
    placed (63 * GST_SECOND, GST_CLOCK_TIME_NONE, "Open.", "S5", "2")};
  const std::vector<Speaker> speakers{{"1", "Ana Ruiz", "?", "?", "?"}};
  const std::map<std::string, std::string> ids{{"1", "S4"}, {"2", "S5"}};
  const std::string json = write_segment_transcript (rows_in, speakers, ids);
  auto rows = read_segment_transcript (json);
  g_assert_cmpuint (rows.size (), ==, 2);
  g_assert_cmpuint (rows[0].start, ==, 61 * GST_SECOND + 230 * GST_MSECOND);
  g_assert_cmpuint (rows[0].end, ==, 62 * GST_SECOND);
  g_assert_cmpuint (rows[0].model_start, ==, 61 * GST_SECOND);
  g_assert_cmpuint (rows[0].model_end, ==, 63 * GST_SECOND);
  g_assert_cmpstr (rows[0].text.c_str (), ==, "Un \"mot\" & <b>");
  g_assert_cmpstr (rows[0].speaker_id.c_str (), ==, "S4");
  g_assert_false (GST_CLOCK_TIME_IS_VALID (rows[1].end));
  g_assert_cmpuint (rows[1].model_start, ==, 63 * GST_SECOND);
  g_assert_false (GST_CLOCK_TIME_IS_VALID (rows[1].model_end));
  g_assert_cmpstr (rows[1].voice.c_str (), ==, "2");
  g_assert_true (g_strrstr (json.c_str (), "\"role_in_video\":\"?\"") != nullptr);
  g_assert_true (g_strrstr (json.c_str (), "\"speaker\":\"S4\",\"name\"") != nullptr);
}

/* Another writer's document: wrong types read as nothing, never abort. */
static void
test_transcript_json_of_another_shape (void)
{
  g_assert_true (read_segment_transcript ("not json").empty ());
  g_assert_true (read_segment_transcript ("[1,2]").empty ());
  g_assert_true (read_segment_transcript ("{\"transcripts\": {}}").empty ());
  auto rows = read_segment_transcript (
      "{\"transcripts\": [7, {\"start\": \"5000\", \"end\": 4e300, \"text\": 3},"
      " {\"start\": -9}]}");
  g_assert_cmpuint (rows.size (), ==, 2);
  g_assert_cmpuint (rows[0].start, ==, 5000);
  g_assert_cmpuint (rows[0].end, ==, 0);
  g_assert_cmpstr (rows[0].text.c_str (), ==, "");
  g_assert_cmpuint (rows[1].start, ==, 0);
}

static void
test_member_readers_guard_types_and_range (void)
{
  GPtr<JsonNode> doc = parse_json_document (
      "{\"a\": 4e+29, \"b\": \"123\", \"c\": 12, \"d\": true, \"e\": [1], \"f\": {\"g\": 1},"
      " \"h\": -4e+29, \"i\": 2.9}", nullptr);
  JsonObject *o = json_node_get_object (doc.get ());
  g_assert_cmpint (member_int (o, "a"), ==, 0);
  g_assert_cmpint (member_int (o, "h"), ==, 0);
  g_assert_cmpint (member_int (o, "i"), ==, 2);
  g_assert_cmpint (member_int (o, "b"), ==, 123);
  g_assert_cmpint (member_int (o, "c"), ==, 12);
  g_assert_cmpint (member_int (o, "d"), ==, 0);
  g_assert_cmpint (member_int (o, "missing"), ==, 0);
  g_assert_cmpint (member_int (nullptr, "c"), ==, 0);
  g_assert_true (member_string (o, "c").empty ());
  g_assert_true (member_bool (o, "d"));
  g_assert_false (member_bool (o, "c"));
  g_assert_nonnull (member_array (o, "e"));
  g_assert_null (member_array (o, "f"));
  g_assert_nonnull (member_object (o, "f"));
  g_assert_null (member_object (o, "e"));
}

static void
test_media_resolution_names (void)
{
  g_assert_true (media_resolution_from_name ("auto") == MediaResolution::Unspecified);
  g_assert_true (media_resolution_from_name ("") == MediaResolution::Unspecified);
  g_assert_true (media_resolution_from_name ("low") == MediaResolution::Low);
  g_assert_true (media_resolution_from_name ("medium") == MediaResolution::Medium);
  g_assert_true (media_resolution_from_name ("high") == MediaResolution::High);
  g_assert_false (media_resolution_from_name ("HIGH").has_value ());
  g_assert_false (media_resolution_from_name ("ultra").has_value ());
}

static void
test_unknown_rule (void)
{
  g_assert_true (is_unknown (""));
  g_assert_true (is_unknown ("?"));
  g_assert_false (is_unknown ("Ana"));
  g_assert_true (or_unknown ("") == "?");
  g_assert_true (or_unknown ("Ana") == "Ana");
  Speaker s = Speaker::unknown ("3");
  g_assert_false (s.identified ());
  g_assert_cmpstr (s.role_in_video.c_str (), ==, "?");
}

/* Evidence on the stream's timeline: in the registry, kept for the value
 * it backs (the first found), and in the transcript JSON. */
static void
test_evidence_on_the_timeline (void)
{
  Assembly a;
  SegmentTranscript first = segment ({row (1, 3, "Hello.", "1")},
      {{"1", "Ana Ruiz", "?", "?", "host"}});
  first.speakers[0].evidence = {{"name", 2 * GST_SECOND, "shown", "ANA RUIZ"},
    {"role_in_video", GST_CLOCK_TIME_NONE, "said", "welcome to my show"}};
  auto one = a.add (first, 60 * GST_SECOND, 90 * GST_SECOND);
  g_assert_cmpuint (one.speakers[0].evidence[0].time, ==, 62 * GST_SECOND);

  SegmentTranscript second = segment ({row (1, 3, "Again.", "4")},
      {{"4", "Ana Ruiz", "Acme", "?", "host"}});
  second.speakers[0].evidence = {{"name", 5 * GST_SECOND, "said", "I am Ana"},
    {"company", 1 * GST_SECOND, "shown", "Acme badge"}};
  auto two = a.add (second, 120 * GST_SECOND, 150 * GST_SECOND);
  const RegisteredSpeaker *sp = a.find (two.ids.at ("4"));
  g_assert_nonnull (sp);
  g_assert_cmpuint (sp->info.evidence.size (), ==, 3);
  g_assert_cmpstr (sp->info.evidence[0].text.c_str (), ==, "ANA RUIZ");
  g_assert_cmpuint (sp->info.evidence[0].time, ==, 62 * GST_SECOND);
  g_assert_cmpstr (sp->info.evidence[2].field.c_str (), ==, "company");
  g_assert_cmpuint (sp->info.evidence[2].time, ==, 121 * GST_SECOND);

  const std::string json = write_segment_transcript (two.utterances, two.speakers, two.ids);
  g_assert_nonnull (strstr (json.c_str (), "{\"field\":\"company\",\"time\":121000000000,"
          "\"source\":\"shown\",\"text\":\"Acme badge\"}"));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/assembly/evidence-on-the-timeline", test_evidence_on_the_timeline);
  g_test_add_func ("/assembly/speakers-and-labels-carry-across-segments",
      test_speakers_and_labels_carry_across_segments);
  g_test_add_func ("/assembly/rows-cued-early-are-not-cued-again",
      test_rows_cued_early_are_not_cued_again);
  g_test_add_func ("/transcript-json/round-trip", test_transcript_json_round_trip);
  g_test_add_func ("/transcript-json/another-shape", test_transcript_json_of_another_shape);
  g_test_add_func ("/json/member-readers-guard-types-and-range",
      test_member_readers_guard_types_and_range);
  g_test_add_func ("/request/media-resolution-names", test_media_resolution_names);
  g_test_add_func ("/transcript/unknown-rule", test_unknown_rule);
  return g_test_run ();
}
