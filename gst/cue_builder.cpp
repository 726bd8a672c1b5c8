/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cue_builder.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>

#include "glib_ptr.h"

namespace gemini {

namespace {

/* Light colours that stay readable over video with textoverlay's outline. */
constexpr std::array<const char *, 8> PALETTE = {
  "#FFD700", "#00E5FF", "#7CFC00", "#FF80AB", "#FFA040", "#B388FF", "#A7FFEB", "#FFFFFF",
};

/* A pause at least this long can end a sentence or a phrase. */
constexpr GstClockTime PAUSE_BETWEEN_PHRASES = 250 * GST_MSECOND;

struct Token {
  std::string text;
  glong chars = 0;
  bool label = false;
};

glong
utf8_chars (const std::string &s)
{
  return g_utf8_strlen (s.c_str (), static_cast<gssize> (s.size ()));
}

/* Words of the text; whitespace of any kind separates them. A word longer
 * than a line (a URL, or text written without spaces) is cut into line-sized
 * pieces. */
std::vector<Token>
tokenize (const std::string &text, glong max_chars)
{
  std::vector<Token> tokens;
  std::string word;
  glong word_chars = 0;
  auto flush = [&] () {
    if (word.empty ())
      return;
    tokens.push_back (Token{std::move (word), word_chars, false});
    word.clear ();
    word_chars = 0;
  };
  for (const gchar *p = text.c_str (); *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (g_unichar_isspace (c)) {
      flush ();
      continue;
    }
    if (word_chars == max_chars)
      flush ();
    word.append (p, g_utf8_next_char (p) - p);
    word_chars++;
  }
  flush ();
  return tokens;
}

gunichar
last_significant_char (const std::string &word)
{
  static const std::u32string closers = U")]\"'\u00BB\u201D\u2019";
  const gchar *end = word.c_str () + word.size ();
  const gchar *p = end;
  while (p > word.c_str ()) {
    p = g_utf8_prev_char (p);
    gunichar c = g_utf8_get_char (p);
    if (closers.find (c) == std::u32string::npos)
      return c;
  }
  return 0;
}

bool
ends_sentence (const Token &t)
{
  static const std::u32string marks = U".!?\u2026\u3002\uFF01\uFF1F";
  gunichar c = last_significant_char (t.text);
  return c && marks.find (c) != std::u32string::npos;
}

bool
ends_phrase (const Token &t)
{
  static const std::u32string marks = U",;:\u2014\u2013\uFF0C\u3001\uFF1B\uFF1A";
  gunichar c = last_significant_char (t.text);
  return c && marks.find (c) != std::u32string::npos;
}

/* Fewest lines the tokens need when filled greedily (which is the fewest
 * possible), each line at most `width`. */
guint
greedy_lines (const std::vector<Token> &tokens, glong width)
{
  guint lines = 0;
  glong used = 0;
  for (const auto &t : tokens) {
    if (lines == 0 || used + 1 + t.chars > width) {
      lines++;
      used = t.chars;
    } else {
      used += 1 + t.chars;
    }
  }
  return lines;
}

/* Breaks the tokens into `lines` lines whose longest is as short as possible
 * (a balanced two-liner reads better than a full line and a stub). */
std::vector<gsize>
balanced_breaks (const std::vector<Token> &tokens, guint lines, glong width)
{
  const gsize n = tokens.size ();
  const glong INF = std::numeric_limits<glong>::max ();
  std::vector<glong> prefix (n + 1, 0);
  for (gsize i = 0; i < n; i++)
    prefix[i + 1] = prefix[i] + tokens[i].chars;
  auto line_width = [&] (gsize from, gsize to) {
    return prefix[to] - prefix[from] + static_cast<glong> (to - from - 1);
  };

  /* best[l][i]: smallest longest line for the first i tokens in l lines. */
  std::vector<std::vector<glong>> best (lines + 1, std::vector<glong> (n + 1, INF));
  std::vector<std::vector<gsize>> from (lines + 1, std::vector<gsize> (n + 1, 0));
  best[0][0] = 0;
  for (guint l = 1; l <= lines; l++) {
    for (gsize i = 1; i <= n; i++) {
      for (gsize j = l - 1; j < i; j++) {
        if (best[l - 1][j] == INF)
          continue;
        glong w = line_width (j, i);
        if (w > width)
          continue;
        glong cost = std::max (best[l - 1][j], w);
        if (cost < best[l][i]) {
          best[l][i] = cost;
          from[l][i] = j;
        }
      }
    }
  }
  if (best[lines][n] == INF)
    return {};

  std::vector<gsize> breaks;
  gsize i = n;
  for (guint l = lines; l > 1; l--) {
    i = from[l][i];
    breaks.push_back (i);
  }
  std::reverse (breaks.begin (), breaks.end ());
  return breaks;
}

std::string
colour_for (const std::string &speaker_id)
{
  guint index;
  if (speaker_id.size () > 1 && speaker_id[0] == 'S'
      && g_ascii_isdigit (speaker_id[1]))
    index = static_cast<guint> (g_ascii_strtoull (speaker_id.c_str () + 1, nullptr, 10) - 1);
  else
    index = g_str_hash (speaker_id.c_str ());
  return PALETTE[index % PALETTE.size ()];
}

std::string
escape (const std::string &s)
{
  GPtr<gchar> e (g_markup_escape_text (s.c_str (), static_cast<gssize> (s.size ())));
  return e.get ();
}

struct Planned {
  GstClockTime pts = 0;
  GstClockTime slot = 0;             /* its share of the utterance's span */
  glong chars = 0;
  std::string text;
  std::string markup;
  std::string speaker_id;
  std::string voice;
  bool speaker_changed = false;
};

/* "Name:" in front of an utterance whose speaker changed, cut to fit a line. */
std::optional<Token>
speaker_label (const TimedUtterance &u, glong width)
{
  std::string name = !u.speaker_label.empty () ? u.speaker_label : u.speaker_id;
  if (name.empty ())
    return std::nullopt;
  if (utf8_chars (name) + 1 > width) {
    GPtr<gchar> cut (g_utf8_substring (name.c_str (), 0, width - 2));
    name = std::string (cut.get ()) + "\u2026";
  }
  return Token{name + ":", utf8_chars (name) + 1, true};
}

/* Cuts the utterance into pieces that fit, preferring sentence ends, then
 * phrase ends, as long as the piece is not tiny. The label opens the first. */
std::vector<std::vector<Token>>
cut_into_chunks (const std::vector<Token> &words, const std::optional<Token> &label,
    glong width, guint max_lines)
{
  const glong capacity = width * max_lines;
  std::vector<std::vector<Token>> chunks;
  gsize pos = 0;
  while (pos < words.size ()) {
    std::vector<Token> trial;
    if (label && chunks.empty ())
      trial.push_back (*label);
    gsize fit = 0;
    for (gsize k = pos; k < words.size (); k++) {
      trial.push_back (words[k]);
      if (greedy_lines (trial, width) > max_lines)
        break;
      fit++;
    }
    fit = std::max<gsize> (fit, 1);

    gsize take = fit;
    if (pos + fit < words.size ()) {
      gsize sentence = 0, phrase = 0;
      glong chars = 0;
      for (gsize k = 1; k <= fit; k++) {
        const Token &w = words[pos + k - 1];
        chars += w.chars + 1;
        if (chars < capacity / 3)
          continue;
        if (ends_sentence (w))
          sentence = k;
        else if (ends_phrase (w))
          phrase = k;
      }
      take = sentence ? sentence : phrase ? phrase : fit;
    }

    std::vector<Token> chunk;
    if (label && chunks.empty ())
      chunk.push_back (*label);
    chunk.insert (chunk.end (), words.begin () + pos, words.begin () + pos + take);
    chunks.push_back (std::move (chunk));
    pos += take;
  }
  return chunks;
}

/* The time the utterance's cues share: to its end, else to the next one's
 * start, else to the segment's end; never past the segment's end. */
GstClockTime
utterance_span (const std::vector<TimedUtterance> &utterances, gsize ui, GstClockTime limit,
    GstClockTime max_duration)
{
  const TimedUtterance &u = utterances[ui];
  GstClockTime span_end;
  if (GST_CLOCK_TIME_IS_VALID (u.end) && u.end > u.start)
    span_end = u.end;
  else if (ui + 1 < utterances.size ())
    span_end = std::max (utterances[ui + 1].start, u.start);
  else if (GST_CLOCK_TIME_IS_VALID (limit))
    span_end = std::max (limit, u.start);
  else
    span_end = u.start + max_duration;
  if (GST_CLOCK_TIME_IS_VALID (limit))
    span_end = std::clamp (span_end, std::min (u.start, limit), limit);
  return span_end > u.start ? span_end - u.start : 0;
}

/* Where a chunk's lines break: balanced, or greedy for a forced piece,
 * the only kind that can fail to balance. */
std::vector<gsize>
line_breaks (const std::vector<Token> &chunk, glong width, guint max_lines)
{
  guint lines = std::min (greedy_lines (chunk, width), max_lines);
  std::vector<gsize> breaks = balanced_breaks (chunk, lines, width);
  if (!breaks.empty () || lines <= 1)
    return breaks;
  glong used = 0;
  for (gsize i = 0; i < chunk.size (); i++) {
    if (i > 0 && used + 1 + chunk[i].chars > width) {
      breaks.push_back (i);
      used = chunk[i].chars;
    } else {
      used += (i > 0 ? 1 : 0) + chunk[i].chars;
    }
  }
  return breaks;
}

/* The chunk's text and markup, its lines joined with '\n'. */
void
lay_out (const std::vector<Token> &chunk, const std::vector<gsize> &breaks,
    const std::string &speaker_id, Planned &p)
{
  gsize next_break = 0;
  for (gsize i = 0; i < chunk.size (); i++) {
    if (i > 0) {
      bool newline = next_break < breaks.size () && breaks[next_break] == i;
      if (newline)
        next_break++;
      p.text += newline ? '\n' : ' ';
      p.markup += newline ? '\n' : ' ';
    }
    p.text += chunk[i].text;
    if (chunk[i].label)
      p.markup += "<span foreground=\"" + colour_for (speaker_id) + "\">"
          + escape (chunk[i].text) + "</span>";
    else
      p.markup += escape (chunk[i].text);
  }
}

/* Each chunk's time when nothing is known of the sound: the utterance's
 * span shared in proportion to the text each holds. */
std::vector<SpeechSpan>
share_span (GstClockTime start, GstClockTime span, const std::vector<guint64> &shares)
{
  guint64 total = 0;
  for (auto n : shares)
    total += n;
  total = std::max<guint64> (total, 1);
  std::vector<SpeechSpan> times;
  guint64 before = 0;
  for (auto n : shares) {
    const GstClockTime from = start + gst_util_uint64_scale (span, before, total);
    times.push_back ({from, from + gst_util_uint64_scale (span, n, total)});
    before += n;
  }
  return times;
}

/* Each chunk's time on the utterance's speech: its share of the text is a
 * share of the time spoken (pauses left out), and a chunk that begins near
 * a stretch of speech after a pause begins there, since speakers pause
 * between sentences and phrases, where chunks are cut (the short stops
 * between words are no such place). A chunk ends where its speech does,
 * not at the next one's start. */
std::vector<SpeechSpan>
share_speech (const std::vector<SpeechSpan> &speech, const std::vector<guint64> &shares,
    GstClockTime end)
{
  /* Spoken time before each span. */
  std::vector<GstClockTime> spoken_before;
  GstClockTime spoken = 0;
  for (const auto &s : speech) {
    spoken_before.push_back (spoken);
    spoken += s.end - s.start;
  }
  guint64 total = 0;
  for (auto n : shares)
    total += n;
  total = std::max<guint64> (total, 1);
  const GstClockTime tolerance = spoken * 35 / 100 / std::max<size_t> (shares.size (), 1);

  /* The time `at` of spoken time lands on; `span` the span it is in. */
  auto when = [&] (GstClockTime at, size_t &span) {
    span = speech.size () - 1;
    for (size_t j = 0; j + 1 < speech.size (); j++) {
      if (at < spoken_before[j + 1]) {
        span = j;
        break;
      }
    }
    return std::min (speech[span].start + (at - spoken_before[span]), speech[span].end);
  };

  std::vector<SpeechSpan> times (shares.size ());
  guint64 before = 0;
  size_t used = 0;                    /* no chunk starts on a span before the last one's */
  for (size_t ci = 0; ci < shares.size (); ci++) {
    const GstClockTime at = gst_util_uint64_scale (spoken, before, total);
    size_t span = 0;
    GstClockTime start = ci == 0 ? speech.front ().start : when (at, span);
    if (ci > 0) {
      size_t nearest = 0;
      GstClockTime best = GST_CLOCK_TIME_NONE;
      for (size_t j = used + 1; j < speech.size (); j++) {
        if (speech[j].start < speech[j - 1].end + PAUSE_BETWEEN_PHRASES)
          continue;
        const GstClockTime d = spoken_before[j] > at ? spoken_before[j] - at
            : at - spoken_before[j];
        if (d < best) {
          best = d;
          nearest = j;
        }
      }
      if (nearest > 0 && best <= tolerance) {
        span = nearest;
        start = speech[nearest].start;
        times[ci - 1].end = speech[nearest - 1].end;
      }
      used = std::max (used, span);
      start = std::max (start, times[ci - 1].start);
    }
    times[ci].start = start;
    if (ci > 0 && times[ci - 1].end > start)
      times[ci - 1].end = start;
    times[ci].end = end;
    before += shares[ci];
  }
  return times;
}

/* Place the cues: long enough to read, within [min, max], ending `min_gap`
 * before the next cue's start (and the segment's end, where the next
 * segment's first cue may start); a cue that would start sooner after the
 * previous one waits for the gap. A cue keeps the time the model gave it, even right at
 * the end of the segment: it may then run past `limit` by less than
 * min_duration rather than be moved earlier than the words or dropped. */
std::vector<Cue>
place (std::vector<Planned> &planned, GstClockTime limit, const CueOptions &opts)
{
  std::vector<Cue> cues;
  GstClockTime prev_end = 0;
  for (gsize i = 0; i < planned.size (); i++) {
    Planned &p = planned[i];
    GstClockTime pts = i > 0 ? std::max (p.pts, prev_end + opts.min_gap) : p.pts;

    GstClockTime reading = opts.max_chars_per_second > 0
        ? static_cast<GstClockTime> (p.chars / opts.max_chars_per_second * GST_SECOND)
        : 0;
    GstClockTime want = std::clamp (std::max (reading, p.slot), opts.min_duration,
        std::max (opts.max_duration, opts.min_duration));
    GstClockTime end = pts + want;
    if (i + 1 < planned.size () && planned[i + 1].pts > pts) {
      const GstClockTime next = planned[i + 1].pts;
      end = std::min (end, next > pts + opts.min_gap ? next - opts.min_gap : next);
    }
    if (GST_CLOCK_TIME_IS_VALID (limit))
      end = std::min (end, std::max (limit > pts + opts.min_gap ? limit - opts.min_gap : limit,
              pts + opts.min_duration));

    Cue cue;
    cue.pts = pts;
    cue.duration = end - pts;
    cue.text = std::move (p.text);
    cue.markup = std::move (p.markup);
    cue.speaker_id = std::move (p.speaker_id);
    cue.voice = std::move (p.voice);
    cue.speaker_changed = p.speaker_changed;
    cues.push_back (std::move (cue));
    prev_end = end;
  }
  return cues;
}

}  // namespace

std::vector<Cue>
CueBuilder::build (const std::vector<TimedUtterance> &utterances, GstClockTime limit)
{
  const glong width = std::max<glong> (opts_.max_line_chars, 2);
  const guint max_lines = std::max<guint> (opts_.max_lines, 1);

  std::vector<Planned> planned;
  for (gsize ui = 0; ui < utterances.size (); ui++) {
    const TimedUtterance &u = utterances[ui];
    std::vector<Token> words = tokenize (u.text, width);
    if (words.empty ())
      continue;

    const bool changed = u.speaker_id != last_speaker_;
    last_speaker_ = u.speaker_id;
    const std::optional<Token> label = changed ? speaker_label (u, width) : std::nullopt;
    const auto chunks = cut_into_chunks (words, label, width, max_lines);
    const GstClockTime span = utterance_span (utterances, ui, limit, opts_.max_duration);

    /* The span is shared by the text each chunk holds, labels aside. */
    auto content_of = [] (const std::vector<Token> &chunk) {
      guint64 n = 0;
      for (const auto &t : chunk)
        n += t.label ? 0 : static_cast<guint64> (t.chars);
      return n;
    };
    std::vector<guint64> shares;
    for (const auto &c : chunks)
      shares.push_back (content_of (c));
    const auto times = u.speech.empty () ? share_span (u.start, span, shares)
        : share_speech (u.speech, shares, u.start + span);

    for (gsize ci = 0; ci < chunks.size (); ci++) {
      const auto &chunk = chunks[ci];
      Planned p;
      p.pts = times[ci].start;
      p.slot = times[ci].end > times[ci].start ? times[ci].end - times[ci].start : 0;
      for (const auto &t : chunk)
        p.chars += t.chars;
      p.speaker_id = u.speaker_id;
      p.voice = u.voice;
      p.speaker_changed = changed && ci == 0;
      lay_out (chunk, line_breaks (chunk, width, max_lines), u.speaker_id, p);
      planned.push_back (std::move (p));
    }
  }
  return place (planned, limit, opts_);
}

}  // namespace gemini
