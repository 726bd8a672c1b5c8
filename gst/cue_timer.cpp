/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cue_timer.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace gemini {

namespace {

/* Nothing quieter is speech, whatever the background. */
constexpr double QUIETEST_SPEECH_DB = -70.0;
/* Speech this far under the segment's loud frames is someone far away. */
constexpr double BELOW_PEAK_DB = 40.0;
/* How far each side the background is looked for. */
constexpr GstClockTime BACKGROUND = 1500 * GST_MSECOND;
/* How far the soft edges of a stretch (breath, a fading vowel) reach. */
constexpr size_t EDGE_FRAMES = 5;
/* Frames averaged before the background is taken: the beats of a music
 * bed's chords dip for a frame or two, far below its level. */
constexpr size_t SMOOTHING = 3;
/* Speaking rates believed, in characters a second. */
constexpr double SLOWEST_RATE = 8.0, FASTEST_RATE = 25.0, USUAL_RATE = 15.0;

/* The costs, in seconds of error. A row left where the model put it costs
 * as much as the farthest onset it may be moved to; speech no row claims
 * costs half its length (the model may have skipped it, or it is a noise),
 * and more when it is so close to a row's speech that it must be the start
 * or the end of it (a soft first syllable over music, split off by its
 * stop); an end or a length off by a second costs half a second of start. */
constexpr double END_WEIGHT = 0.5;
constexpr double LENGTH_WEIGHT = 0.5;
constexpr double LENGTH_SLACK = 0.35;           /* of the expected length, free */
constexpr double UNCLAIMED_WEIGHT = 0.5;
constexpr double SPLIT_OFF = 0.75;
constexpr GstClockTime SPLIT_OFF_PAUSE = 250 * GST_MSECOND;
/* Ways kept per row: beyond, a way cannot come back. */
constexpr size_t KEPT_WAYS = 48;

double
seconds (GstClockTime t)
{
  return double (t) / GST_SECOND;
}

double
distance (GstClockTime a, GstClockTime b)
{
  return std::fabs (seconds (a) - seconds (b));
}

/* Quietest level, averaged over SMOOTHING frames (as power), within
 * `radius` frames of each frame. */
std::vector<float>
background (const std::vector<float> &raw, size_t radius)
{
  std::vector<float> level (raw.size ());
  for (size_t i = 0; i < raw.size (); i++) {
    const size_t from = i >= SMOOTHING / 2 ? i - SMOOTHING / 2 : 0;
    const size_t to = std::min (raw.size (), from + SMOOTHING);
    double power = 0.0;
    for (size_t k = from; k < to; k++)
      power += std::pow (10.0, raw[k] / 10.0);
    level[i] = float (10.0 * std::log10 (std::max (power / double (to - from), 1e-12)));
  }
  std::vector<float> out (level.size ());
  std::deque<size_t> window;            /* indices of rising levels */
  size_t next = 0;
  for (size_t i = 0; i < level.size (); i++) {
    const size_t hi = std::min (level.size () - 1, i + radius);
    for (; next <= hi; next++) {
      while (!window.empty () && level[window.back ()] >= level[next])
        window.pop_back ();
      window.push_back (next);
    }
    while (window.front () + radius < i)
      window.pop_front ();
    out[i] = level[window.front ()];
  }
  return out;
}

float
percentile (std::vector<float> v, double p)
{
  if (v.empty ())
    return AudioEnvelope::SILENCE_DB;
  auto nth = v.begin () + static_cast<ptrdiff_t> (p * double (v.size () - 1));
  std::nth_element (v.begin (), nth, v.end ());
  return *nth;
}

/* One way of placing the rows so far: the last stretch it used, what it
 * cost, the way it came from, and where the row began (-1: not moved). */
struct Way {
  int last = -1;
  double cost = 0.0;
  int from = -1;
  int first = -1;
};

}  // namespace

std::vector<SpeechSpan>
CueTimer::find_speech (const AudioEnvelope &sound, GstClockTime from, GstClockTime to) const
{
  std::vector<SpeechSpan> spans;
  if (sound.empty () || !GST_CLOCK_TIME_IS_VALID (to))
    to = sound.end ();
  from = std::max (from, sound.start ());
  to = std::min (to, sound.end ());
  if (sound.empty () || to <= from)
    return spans;

  const size_t first = sound.frame_at (from);
  const size_t n = sound.frame_at (to - 1) + 1 - first;
  std::vector<float> level (n);
  for (size_t i = 0; i < n; i++)
    level[i] = sound.level (first + i);
  const std::vector<float> floor = background (level, BACKGROUND / AudioEnvelope::FRAME);
  const double loud = percentile (level, 0.95);
  const double least = std::max (QUIETEST_SPEECH_DB, loud - BELOW_PEAK_DB);

  auto above = [&] (size_t i, double margin) {
    return level[i] > std::max (least, floor[i] + margin);
  };

  /* Runs of speech, short pauses bridged: a run starts well above the
   * background and goes on while the level stays above it, so
   * that the dips between syllables of a long sentence, which the
   * background then follows, do not end it. */
  const size_t bridge = o_.bridge / AudioEnvelope::FRAME;
  std::vector<std::pair<size_t, size_t>> runs;     /* [begin, end) frames */
  bool in_run = false;
  for (size_t i = 0; i < n; i++) {
    if (in_run && above (i, o_.within_db)) {
      runs.back ().second = i + 1;
      continue;
    }
    if (in_run && i - runs.back ().second <= bridge)
      continue;
    in_run = false;
    if (!above (i, o_.above_floor_db))
      continue;
    if (!runs.empty () && i - runs.back ().second <= bridge)
      runs.back ().second = i + 1;
    else
      runs.emplace_back (i, i + 1);
    in_run = true;
  }

  /* Soft edges, up to the neighbours; clicks dropped. */
  const size_t shortest = o_.shortest / AudioEnvelope::FRAME;
  for (size_t r = 0; r < runs.size (); r++) {
    auto [b, e] = runs[r];
    const size_t low = r > 0 ? runs[r - 1].second : 0;
    const size_t high = r + 1 < runs.size () ? runs[r + 1].first : n;
    for (size_t k = 0; k < EDGE_FRAMES && b > low && above (b - 1, o_.within_db); k++)
      b--;
    for (size_t k = 0; k < EDGE_FRAMES && e < high && above (e, o_.within_db); k++)
      e++;
    runs[r] = {b, e};
    if (e - b < shortest)
      continue;
    spans.push_back ({sound.time_of (first + b), sound.time_of (first + e)});
  }
  return spans;
}

size_t
CueTimer::time (std::vector<TimedUtterance> &rows, const AudioEnvelope &sound,
    GstClockTime from, GstClockTime to) const
{
  for (auto &r : rows) {
    if (!GST_CLOCK_TIME_IS_VALID (r.model_start))
      r.model_start = r.start;
    if (!GST_CLOCK_TIME_IS_VALID (r.model_end))
      r.model_end = r.end;
    r.speech.clear ();
  }
  if (rows.empty ())
    return 0;
  const std::vector<SpeechSpan> spans = find_speech (sound, from, to);
  if (spans.empty ())
    return 0;

  /* The segment's own speaking rate: its text over its speech. */
  std::vector<double> chars (rows.size ());
  double all_chars = 0.0;
  for (size_t i = 0; i < rows.size (); i++) {
    chars[i] = double (g_utf8_strlen (rows[i].text.c_str (), -1));
    all_chars += chars[i];
  }
  std::vector<double> spoken_before (spans.size () + 1, 0.0);
  for (size_t j = 0; j < spans.size (); j++)
    spoken_before[j + 1] = spoken_before[j] + seconds (spans[j].end - spans[j].start);
  const double rate = spoken_before.back () >= 1.0
      ? std::clamp (all_chars / spoken_before.back (), SLOWEST_RATE, FASTEST_RATE)
      : USUAL_RATE;
  /* What leaving the spans between `last` and `next` to nobody costs. */
  auto unclaimed = [&] (int last, int next) {
    if (next <= last + 1)
      return 0.0;
    double cost = UNCLAIMED_WEIGHT * (spoken_before[next] - spoken_before[last + 1]);
    auto close = [&] (int a, int b) {
      return spans[b].start < spans[a].end + SPLIT_OFF_PAUSE;
    };
    if (last >= 0 && close (last, last + 1))
      cost += SPLIT_OFF;
    if (next < int (spans.size ()) && close (next - 1, next))
      cost += SPLIT_OFF;
    return cost;
  };

  const double search = seconds (o_.search);
  std::vector<std::vector<Way>> ways (rows.size () + 1);
  ways[0].push_back (Way{});
  for (size_t i = 0; i < rows.size (); i++) {
    const TimedUtterance &row = rows[i];
    const std::vector<Way> &before = ways[i];
    std::vector<Way> next;
    auto keep = [&next] (Way w) {
      for (auto &o : next) {
        if (o.last == w.last) {
          if (w.cost < o.cost)
            o = w;
          return;
        }
      }
      next.push_back (w);
    };

    for (size_t k = 0; k < before.size (); k++)
      keep (Way{before[k].last, before[k].cost + search, int (k), -1});

    const double expected = std::max (chars[i] / rate, 0.3);
    const double longest = std::max (2.5 * expected, expected + 4.0);
    for (size_t a = 0; a < spans.size (); a++) {
      const double start_cost = distance (spans[a].start, row.start);
      if (spans[a].start + o_.search < row.start)
        continue;
      if (spans[a].start > row.start + o_.search)
        break;
      int best = -1;
      double best_cost = std::numeric_limits<double>::infinity ();
      for (size_t k = 0; k < before.size (); k++) {
        if (before[k].last >= int (a))
          continue;
        const double c = before[k].cost + unclaimed (before[k].last, int (a));
        if (c < best_cost) {
          best_cost = c;
          best = int (k);
        }
      }
      if (best < 0)
        continue;
      for (size_t b = a; b < spans.size (); b++) {
        const double length = seconds (spans[b].end - spans[a].start);
        if (length > longest)
          break;
        double cost = best_cost + start_cost + LENGTH_WEIGHT
            * std::max (0.0, std::fabs (length - expected) - LENGTH_SLACK * expected);
        if (GST_CLOCK_TIME_IS_VALID (row.end) && row.end > row.start) {
          if (spans[b].end > row.end + o_.search)
            break;
          cost += END_WEIGHT * distance (spans[b].end, row.end);
        }
        keep (Way{int (b), cost, best, int (a)});
      }
    }

    std::sort (next.begin (), next.end (), [] (const Way &x, const Way &y) {
      return x.cost < y.cost; });
    if (next.size () > KEPT_WAYS)
      next.resize (KEPT_WAYS);
    ways[i + 1] = std::move (next);
  }

  int way = -1;
  double total = std::numeric_limits<double>::infinity ();
  const std::vector<Way> &last = ways.back ();
  for (size_t k = 0; k < last.size (); k++) {
    const double c = last[k].cost + unclaimed (last[k].last, int (spans.size ()));
    if (c < total) {
      total = c;
      way = int (k);
    }
  }

  std::vector<std::pair<int, int>> chosen (rows.size (), {-1, -1});
  for (size_t i = rows.size (); i > 0 && way >= 0; i--) {
    const Way &w = ways[i][way];
    if (w.first >= 0)
      chosen[i - 1] = {w.first, w.last};
    way = w.from;
  }

  size_t moved = 0;
  for (size_t i = 0; i < rows.size (); i++) {
    auto [a, b] = chosen[i];
    if (a < 0)
      continue;
    rows[i].start = spans[a].start;
    rows[i].end = spans[b].end;
    rows[i].speech.assign (spans.begin () + a, spans.begin () + b + 1);
    moved++;
  }

  /* A row left in place stays between its moved neighbours. */
  for (size_t i = 0; i < rows.size (); i++) {
    if (!rows[i].speech.empty ())
      continue;
    if (i > 0 && !rows[i - 1].speech.empty ())
      rows[i].start = std::max (rows[i].start, rows[i - 1].end);
    if (i + 1 < rows.size () && !rows[i + 1].speech.empty ()) {
      rows[i].start = std::min (rows[i].start, rows[i + 1].start);
      if (GST_CLOCK_TIME_IS_VALID (rows[i].end))
        rows[i].end = std::clamp (rows[i].end, rows[i].start, rows[i + 1].start);
    }
  }
  return moved;
}

}  // namespace gemini
