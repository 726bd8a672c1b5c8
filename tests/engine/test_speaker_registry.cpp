/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/gst.h>

#include "speaker_registry.h"

using namespace gemini;

static Speaker
spk (const char *voice, const char *name, const char *company = "?",
    const char *position = "?", const char *role = "?")
{
  return Speaker{voice, name, company, position, role};
}

static Utterance
said (const char *voice)
{
  Utterance u;
  u.text = "words";
  u.voice = voice;
  return u;
}

static void
test_shuffled_voices_keep_ids (void)
{
  SpeakerRegistry reg;
  SegmentTranscript one;
  one.speakers = {spk ("1", "Alice Martin"), spk ("2", "Bob Stone")};
  one.utterances = {said ("1"), said ("2")};
  auto m1 = reg.resolve (one);
  g_assert_cmpstr (m1["1"].c_str (), ==, "S1");
  g_assert_cmpstr (m1["2"].c_str (), ==, "S2");

  /* Next request numbers them the other way round. */
  SegmentTranscript two;
  two.speakers = {spk ("1", "BOB STONE"), spk ("2", "Alice  Martin"), spk ("3", "Carol Diaz")};
  two.utterances = {said ("1"), said ("2"), said ("3")};
  auto m2 = reg.resolve (two);
  g_assert_cmpstr (m2["1"].c_str (), ==, "S2");
  g_assert_cmpstr (m2["2"].c_str (), ==, "S1");
  g_assert_cmpstr (m2["3"].c_str (), ==, "S3");
  g_assert_cmpuint (reg.speakers ().size (), ==, 3);
  g_assert_cmpuint (reg.find ("S1")->segments, ==, 2);
  g_assert_cmpstr (reg.find ("S1")->info.voice.c_str (), ==, "2");
  g_assert_cmpstr (reg.find ("S1")->info.name.c_str (), ==, "Alice Martin");
  g_assert_null (reg.find ("S9"));
}

static void
test_name_variants_match (void)
{
  SpeakerRegistry reg;
  SegmentTranscript one;
  one.speakers = {spk ("1", "Dr. Jane Doe"), spk ("2", "Hélène Dupont"), spk ("3", "J. Smith")};
  reg.resolve (one);

  SegmentTranscript two;
  two.speakers = {spk ("4", "Jane Doe"), spk ("5", "helene DUPONT"), spk ("6", "John Smith"),
      spk ("7", "Doe"), spk ("8", "Jack Doe")};
  auto m = reg.resolve (two);
  g_assert_cmpstr (m["4"].c_str (), ==, "S1");
  g_assert_cmpstr (m["5"].c_str (), ==, "S2");
  g_assert_cmpstr (m["6"].c_str (), ==, "S3");
  /* A lone surname, or another first name with the same surname, is someone else. */
  g_assert_cmpstr (m["7"].c_str (), ==, "S4");
  g_assert_cmpstr (m["8"].c_str (), ==, "S5");
}

static void
test_merges_fields (void)
{
  SpeakerRegistry reg;
  SegmentTranscript one;
  one.speakers = {spk ("1", "Alice Martin", "?", "CTO", "Host")};
  reg.resolve (one);

  SegmentTranscript two;
  two.speakers = {spk ("3", "Alice Martin", "Acme", "?", "Panelist")};
  reg.resolve (two);

  const RegisteredSpeaker *s = reg.find ("S1");
  g_assert_nonnull (s);
  g_assert_cmpstr (s->info.company.c_str (), ==, "Acme");
  g_assert_cmpstr (s->info.position.c_str (), ==, "CTO");
  /* A value once known is kept. */
  g_assert_cmpstr (s->info.role_in_video.c_str (), ==, "Host");
  g_assert_cmpuint (reg.speakers ().size (), ==, 1);
}

static void
test_unidentified_voices_get_new_ids (void)
{
  SpeakerRegistry reg;
  SegmentTranscript one;
  one.speakers = {spk ("1", "?")};
  one.utterances = {said ("1"), said ("2")};
  auto m1 = reg.resolve (one);
  g_assert_cmpstr (m1["1"].c_str (), ==, "S1");
  g_assert_cmpstr (m1["2"].c_str (), ==, "S2");
  g_assert_cmpstr (reg.find ("S2")->info.name.c_str (), ==, "?");

  SegmentTranscript two;
  two.speakers = {spk ("1", "?"), spk ("2", "Narrator Name")};
  two.utterances = {said ("1")};
  auto m2 = reg.resolve (two);
  g_assert_cmpstr (m2["1"].c_str (), ==, "S3");
  g_assert_cmpstr (m2["2"].c_str (), ==, "S4");
  /* Seen on screen only: registered, but it did not speak. */
  g_assert_cmpuint (reg.find ("S4")->segments, ==, 0);
  g_assert_cmpuint (reg.find ("S3")->segments, ==, 1);

  auto known = reg.known ();
  g_assert_cmpuint (known.size (), ==, 1);
  g_assert_cmpstr (known[0].id.c_str (), ==, "S4");
  g_assert_cmpstr (known[0].info.name.c_str (), ==, "Narrator Name");

  reg.reset ();
  g_assert_cmpuint (reg.speakers ().size (), ==, 0);
}

static void
test_one_person_two_voices (void)
{
  SpeakerRegistry reg;
  SegmentTranscript one;
  one.speakers = {spk ("1", "Alice Martin"), spk ("2", "Professor Alice Martin")};
  one.utterances = {said ("1"), said ("2")};
  auto m = reg.resolve (one);
  g_assert_cmpstr (m["1"].c_str (), ==, "S1");
  g_assert_cmpstr (m["2"].c_str (), ==, "S1");
  g_assert_cmpuint (reg.find ("S1")->segments, ==, 1);
}

/* A hostile answer with 100,000 speakers, each speaking once, and the same
 * again in a second segment: every name is compared only with the names
 * that share a key with it. Before, each new name was compared with every
 * known one (minutes); a bound of a few seconds keeps it that way. */
static void
test_many_speakers (void)
{
  constexpr guint N = 100000;
  SegmentTranscript seg;
  for (guint i = 1; i <= N; i++) {
    const std::string voice = std::to_string (i);
    seg.speakers.push_back (Speaker{voice, "Speaker " + voice, "Company " + voice, "?", "?"});
    Utterance u;
    u.text = "words";
    u.voice = voice;
    seg.utterances.push_back (u);
  }
  SpeakerRegistry reg;
  const gint64 t0 = g_get_monotonic_time ();
  auto first = reg.resolve (seg);
  auto second = reg.resolve (seg);
  const double took = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("2 x %u speakers resolved in %.2f s", N, took);
  g_assert_cmpuint (reg.speakers ().size (), ==, N);
  g_assert_cmpstr (second["777"].c_str (), ==, first["777"].c_str ());
  g_assert_cmpuint (reg.find (first["777"])->segments, ==, 2);
  auto placed = reg.place (seg, 0, second);
  g_assert_cmpstr (placed[776].speaker_label.c_str (), ==, "Speaker 777");
  g_assert_cmpfloat (took, <, 20.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  gst_init (&argc, &argv);
  g_test_add_func ("/speakers/shuffled-voice-ids-keep-stable-ids", test_shuffled_voices_keep_ids);
  g_test_add_func ("/speakers/matches-titles-accents-initials", test_name_variants_match);
  g_test_add_func ("/speakers/merges-unknown-fields-only", test_merges_fields);
  g_test_add_func ("/speakers/unidentified-voices-get-new-ids",
      test_unidentified_voices_get_new_ids);
  g_test_add_func ("/speakers/two-voices-same-name-share-id", test_one_person_two_voices);
  g_test_add_func ("/speakers/hundred-thousand-speakers", test_many_speakers);
  return g_test_run ();
}
