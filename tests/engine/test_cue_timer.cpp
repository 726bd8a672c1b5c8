/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cue times from the audio: the envelope, the speech found in it, rows
 * moved onto it, and cues placed on an utterance's stretches of speech. */
#include <cmath>

#include <gst/gst.h>

#include "assembly.h"
#include "audio_envelope.h"
#include "cue_timer.h"

using namespace gemini;

namespace {

constexpr GstClockTime MS = GST_MSECOND;

/* A level for a stretch of time. */
struct Stretch {
  GstClockTime start;
  GstClockTime end;
  double db;
};

/* An envelope of `length`, silent (-120 dB) or at `floor_db`, with the
 * stretches louder; each 10 ms frame holds 160 samples (16 kHz). Speech
 * rises and falls between syllables: a stretch marked `syllables` dips
 * 20 dB for 40 ms every 200 ms. A bed's chords beat: it dips `beat_db`
 * for one frame in three. */
AudioEnvelope
envelope_of (GstClockTime length, std::vector<Stretch> loud, double floor_db = -120.0,
    double beat_db = 0.0)
{
  AudioLevels levels;
  const guint64 frames = length / AudioEnvelope::FRAME;
  for (guint64 k = 0; k < frames; k++) {
    const GstClockTime t = k * AudioEnvelope::FRAME;
    double db = floor_db - (k % 3 == 0 ? beat_db : 0.0);
    for (const auto &s : loud) {
      if (t >= s.start && t < s.end) {
        const bool dip = (t - s.start) % (200 * MS) >= 160 * MS;
        const double speech = s.db - (dip ? 20.0 : 0.0);
        /* Powers add up: speech over a bed is a little louder than either. */
        db = 10.0 * std::log10 (std::pow (10.0, speech / 10.0) + std::pow (10.0, db / 10.0));
      }
    }
    levels.sums.push_back (160.0 * std::pow (10.0, db / 10.0));
    levels.counts.push_back (160);
  }
  AudioEnvelope env;
  env.add (levels);
  return env;
}

TimedUtterance
row (GstClockTime start, GstClockTime end, const char *text, const char *speaker = "S1")
{
  TimedUtterance u;
  u.start = start;
  u.end = end;
  u.text = text;
  u.speaker_id = speaker;
  u.speaker_label = speaker;
  return u;
}

GstClockTime
off (GstClockTime a, GstClockTime b)
{
  return a > b ? a - b : b - a;
}

}  // namespace

/* Buffers of any size add up to the same frames as one buffer would. */
static void
test_envelope_grid (void)
{
  AudioEnvelope whole;
  AudioLevels one;
  one.first_frame = 3;
  for (int i = 0; i < 5; i++) {
    one.sums.push_back (160.0 * (i + 1) / 10.0);
    one.counts.push_back (160);
  }
  whole.add (one);

  /* The same samples cut across frame edges: 100 + 60 per frame. */
  AudioEnvelope pieces;
  for (int i = 0; i < 5; i++) {
    const double per_sample = (i + 1) / 10.0;
    AudioLevels a, b;
    a.first_frame = b.first_frame = 3 + i;
    a.sums = {100 * per_sample};
    a.counts = {100};
    b.sums = {60 * per_sample};
    b.counts = {60};
    pieces.add (a);
    pieces.add (b);
  }
  g_assert_cmpuint (whole.size (), ==, 5);
  g_assert_cmpuint (pieces.size (), ==, 5);
  g_assert_cmpuint (whole.start (), ==, 30 * MS);
  g_assert_cmpuint (whole.end (), ==, 80 * MS);
  for (size_t i = 0; i < 5; i++)
    g_assert_cmpfloat_with_epsilon (whole.level (i), pieces.level (i), 1e-4);
  g_assert_cmpfloat_with_epsilon (whole.level (0), -10.0, 1e-4);

  /* A gap is silence; a frame behind the filling one is dropped. */
  whole.add_silence (80 * MS, 30 * MS);
  g_assert_cmpuint (whole.size (), ==, 8);
  g_assert_cmpfloat (whole.level (6), ==, AudioEnvelope::SILENCE_DB);
  AudioLevels late;
  late.first_frame = 4;
  late.sums = {160.0};
  late.counts = {160};
  whole.add (late);
  g_assert_cmpfloat_with_epsilon (whole.level (1), -10.0 + 10 * std::log10 (2.0), 1e-4);
  g_assert_cmpuint (whole.frame_at (0), ==, 0);
  g_assert_cmpuint (whole.frame_at (65 * MS), ==, 3);
  g_assert_cmpuint (whole.frame_at (10 * GST_SECOND), ==, 7);
}

static void
test_envelope_file_round_trip (void)
{
  AudioEnvelope env = envelope_of (3 * GST_SECOND, {{1 * GST_SECOND, 2 * GST_SECOND, -14.3}});
  const std::string bytes = env.serialize ();
  g_assert_cmpuint (bytes.size (), <, 2 * env.size () + 64);
  auto back = AudioEnvelope::parse (bytes);
  g_assert_true (back.has_value ());
  g_assert_cmpuint (back->size (), ==, env.size ());
  g_assert_cmpuint (back->start (), ==, env.start ());
  for (size_t i = 0; i < env.size (); i++)
    g_assert_cmpfloat_with_epsilon (back->level (i), env.level (i), 0.006);

  /* Anything else is refused, never trusted. */
  g_assert_false (AudioEnvelope::parse ("").has_value ());
  g_assert_false (AudioEnvelope::parse (bytes.substr (0, bytes.size () - 1)).has_value ());
  std::string longer = bytes + "xx";
  g_assert_false (AudioEnvelope::parse (longer).has_value ());
  std::string other = bytes;
  other[0] = 'G';
  g_assert_false (AudioEnvelope::parse (other).has_value ());
}

/* Over silence and over a music bed alike; clicks are not speech, short
 * pauses are inside a stretch, sentence pauses end it. */
static void
test_find_speech (void)
{
  CueTimer timer;
  struct Background {
    double db, beat_db;
  };
  for (Background bed : {Background{-120.0, 0.0}, Background{-36.0, 0.0},
           Background{-36.0, 12.0}}) {
    AudioEnvelope env = envelope_of (10 * GST_SECOND, {
          {1000 * MS, 2500 * MS, -16.0},
          {2560 * MS, 3500 * MS, -16.0},   /* a 60 ms stop: the same stretch */
          {3650 * MS, 5000 * MS, -18.0},   /* 150 ms between turns: a new one */
          {7000 * MS, 7030 * MS, -10.0},   /* a click */
        }, bed.db, bed.beat_db);
    auto spans = timer.find_speech (env, 0, 10 * GST_SECOND);
    g_assert_cmpuint (spans.size (), ==, 2);
    g_assert_cmpuint (off (spans[0].start, 1000 * MS), <=, 10 * MS);
    g_assert_cmpuint (off (spans[0].end, 3500 * MS), <=, 10 * MS);
    g_assert_cmpuint (off (spans[1].start, 3650 * MS), <=, 10 * MS);
    g_assert_cmpuint (off (spans[1].end, 5000 * MS), <=, 10 * MS);

    /* Only what lies in [from, to). */
    spans = timer.find_speech (env, 3600 * MS, 10 * GST_SECOND);
    g_assert_cmpuint (spans.size (), ==, 1);
  }
  /* A loud steady bed alone holds no speech. */
  AudioEnvelope music = envelope_of (10 * GST_SECOND, {}, -20.0);
  g_assert_cmpuint (timer.find_speech (music, 0, 10 * GST_SECOND).size (), ==, 0);
}

/* Whole-second times up to a second off land on the onsets and offsets;
 * order kept; a row far from any speech keeps the model's time. */
static void
test_rows_move_onto_speech (void)
{
  AudioEnvelope env = envelope_of (30 * GST_SECOND, {
        {1230 * MS, 3710 * MS, -15.0},
        {4370 * MS, 6020 * MS, -15.0},
        {6480 * MS, 9100 * MS, -17.0},
        {12660 * MS, 14000 * MS, -15.0},
      });
  std::vector<TimedUtterance> rows = {
    row (2 * GST_SECOND, 3 * GST_SECOND, "Welcome to the water show today."),
    row (4 * GST_SECOND, 7 * GST_SECOND, "Thanks for having me.", "S2"),
    row (7 * GST_SECOND, 9 * GST_SECOND, "Tell us about the leaks in the network."),
    row (13 * GST_SECOND, 14 * GST_SECOND, "Sure thing."),
    row (22 * GST_SECOND, 23 * GST_SECOND, "A row the model made up."),
  };
  CueTimer timer;
  g_assert_cmpuint (timer.time (rows, env, 0, 30 * GST_SECOND), ==, 4);
  const GstClockTime starts[] = {1230 * MS, 4370 * MS, 6480 * MS, 12660 * MS};
  const GstClockTime ends[] = {3710 * MS, 6020 * MS, 9100 * MS, 14000 * MS};
  for (size_t i = 0; i < 4; i++) {
    g_assert_cmpuint (off (rows[i].start, starts[i]), <=, 10 * MS);
    g_assert_cmpuint (off (rows[i].end, ends[i]), <=, 10 * MS);
    g_assert_cmpuint (rows[i].speech.size (), ==, 1);
  }
  g_assert_cmpuint (rows[0].model_start, ==, 2 * GST_SECOND);
  g_assert_cmpuint (rows[0].model_end, ==, 3 * GST_SECOND);
  g_assert_cmpuint (rows[4].start, ==, 22 * GST_SECOND);
  g_assert_true (rows[4].speech.empty ());
  for (size_t i = 1; i < rows.size (); i++)
    g_assert_cmpuint (rows[i].start, >=, rows[i - 1].end);
}

/* Two rows that the model put near the same onset do not both take it:
 * each gets its own stretch, in order. */
static void
test_rows_do_not_share_speech (void)
{
  AudioEnvelope env = envelope_of (10 * GST_SECOND, {
        {1000 * MS, 1900 * MS, -15.0},
        {2300 * MS, 3400 * MS, -15.0},
      });
  std::vector<TimedUtterance> rows = {
    row (2 * GST_SECOND, GST_CLOCK_TIME_NONE, "Right."),
    row (2 * GST_SECOND, GST_CLOCK_TIME_NONE, "And the other one.", "S2"),
  };
  CueTimer ().time (rows, env, 0, 10 * GST_SECOND);
  g_assert_cmpuint (off (rows[0].start, 1000 * MS), <=, 10 * MS);
  g_assert_cmpuint (off (rows[1].start, 2300 * MS), <=, 10 * MS);
  g_assert_cmpuint (rows[0].end, <=, rows[1].start);
}

/* Nothing to hear: music only, or no audio in the range, moves nothing. */
static void
test_no_speech_keeps_the_model_times (void)
{
  std::vector<TimedUtterance> rows = {row (2 * GST_SECOND, 4 * GST_SECOND, "Hello there.")};
  AudioEnvelope music = envelope_of (10 * GST_SECOND, {}, -20.0);
  g_assert_cmpuint (CueTimer ().time (rows, music, 0, 10 * GST_SECOND), ==, 0);
  g_assert_cmpuint (rows[0].start, ==, 2 * GST_SECOND);
  AudioEnvelope empty;
  g_assert_cmpuint (CueTimer ().time (rows, empty, 0, 10 * GST_SECOND), ==, 0);
  g_assert_cmpuint (rows[0].end, ==, 4 * GST_SECOND);
}

/* One utterance over two sentences with a pause between: its two cues
 * start on the two stretches of speech, and each ends with its own. */
static void
test_cues_on_the_stretches_of_an_utterance (void)
{
  AudioEnvelope env = envelope_of (20 * GST_SECOND, {
        {1100 * MS, 4200 * MS, -15.0},
        {4900 * MS, 8300 * MS, -15.0},
      });
  const char *text = "The network loses a third of its water before it reaches a tap. "
      "We found most of the leaks with sensors on the old iron pipes.";
  SegmentTranscript t;
  t.utterances.push_back (Utterance{2 * GST_SECOND, 8 * GST_SECOND, text, "1"});
  t.speakers.push_back (Speaker{"1", "Ana Ruiz", "?", "?", "?"});

  Assembly timed;
  auto a = timed.add (t, 0, 20 * GST_SECOND, 0, &env);
  g_assert_cmpuint (a.cues.size (), ==, 2);
  g_assert_cmpuint (off (a.cues[0].pts, 1100 * MS), <=, 10 * MS);
  g_assert_cmpuint (off (a.cues[1].pts, 4900 * MS), <=, 10 * MS);
  g_assert_true (g_str_has_prefix (a.cues[1].text.c_str (), "We found"));
  g_assert_cmpuint (off (a.cues[1].pts + a.cues[1].duration, 8300 * MS), <=, 10 * MS);
  /* The first cue is read at 17 characters a second: it may stay past its
   * speech, but leaves two frames before the next. */
  g_assert_cmpuint (a.cues[0].pts + a.cues[0].duration + CueOptions ().min_gap, <=,
      a.cues[1].pts);
  g_assert_cmpuint (a.utterances[0].model_start, ==, 2 * GST_SECOND);

  /* Without the sound, the model's times shared by the text. */
  Assembly model;
  auto m = model.add (t, 0, 20 * GST_SECOND);
  g_assert_cmpuint (m.cues[0].pts, ==, 2 * GST_SECOND);
  g_assert_cmpuint (m.utterances[0].start, ==, m.utterances[0].model_start);
  g_assert_true (m.utterances[0].speech.empty ());
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/cue-timer/envelope-grid", test_envelope_grid);
  g_test_add_func ("/cue-timer/envelope-file-round-trip", test_envelope_file_round_trip);
  g_test_add_func ("/cue-timer/find-speech", test_find_speech);
  g_test_add_func ("/cue-timer/rows-move-onto-speech", test_rows_move_onto_speech);
  g_test_add_func ("/cue-timer/rows-do-not-share-speech", test_rows_do_not_share_speech);
  g_test_add_func ("/cue-timer/no-speech-keeps-the-model-times",
      test_no_speech_keeps_the_model_times);
  g_test_add_func ("/cue-timer/cues-on-the-stretches-of-an-utterance",
      test_cues_on_the_stretches_of_an_utterance);
  return g_test_run ();
}
