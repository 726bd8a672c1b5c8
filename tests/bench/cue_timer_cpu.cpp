/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What timing=audio costs, per media hour: the CPU of the envelope and of
 * the cue timer, beside the CPU of the level measurement both timings do
 * (the segmenter's), on generated speech-like audio (48 kHz stereo S16 in
 * 1024-sample buffers, as decoders hand it over).
 *
 *   bench-cue-timer SECONDS
 *
 * Prints tab-separated lines for tests/bench/run.sh: figure, value. */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "assembly.h"
#include "cue_timer.h"
#include "segmenter.h"

namespace {

double
cpu_seconds ()
{
  timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double (ts.tv_sec) + double (ts.tv_nsec) / 1e9;
}

constexpr int RATE = 48000;
constexpr int CHANNELS = 2;
constexpr int BUFFER = 1024;

/* Sentences of 1.5-4 s with syllables (a 5 Hz rise and fall), pauses of
 * 0.4-1.5 s between them. */
struct Sentence {
  double start;
  double end;
};

std::vector<Sentence>
script (double seconds, std::mt19937 &rng)
{
  std::uniform_real_distribution<double> length (1.5, 4.0), pause (0.4, 1.5);
  std::vector<Sentence> out;
  for (double t = 0.5; t < seconds - 5.0;) {
    const double e = t + length (rng);
    out.push_back ({t, e});
    t = e + pause (rng);
  }
  return out;
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const double seconds = argc > 1 ? g_ascii_strtod (argv[1], nullptr) : 600.0;
  std::mt19937 rng (7);
  const std::vector<Sentence> sentences = script (seconds, rng);

  GstAudioInfo info;
  gst_audio_info_set_format (&info, GST_AUDIO_FORMAT_S16, RATE, CHANNELS, nullptr);
  std::vector<gint16> samples (BUFFER * CHANNELS);
  const guint64 total = guint64 (seconds * RATE);

  double measure = 0.0, envelope = 0.0;
  gemini::AudioEnvelope sound;
  size_t next = 0;
  for (guint64 at = 0; at < total; at += BUFFER) {
    for (int i = 0; i < BUFFER; i++) {
      const double t = double (at + i) / RATE;
      while (next < sentences.size () && sentences[next].end < t)
        next++;
      const bool speaking = next < sentences.size () && t >= sentences[next].start;
      const double syllable = 0.5 + 0.5 * std::sin (2 * G_PI * 5 * t);
      const gint16 v = speaking ? gint16 (9000 * syllable * std::sin (2 * G_PI * 220 * t)) : 0;
      samples[2 * i] = samples[2 * i + 1] = v;
    }
    const GstClockTime pts = gst_util_uint64_scale (at, GST_SECOND, RATE);
    double t0 = cpu_seconds ();
    gemini::AudioLevels levels = gemini::measure_audio (&info,
        reinterpret_cast<const guint8 *> (samples.data ()), samples.size () * 2, pts);
    double t1 = cpu_seconds ();
    sound.add (levels);
    double t2 = cpu_seconds ();
    measure += t1 - t0;
    envelope += t2 - t1;
  }

  /* The model's rows: whole seconds, up to a second off. */
  std::uniform_real_distribution<double> error (-1.0, 1.0);
  gemini::SegmentTranscript t;
  const std::string voice = "1";
  for (const auto &s : sentences) {
    gemini::Utterance u;
    u.start = GstClockTime (std::max (0.0, std::round (s.start + error (rng))) * GST_SECOND);
    u.end = GstClockTime (std::max (0.0, std::round (s.end + error (rng))) * GST_SECOND);
    if (u.end <= u.start)
      u.end = u.start + GST_SECOND;
    /* 15 characters a second of speech. */
    const guint chars = guint (std::clamp ((s.end - s.start) * 15, 1.0, 100.0));
    u.text.assign (chars, 'a');
    u.voice = voice;
    t.utterances.push_back (std::move (u));
  }

  /* Whole mode: one assembly over the hour; streaming: 120 s segments. */
  const GstClockTime end = GstClockTime (seconds * GST_SECOND);
  auto assemble = [&] (const gemini::AudioEnvelope *with, double &starts_p95) {
    gemini::Assembly a;
    const double t0 = cpu_seconds ();
    auto done = a.add (t, 0, end, 0, with);
    const double cpu = cpu_seconds () - t0;
    std::vector<double> errors;
    for (size_t i = 0; i < done.utterances.size () && i < sentences.size (); i++)
      errors.push_back (std::fabs (double (done.utterances[i].start) / GST_SECOND
              - sentences[i].start));
    std::sort (errors.begin (), errors.end ());
    starts_p95 = errors.empty () ? 0 : errors[size_t (0.95 * double (errors.size () - 1))];
    return cpu;
  };
  double p95_model = 0, p95_audio = 0;
  const double model = assemble (nullptr, p95_model);
  const double audio = assemble (&sound, p95_audio);

  double streaming = 0.0;
  for (GstClockTime from = 0; from < end; from += 120 * GST_SECOND) {
    const GstClockTime to = std::min (end, from + 120 * GST_SECOND);
    gemini::SegmentTranscript part;
    for (const auto &u : t.utterances)
      if (u.start >= from && u.start < to) {
        part.utterances.push_back (u);
        part.utterances.back ().start -= from;
        part.utterances.back ().end -= from;
      }
    gemini::Assembly a;
    const double t0 = cpu_seconds ();
    a.add (part, from, to, 0, &sound);
    streaming += cpu_seconds () - t0;
  }

  const double per_hour = 3600.0 / seconds;
  std::printf ("level measurement (both timings)\t%.3f\n", measure * per_hour);
  std::printf ("envelope (timing=audio)\t%.3f\n", envelope * per_hour);
  std::printf ("assembly, timing=model, whole\t%.3f\n", model * per_hour);
  std::printf ("assembly, timing=audio, whole\t%.3f\n", audio * per_hour);
  std::printf ("assembly, timing=audio, 120 s segments\t%.3f\n", streaming * per_hour);
  std::printf ("envelope bytes per hour\t%zu\n", size_t (double (sound.size ()) * 4 * per_hour));
  std::printf ("rows\t%zu\n", sentences.size ());
  std::printf ("start error p95, model\t%.3f\n", p95_model);
  std::printf ("start error p95, audio\t%.3f\n", p95_audio);
  return 0;
}
