/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "transcript_parser.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <json-glib/json-glib.h>

#include "debug.h"
#include "glib_ptr.h"
#include "json_doc.h"
#include "bounds.h"
#include "timecode.h"

GEMINI_DEBUG_CATEGORY (gemini_parser_debug, "geminiparser",
    "Gemini transcript parser");
#define GST_CAT_DEFAULT gemini_parser_debug

namespace gemini {

namespace {

/* Our schema nests three levels; anything much deeper is not an answer we
 * asked for, and json-glib recurses on nesting. */
constexpr gsize MAX_DEPTH = 32;

/* Answers a stream re-reads on every completed row (a few hundred rows). */
constexpr gsize EAGER_PARSE = 64 * 1024;

/* One tolerance for "same second": the model writes whole seconds. */
constexpr GstClockTime TOLERANCE = GST_SECOND;

/* A sentence the segment's cut interrupts ends after the segment: clamping
 * it is routine. An end further past than a long sentence is a wrong time. */
constexpr GstClockTime END_OVERHANG = 10 * GST_SECOND;

/* A phrase said more than this many times in a row is a generation loop. */
constexpr gsize MAX_REPEATS = 3;
/* Single words repeat legitimately more often ("no, no, no, no"). */
constexpr gsize MAX_WORD_REPEATS = 7;

/* A time read from the answer, before any repair; signed so that "-00:03"
 * can be noticed and clamped. */
struct RawTime {
  gint64 ns = 0;
  std::string raw;
};

struct RawUtterance {
  std::optional<RawTime> start;
  std::string start_raw;             /* what was there when unparseable */
  std::optional<RawTime> end;
  std::string text;
  std::string voice;
};

/* Collects repairs by kind, so that a 10 MB answer with a problem on every
 * row yields a few lines, not a million. */
class Repairs {
public:
  void add (const char *kind, std::string detail) {
    for (auto &e : entries_) {
      if (e.kind == kind) {
        e.count++;
        return;
      }
    }
    entries_.push_back ({kind, std::move (detail), 1});
  }

  std::vector<std::string> lines () const {
    std::vector<std::string> out;
    for (const auto &e : entries_) {
      if (e.count > 1)
        out.push_back (e.detail + " (and " + std::to_string (e.count - 1) + " more)");
      else
        out.push_back (e.detail);
    }
    return out;
  }

private:
  struct Entry {
    const char *kind;
    std::string detail;
    guint count;
  };
  std::vector<Entry> entries_;
};

/* What a repair quotes of the answer: a timecode, not a paragraph. The
 * lenient reader may hand over invalid UTF-8, which g_utf8_substring()
 * would read past. */
std::string
excerpt (const std::string &s)
{
  constexpr glong SHOWN = 32;
  GPtr<gchar> valid (g_utf8_make_valid (s.data (), static_cast<gssize> (s.size ())));
  if (g_utf8_strlen (valid.get (), -1) <= SHOWN)
    return valid.get ();
  GPtr<gchar> head (g_utf8_substring (valid.get (), 0, SHOWN));
  return std::string (head.get ()) + "…";
}

std::string
trim (std::string_view s)
{
  auto is_space = [] (char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty () && is_space (s.front ()))
    s.remove_prefix (1);
  while (!s.empty () && is_space (s.back ()))
    s.remove_suffix (1);
  return std::string (s);
}

bool
contains_ci (std::string_view haystack, std::string_view needle)
{
  if (needle.size () > haystack.size ())
    return false;
  for (gsize i = 0; i + needle.size () <= haystack.size (); i++) {
    if (g_ascii_strncasecmp (haystack.data () + i, needle.data (), needle.size ()) == 0)
      return true;
  }
  return false;
}

/* Member lookup that tolerates "Start", "TEXT"... */
JsonNode *
member_ci (JsonObject *obj, const char *name)
{
  if (JsonNode *n = json_object_get_member (obj, name))
    return n;
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *value;
  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &key, &value)) {
    if (g_ascii_strcasecmp (key, name) == 0)
      return value;
  }
  return nullptr;
}

/* Valid UTF-8 even when the answer was not: escapes such as a lone
 * surrogate (\udce9) decode to bytes that are not UTF-8, after the whole
 * text was already made valid. */
std::optional<std::string>
node_string (JsonNode *node)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return std::nullopt;
  switch (json_node_get_value_type (node)) {
    case G_TYPE_STRING: {
      GPtr<gchar> valid (g_utf8_make_valid (json_node_get_string (node), -1));
      return std::string (valid.get ());
    }
    case G_TYPE_INT64:
      return std::to_string (json_node_get_int (node));
    case G_TYPE_DOUBLE: {
      gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
      return std::string (g_ascii_dtostr (buf, sizeof (buf), json_node_get_double (node)));
    }
    default:
      return std::nullopt;
  }
}

/* Strings are timecodes; bare numbers are taken as seconds. */
std::optional<RawTime>
node_time (JsonNode *node, std::string *raw_out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return std::nullopt;
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64 || type == G_TYPE_DOUBLE) {
    double secs = json_node_get_double (node);
    if (!(secs > -1e7 && secs < 1e7))
      return std::nullopt;
    std::string raw = *node_string (node);
    return RawTime{static_cast<gint64> (secs * GST_SECOND), raw};
  }
  if (type != G_TYPE_STRING)
    return std::nullopt;

  std::string raw = trim (json_node_get_string (node));
  if (raw_out)
    *raw_out = raw;
  std::string_view s = raw;
  bool negative = !s.empty () && s.front () == '-';
  if (negative)
    s.remove_prefix (1);
  auto t = parse_timecode (s);
  if (!t)
    return std::nullopt;
  gint64 ns = static_cast<gint64> (std::min<GstClockTime> (*t, G_MAXINT64 / 2));
  return RawTime{negative ? -ns : ns, raw};
}

/* "Speaker 2", "2", 2, 2.0, "voice_02" -> "2". A voice with no digits keeps
 * its text ("A"); a missing one is "?". */
std::string
normalize_voice (JsonNode *node)
{
  auto s = node_string (node);
  if (!s)
    return std::string (UNKNOWN);
  std::string v = trim (*s);
  gsize i = v.find_first_of ("0123456789");
  if (i == std::string::npos)
    return or_unknown (v);
  gsize j = v.find_first_not_of ("0123456789", i);
  std::string digits = v.substr (i, j == std::string::npos ? std::string::npos : j - i);
  gsize nz = digits.find_first_not_of ('0');
  return nz == std::string::npos ? "0" : digits.substr (nz);
}

std::string
field_or_unknown (JsonObject *obj, const char *name, const char *alias = nullptr)
{
  JsonNode *n = member_ci (obj, name);
  if (!n && alias)
    n = member_ci (obj, alias);
  auto s = node_string (n);
  return or_unknown (s ? trim (*s) : std::string ());
}

/* What an answer holds, read up to the bounds of its clip
 * (gst/bounds.h): rows past them are counted, not kept. */
struct Extracted {
  explicit Extracted (const ParseContext &ctx)
      : max_rows (limits::in_proportion (ctx.duration, limits::ROWS_PER_MINUTE,
                limits::ROWS_FLOOR)),
        max_speakers (limits::in_proportion (ctx.duration,
                limits::SPEAKERS_PER_MINUTE, limits::SPEAKERS_FLOOR)) {}

  std::vector<RawUtterance> rows;
  std::vector<Speaker> speakers;
  std::string language;
  bool recognized = false;           /* found a table, even an empty one */
  gsize max_rows;
  gsize max_speakers;
  gsize rows_over = 0;
  gsize speakers_over = 0;
};

void
add_utterance_row (JsonNode *node, Extracted &out)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  if (out.rows.size () >= out.max_rows) {
    out.rows_over++;
    return;
  }
  JsonObject *obj = json_node_get_object (node);
  RawUtterance u;
  std::string raw;
  JsonNode *start = member_ci (obj, "start");
  u.start = node_time (start, &raw);
  if (!u.start)
    u.start_raw = raw;
  u.end = node_time (member_ci (obj, "end"), nullptr);
  auto text = node_string (member_ci (obj, "text"));
  u.text = text ? trim (*text) : std::string ();
  u.voice = normalize_voice (member_ci (obj, "voice"));
  out.rows.push_back (std::move (u));
}

/* The field an evidence is about, in the table's words; empty for none. */
std::string
evidence_field (JsonObject *obj)
{
  auto f = node_string (member_ci (obj, "field"));
  if (!f)
    return {};
  std::string v = trim (*f);
  for (const char *known : {"name", "company", "position", "role_in_video"}) {
    if (g_ascii_strcasecmp (v.c_str (), known) == 0)
      return known;
  }
  return g_ascii_strcasecmp (v.c_str (), "role") == 0 ? "role_in_video" : std::string ();
}

/* One evidence per field, the first; a field the table does not have, or
 * an evidence without words, is dropped. Words are cut to a line, so that
 * a model that pastes the whole transcript there costs nothing. */
std::vector<Evidence>
read_evidence (JsonArray *list)
{
  constexpr glong MAX_EVIDENCE_CHARS = 200;
  std::vector<Evidence> out;
  for (guint i = 0; i < json_array_get_length (list) && out.size () < 4; i++) {
    JsonNode *node = json_array_get_element (list, i);
    if (!JSON_NODE_HOLDS_OBJECT (node))
      continue;
    JsonObject *obj = json_node_get_object (node);
    Evidence e;
    e.field = evidence_field (obj);
    auto text = node_string (member_ci (obj, "text"));
    if (e.field.empty () || !text || trim (*text).empty ()
        || std::any_of (out.begin (), out.end (), [&e] (const Evidence &o) {
              return o.field == e.field; }))
      continue;
    e.text = trim (*text);
    if (g_utf8_strlen (e.text.c_str (), -1) > MAX_EVIDENCE_CHARS) {
      GPtr<gchar> cut (g_utf8_substring (e.text.c_str (), 0, MAX_EVIDENCE_CHARS - 1));
      e.text = std::string (cut.get ()) + "\u2026";
    }
    auto source = node_string (member_ci (obj, "source"));
    const std::string src = source ? trim (*source) : std::string ();
    e.source = g_ascii_strcasecmp (src.c_str (), "shown") == 0 ? "shown"
        : g_ascii_strcasecmp (src.c_str (), "said") == 0 ? "said" : std::string (UNKNOWN);
    if (auto t = node_time (member_ci (obj, "time"), nullptr); t && t->ns >= 0)
      e.time = static_cast<GstClockTime> (t->ns);
    out.push_back (std::move (e));
  }
  return out;
}

void
add_speaker_row (JsonNode *node, Extracted &out)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  if (out.speakers.size () >= out.max_speakers) {
    out.speakers_over++;
    return;
  }
  JsonObject *obj = json_node_get_object (node);
  Speaker s;
  s.voice = normalize_voice (member_ci (obj, "voice"));
  s.name = field_or_unknown (obj, "name");
  s.company = field_or_unknown (obj, "company");
  s.position = field_or_unknown (obj, "position");
  s.role_in_video = field_or_unknown (obj, "role_in_video", "role");
  if (JsonNode *list = member_ci (obj, "evidence"); list && JSON_NODE_HOLDS_ARRAY (list))
    s.evidence = read_evidence (json_node_get_array (list));
  out.speakers.push_back (std::move (s));
}

enum class Role { None, Transcripts, Speakers };

Role
key_role (std::string_view key)
{
  if (contains_ci (key, "transcript") || contains_ci (key, "utterance"))
    return Role::Transcripts;
  if (contains_ci (key, "speaker"))
    return Role::Speakers;
  return Role::None;
}


/* "en", "EN", "en-US", "fra" -> the primary ISO-639 subtag in lower case;
 * anything else (a language name, garbage) -> "". */
std::string
normalize_language (std::string_view value)
{
  std::string code;
  for (char c : value.substr (0, value.find_first_of ("-_"))) {
    if (!g_ascii_isalpha (c))
      return {};
    code += g_ascii_tolower (c);
  }
  return code.size () == 2 || code.size () == 3 ? code : std::string ();
}

/* The language comes first in the answer, so a cut answer still has it
 * even when the JSON around it cannot be parsed. */
std::string
scan_language (std::string_view text)
{
  gsize key = text.find ("\"language\"");
  if (key == std::string_view::npos)
    return {};
  gsize open = text.find_first_not_of (" \t\r\n:", key + 10);
  if (open == std::string_view::npos || text[open] != '"')
    return {};
  gsize close = text.find ('"', open + 1);
  if (close == std::string_view::npos)
    return {};
  return normalize_language (text.substr (open + 1, close - open - 1));
}

void
extract_array (JsonNode *node, Role role, Extracted &out)
{
  if (!node || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  JsonArray *arr = json_node_get_array (node);
  guint n = json_array_get_length (arr);
  for (guint i = 0; i < n; i++) {
    if (role == Role::Transcripts)
      add_utterance_row (json_array_get_element (arr, i), out);
    else
      add_speaker_row (json_array_get_element (arr, i), out);
  }
}

void
extract_tree (JsonNode *root, Extracted &out)
{
  if (JSON_NODE_HOLDS_ARRAY (root)) {
    /* A bare array of rows; "[Music]" in prose is not one. */
    JsonArray *arr = json_node_get_array (root);
    if (json_array_get_length (arr) == 0
        || JSON_NODE_HOLDS_OBJECT (json_array_get_element (arr, 0))) {
      out.recognized = true;
      extract_array (root, Role::Transcripts, out);
    }
    return;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *value;
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &key, &value)) {
    if (g_ascii_strcasecmp (key, "language") == 0 && JSON_NODE_HOLDS_VALUE (value)
        && json_node_get_value_type (value) == G_TYPE_STRING) {
      out.language = normalize_language (json_node_get_string (value));
      continue;
    }
    Role role = key_role (key);
    if (role == Role::None)
      continue;
    out.recognized = true;
    extract_array (value, role, out);
  }
}

/* Raw control characters are not valid inside JSON strings but the model
 * emits them (a newline in a long utterance); they become spaces, and stray
 * ones between tokens are dropped. */
std::string
sanitize_controls (std::string_view s, bool &changed)
{
  std::string out;
  out.reserve (s.size ());
  JsonTextScanner scan;
  changed = false;
  for (char ch : s) {
    auto c = static_cast<unsigned char> (ch);
    if (c < 0x20 && scan.in_string ()) {
      ch = ' ';
      changed = true;
    } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      changed = true;
      continue;
    }
    scan.step (ch);
    out += ch;
  }
  return out;
}

/* End (one past) of the JSON value opening at s[begin], or npos when the
 * text stops first; `too_deep` when nesting exceeds MAX_DEPTH. */
gsize
value_end (std::string_view s, gsize begin, bool &too_deep)
{
  JsonTextScanner scan;
  gsize depth = 0;
  too_deep = false;
  for (gsize i = begin; i < s.size (); i++) {
    switch (scan.step (s[i])) {
      case JsonTextScanner::Token::Open:
        if (++depth > MAX_DEPTH)
          too_deep = true;
        break;
      case JsonTextScanner::Token::Close:
        if (depth == 0 || --depth == 0)
          return i + 1;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

/* Reads every complete row of a cut (or otherwise broken) answer: one pass
 * that tracks strings, escapes and nesting, and parses each complete `{...}`
 * directly inside a transcripts or speakers array on its own. */
void
salvage (std::string_view s, Extracted &out)
{
  struct Frame {
    char kind;
    Role role;                       /* arrays: which table they hold */
    Role row;                        /* objects: a row of that table */
    gsize start;
  };
  std::vector<Frame> stack;
  JsonTextScanner scan;
  gsize string_start = 0;
  std::string_view last_string, key;
  GPtr<JsonParser> parser (json_parser_new ());

  for (gsize i = 0; i < s.size (); i++) {
    const char c = s[i];
    const JsonTextScanner::Token token = scan.step (c);
    if (token == JsonTextScanner::Token::StringStart) {
      string_start = i + 1;
      continue;
    }
    if (token == JsonTextScanner::Token::StringEnd)
      last_string = s.substr (string_start, i - string_start);
    if (token == JsonTextScanner::Token::StringEnd || scan.in_string ())
      continue;

    const bool at_root_object = stack.size () == 1 && stack[0].kind == '{';
    switch (c) {
      case ':':
        if (at_root_object)
          key = last_string;
        break;
      case ',':
        if (at_root_object)
          key = {};
        break;
      case '{':
      case '[': {
        if (stack.size () >= MAX_DEPTH)
          return;
        Frame f{c, Role::None, Role::None, i};
        if (stack.empty () && c == '[')
          f.role = Role::Transcripts;
        else if (at_root_object && c == '[')
          f.role = key_role (key);
        else if (c == '{' && !stack.empty () && stack.back ().kind == '[')
          f.row = stack.back ().role;
        /* A keyed table counts even when empty; a bare array only once a
         * row is read from it. */
        if (f.role != Role::None && !stack.empty ())
          out.recognized = true;
        stack.push_back (f);
        break;
      }
      case '}':
      case ']': {
        if (stack.empty ())
          return;
        Frame f = stack.back ();
        stack.pop_back ();
        if (c == '}' && f.row == Role::Transcripts && out.rows.size () >= out.max_rows) {
          out.rows_over++;
          out.recognized = true;
        } else if (c == '}' && f.row == Role::Speakers
            && out.speakers.size () >= out.max_speakers) {
          out.speakers_over++;
        } else if (c == '}' && f.row != Role::None) {
          std::string_view row = s.substr (f.start, i + 1 - f.start);
          if (json_parser_load_from_data (parser.get (), row.data (),
                  static_cast<gssize> (row.size ()), nullptr)) {
            JsonNode *node = json_parser_get_root (parser.get ());
            if (f.row == Role::Transcripts)
              add_utterance_row (node, out);
            else
              add_speaker_row (node, out);
            out.recognized = true;
          }
        }
        if (stack.empty ())
          return;
        break;
      }
      default:
        break;
    }
  }
}

/* Words of a text, each with its byte offset, as ids for comparisons:
 * case-insensitive, punctuation ignored. */
struct Words {
  std::vector<int> ids;
  std::vector<gsize> offsets;
};

Words
split_words (const std::string &text, std::unordered_map<std::string, int> &dict)
{
  Words w;
  const gchar *p = text.c_str ();
  const gchar *end = p + text.size ();
  const gchar *word = nullptr;
  auto flush = [&] (const gchar *stop) {
    GPtr<gchar> folded (g_utf8_casefold (word, stop - word));
    auto [it, inserted] = dict.emplace (folded.get (), static_cast<int> (dict.size ()));
    w.ids.push_back (it->second);
    w.offsets.push_back (static_cast<gsize> (word - text.c_str ()));
    word = nullptr;
  };
  while (p < end) {
    gunichar c = g_utf8_get_char (p);
    if (g_unichar_isalnum (c)) {
      if (!word)
        word = p;
    } else if (word) {
      flush (p);
    }
    p = g_utf8_next_char (p);
  }
  if (word)
    flush (end);
  return w;
}

/* If the sequence ends with one unit repeated more than MAX_REPEATS times
 * (the signature of a generation loop, which runs until the answer stops),
 * returns how many items to keep: everything before the loop plus its first
 * unit. Linear: prefix function of the reversed sequence. */
std::optional<gsize>
loop_tail_keep (const std::vector<int> &seq, gsize single_item_max)
{
  const gsize n = seq.size ();
  if (n <= MAX_REPEATS)
    return std::nullopt;
  std::vector<int> r (seq.rbegin (), seq.rend ());
  std::vector<gsize> pi (n, 0);
  for (gsize i = 1; i < n; i++) {
    gsize k = pi[i - 1];
    while (k > 0 && r[i] != r[k])
      k = pi[k - 1];
    if (r[i] == r[k])
      k++;
    pi[i] = k;
  }
  std::optional<gsize> keep;
  for (gsize len = 1; len <= n; len++) {
    gsize period = len - pi[len - 1];
    gsize repeats = len / period;
    gsize max_repeats = period == 1 ? single_item_max : MAX_REPEATS;
    if (repeats > max_repeats)
      keep = n - len + period;
  }
  return keep;
}

void
collapse_text_loops (std::vector<RawUtterance> &rows, Repairs &repairs)
{
  std::unordered_map<std::string, int> dict;
  for (auto &u : rows) {
    Words w = split_words (u.text, dict);
    auto keep = loop_tail_keep (w.ids, MAX_WORD_REPEATS);
    if (!keep || *keep >= w.ids.size ())
      continue;
    u.text = trim (std::string_view (u.text).substr (0, w.offsets[*keep]));
    repairs.add ("text-loop", "repeated phrase in \"" + u.text.substr (0, 40)
        + "\" collapsed");
  }
}

void
drop_row_loops (std::vector<RawUtterance> &rows, Repairs &repairs)
{
  std::unordered_map<std::string, int> dict;
  std::vector<int> ids;
  ids.reserve (rows.size ());
  for (const auto &u : rows) {
    std::string key = u.voice + '\n';
    Words w = split_words (u.text, dict);
    for (int id : w.ids)
      key += std::to_string (id) + ' ';
    auto [it, inserted] = dict.emplace (key, static_cast<int> (dict.size ()));
    ids.push_back (it->second);
  }

  /* Runs of one identical row anywhere; then a looping tail of any period. */
  std::vector<RawUtterance> kept;
  std::vector<int> kept_ids;
  kept.reserve (rows.size ());
  gsize dropped = 0;
  for (gsize i = 0; i < rows.size ();) {
    gsize j = i + 1;
    while (j < rows.size () && ids[j] == ids[i])
      j++;
    gsize take = (j - i > MAX_REPEATS) ? 1 : j - i;
    dropped += (j - i) - take;
    for (gsize k = i; k < i + take; k++) {
      kept.push_back (std::move (rows[k]));
      kept_ids.push_back (ids[k]);
    }
    i = j;
  }
  if (auto keep = loop_tail_keep (kept_ids, MAX_REPEATS); keep && *keep < kept.size ()) {
    dropped += kept.size () - *keep;
    kept.resize (*keep);
  }
  if (dropped > 0) {
    repairs.add ("row-loop", std::to_string (dropped)
        + " rows of a repetition loop dropped");
  }
  rows = std::move (kept);
}

/* Valid UTF-8 without raw control characters, each repair said. */
std::string
clean_answer (std::string_view text, Repairs &repairs)
{
  GPtr<gchar> valid (g_utf8_make_valid (text.data (), static_cast<gssize> (text.size ())));
  std::string_view valid_view (valid.get ());
  if (valid_view.size () != text.size () || valid_view != text)
    repairs.add ("utf8", "invalid UTF-8 replaced");

  bool controls_changed = false;
  std::string clean = sanitize_controls (valid_view, controls_changed);
  if (controls_changed)
    repairs.add ("controls", "control characters in the answer replaced");
  return clean;
}

/* The tables of the answer. The JSON may be fenced or follow prose: the
 * first few openings are tried, each parsed whole or, when that fails (a
 * cut answer), salvaged row by row. */
Extracted
extract_answer (const std::string &clean, const ParseContext &ctx, bool &salvaged)
{
  Extracted ex (ctx);
  salvaged = false;
  gsize from = 0;
  GPtr<JsonParser> parser (json_parser_new ());
  for (int attempt = 0; attempt < 4 && !ex.recognized; attempt++) {
    gsize begin = clean.find_first_of ("{[", from);
    if (begin == std::string::npos)
      break;
    from = begin + 1;

    bool too_deep = false;
    gsize end = value_end (clean, begin, too_deep);
    if (end != std::string::npos && !too_deep) {
      g_autoptr (GError) err = nullptr;
      if (json_parser_load_from_data (parser.get (), clean.data () + begin,
              static_cast<gssize> (end - begin), &err)) {
        extract_tree (json_parser_get_root (parser.get ()), ex);
        if (ex.recognized)
          break;
      } else {
        GST_DEBUG ("answer is not valid JSON: %s", err->message);
      }
    }
    ex = Extracted (ctx);
    salvage (std::string_view (clean).substr (begin), ex);
    salvaged = ex.recognized;
  }
  return ex;
}

void
report_dropped (const Extracted &ex, const ParseContext &ctx, bool salvaged, Repairs &repairs)
{
  if (salvaged) {
    repairs.add ("salvage", "answer cut: kept " + std::to_string (ex.rows.size ())
        + " complete rows");
  }
  if (ex.rows_over > 0) {
    repairs.add ("too-many-rows", std::to_string (ex.rows.size () + ex.rows_over)
        + " rows, more than anyone says in "
        + (ctx.duration > 0 ? format_timecode (ctx.duration) : std::string ("a clip"))
        + ": the " + std::to_string (ex.rows_over) + " after row "
        + std::to_string (ex.max_rows) + " dropped");
  }
  if (ex.speakers_over > 0) {
    repairs.add ("too-many-speakers", std::to_string (ex.speakers.size () + ex.speakers_over)
        + " speakers, more than " + std::to_string (ex.max_speakers)
        + " for the clip: the rest dropped");
  }
}

/* Rows without text, and the loops a model falls into, dropped. */
void
drop_empty_and_loops (std::vector<RawUtterance> &rows, Repairs &repairs)
{
  gsize before = rows.size ();
  std::erase_if (rows, [] (const RawUtterance &u) { return u.text.empty (); });
  if (rows.size () != before) {
    repairs.add ("empty", std::to_string (before - rows.size ())
        + " rows without text dropped");
  }
  collapse_text_loops (rows, repairs);
  drop_row_loops (rows, repairs);
}

/* Times relative to the stream rather than the clip; returns how far they
 * were moved back. */
GstClockTime
undo_stream_offset (std::vector<RawUtterance> &rows, const ParseContext &ctx, Repairs &repairs)
{
  const GstClockTime duration = ctx.duration;
  const gint64 dur = static_cast<gint64> (duration);
  if (ctx.clip_offset == 0 || duration == 0)
    return 0;
  const gint64 lo = static_cast<gint64> (ctx.clip_offset) - static_cast<gint64> (TOLERANCE);
  const gint64 hi = static_cast<gint64> (ctx.clip_offset + duration + TOLERANCE);
  bool all_inside = true, some_beyond = false, any = false;
  auto check = [&] (const std::optional<RawTime> &t) {
    if (!t)
      return;
    any = true;
    if (t->ns < lo || t->ns > hi)
      all_inside = false;
    if (t->ns > dur + static_cast<gint64> (TOLERANCE))
      some_beyond = true;
  };
  for (const auto &u : rows) {
    check (u.start);
    check (u.end);
  }
  if (!any || !all_inside || !some_beyond)
    return 0;
  const gint64 off = static_cast<gint64> (ctx.clip_offset);
  for (auto &u : rows) {
    if (u.start)
      u.start->ns = std::max<gint64> (0, u.start->ns - off);
    if (u.end)
      u.end->ns = std::max<gint64> (0, u.end->ns - off);
  }
  repairs.add ("absolute", "timecodes relative to the stream, moved by -"
      + format_timecode (ctx.clip_offset, true));
  return ctx.clip_offset;
}

/* Every row gets a start inside the clip, in order. */
void
repair_starts (std::vector<RawUtterance> &rows, GstClockTime duration, Repairs &repairs)
{
  const gint64 dur = static_cast<gint64> (duration);
  /* Clamp what was read into the clip. */
  for (auto &u : rows) {
    if (!u.start)
      continue;
    if (u.start->ns < 0) {
      repairs.add ("negative", "negative timecode " + u.start->raw + " set to 00:00");
      u.start->ns = 0;
    } else if (duration > 0 && u.start->ns > dur) {
      repairs.add ("beyond", "timecode " + u.start->raw + " beyond segment end, clamped");
      u.start->ns = dur;
    }
  }

  /* Unreadable starts: evenly between the readable neighbours. */
  for (gsize i = 0; i < rows.size ();) {
    if (rows[i].start) {
      i++;
      continue;
    }
    gsize j = i;
    while (j < rows.size () && !rows[j].start)
      j++;
    gint64 lo = i > 0 ? rows[i - 1].start->ns : 0;
    gint64 hi = j < rows.size () ? rows[j].start->ns : (duration > 0 ? dur : lo);
    hi = std::max (hi, lo);
    for (gsize k = i; k < j; k++) {
      repairs.add ("unparseable", "timecode \"" + excerpt (rows[k].start_raw)
          + "\" unreadable, interpolated");
      gint64 ns = lo + static_cast<gint64> (gst_util_uint64_scale (
              static_cast<guint64> (hi - lo), k - i + 1, j - i + 1));
      rows[k].start = RawTime{ns, rows[k].start_raw};
    }
    i = j;
  }

  for (gsize i = 1; i < rows.size (); i++) {
    if (rows[i].start->ns < rows[i - 1].start->ns) {
      repairs.add ("decreasing", "timecode " + rows[i].start->raw
          + " before the previous row, raised");
      rows[i].start->ns = rows[i - 1].start->ns;
    }
  }

  /* A model that lost track of time writes 00:00 everywhere: spread the rows
   * over the clip by how much each one says. */
  if (rows.size () > 1 && duration > 0
      && rows.front ().start->ns == rows.back ().start->ns) {
    guint64 total = 0;
    for (const auto &u : rows)
      total += u.text.size ();
    guint64 cumulative = 0;
    for (auto &u : rows) {
      u.start->ns = static_cast<gint64> (gst_util_uint64_scale (duration, cumulative, total));
      u.end.reset ();
      cumulative += u.text.size ();
    }
    repairs.add ("spread", "all rows had the same timecode, spread over the segment");
  }
}

std::vector<Utterance>
to_utterances (std::vector<RawUtterance> &rows, GstClockTime duration, Repairs &repairs)
{
  const gint64 dur = static_cast<gint64> (duration);
  std::vector<Utterance> out;
  out.reserve (rows.size ());
  for (auto &u : rows) {
    Utterance utt;
    utt.start = static_cast<GstClockTime> (u.start->ns);
    if (u.end) {
      gint64 e = u.end->ns;
      if (e <= u.start->ns) {
        repairs.add ("end-before", "end " + u.end->raw + " not after start, dropped");
      } else if (duration > 0 && e > dur) {
        if (e > dur + static_cast<gint64> (END_OVERHANG))
          repairs.add ("end-beyond", "end " + u.end->raw + " beyond segment end, clamped");
        utt.end = duration > utt.start ? duration : GST_CLOCK_TIME_NONE;
      } else {
        utt.end = static_cast<GstClockTime> (e);
      }
    }
    utt.text = std::move (u.text);
    utt.voice = std::move (u.voice);
    out.push_back (std::move (utt));
  }
  return out;
}

/* One row per voice; later rows fill what earlier ones left unknown. */
/* Evidence times as the rows' are: moved back with them when the answer
 * used the stream's times, and inside the clip. Evidence for a field the
 * model did not find is no evidence. */
void
place_evidence (std::vector<Speaker> &speakers, GstClockTime moved_back, GstClockTime duration)
{
  for (auto &sp : speakers) {
    std::erase_if (sp.evidence, [&sp] (const Evidence &e) {
          const std::string *value = sp.field (e.field);
          return !value || is_unknown (*value); });
    for (auto &e : sp.evidence) {
      if (!GST_CLOCK_TIME_IS_VALID (e.time))
        continue;
      e.time = e.time > moved_back ? e.time - moved_back : 0;
      if (duration > 0)
        e.time = std::min (e.time, duration);
    }
  }
}

std::vector<Speaker>
merge_speakers (std::vector<Speaker> &listed, const std::vector<Utterance> &utterances,
    Repairs &repairs)
{
  std::vector<Speaker> out;
  std::unordered_map<std::string, gsize> by_voice;
  for (auto &s : listed) {
    auto [it, added] = by_voice.try_emplace (s.voice, out.size ());
    if (added) {
      out.push_back (std::move (s));
      continue;
    }
    Speaker &known = out[it->second];
    for (auto field : {&Speaker::name, &Speaker::company, &Speaker::position,
             &Speaker::role_in_video}) {
      if (is_unknown (known.*field))
        known.*field = s.*field;
    }
    for (auto &e : s.evidence) {
      if (std::none_of (known.evidence.begin (), known.evidence.end (),
              [&e] (const Evidence &k) { return k.field == e.field; }))
        known.evidence.push_back (std::move (e));
    }
    repairs.add ("duplicate-voice", "voice " + s.voice + " listed twice, merged");
  }
  /* Speakers never heard stay: they may be on screen (a name card for
   * someone who speaks in the next segment). */
  for (const auto &u : utterances) {
    if (!by_voice.try_emplace (u.voice, out.size ()).second)
      continue;
    out.push_back (Speaker::unknown (u.voice));
    repairs.add ("missing-voice", "voice " + u.voice + " missing from the speakers table");
  }
  return out;
}

}  // namespace

Result<SegmentTranscript>
parse_transcript (std::string_view text, const ParseContext &ctx)
{
  ensure_debug_category ();

  Repairs repairs;
  const std::string clean = clean_answer (text, repairs);
  if (clean.find_first_not_of (" \t\n\r") == std::string::npos)
    return Error::make (Error::Kind::Protocol, "empty answer");

  bool salvaged = false;
  Extracted ex = extract_answer (clean, ctx, salvaged);
  if (!ex.recognized)
    return Error::make (Error::Kind::Protocol, "answer holds no transcript table");

  SegmentTranscript out;
  out.language = !ex.language.empty () ? ex.language : scan_language (clean);
  out.truncated = ctx.truncated || salvaged;
  report_dropped (ex, ctx, salvaged, repairs);

  drop_empty_and_loops (ex.rows, repairs);
  const GstClockTime moved_back = undo_stream_offset (ex.rows, ctx, repairs);
  repair_starts (ex.rows, ctx.duration, repairs);
  out.utterances = to_utterances (ex.rows, ctx.duration, repairs);
  out.speakers = merge_speakers (ex.speakers, out.utterances, repairs);
  place_evidence (out.speakers, moved_back, ctx.duration);

  if (out.truncated) {
    if (out.utterances.empty ()) {
      out.covered_until = 0;
    } else {
      const Utterance &last = out.utterances.back ();
      out.covered_until = GST_CLOCK_TIME_IS_VALID (last.end) ? last.end : last.start;
    }
  }

  out.repairs = repairs.lines ();
  GST_DEBUG ("%" G_GSIZE_FORMAT " utterances, %" G_GSIZE_FORMAT " speakers, %"
      G_GSIZE_FORMAT " repairs%s", out.utterances.size (), out.speakers.size (),
      out.repairs.size (), out.truncated ? ", truncated" : "");
  return out;
}

void
merge_tail (SegmentTranscript &head, SegmentTranscript tail)
{
  ensure_debug_category ();
  const GstClockTime from = GST_CLOCK_TIME_IS_VALID (head.covered_until) ?
      head.covered_until : 0;
  auto renamed = [] (const std::string &voice) { return "t" + voice; };

  /* The rest starts at the cut, but the model may repeat the head's last
   * complete row (when it had no end, `from` is its start). */
  const GstClockTime last_start = head.utterances.empty () ? 0 :
      head.utterances.back ().start;
  auto in_head = [&head, from] (const Utterance &u) {
    return u.start <= from && std::any_of (head.utterances.begin (),
        head.utterances.end (), [&u] (const Utterance &h) { return h.text == u.text; });
  };
  guint added = 0;
  for (auto &u : tail.utterances) {
    if (u.start < last_start || in_head (u))
      continue;
    u.voice = renamed (u.voice);
    head.utterances.push_back (std::move (u));
    added++;
  }
  for (auto &s : tail.speakers) {
    s.voice = renamed (s.voice);
    head.speakers.push_back (std::move (s));
  }
  if (head.language.empty ())
    head.language = tail.language;
  head.repairs.push_back ("answer cut at the output limit: the rest, from "
      + format_timecode (from) + ", asked again (" + std::to_string (added) + " rows)");
  for (auto &r : tail.repairs)
    head.repairs.push_back ("rest: " + r);
  head.truncated = tail.truncated;
  head.covered_until = tail.covered_until;
  GST_DEBUG ("tail from %" GST_TIME_FORMAT ": %u rows", GST_TIME_ARGS (from), added);
}

/* Follows strings and nesting across pieces; true when a row of the
 * transcripts table completed or the table closed in the new text. */
bool
TranscriptStream::scan ()
{
  bool progress = false;
  for (; scanned_ < text_.size (); scanned_++) {
    const char c = text_[scanned_];
    if (in_string_) {
      if (escape_)
        escape_ = false;
      else if (c == '\\')
        escape_ = true;
      else if (c == '"') {
        in_string_ = false;
        last_string_ = text_.substr (string_start_, scanned_ - string_start_);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string_ = true;
        string_start_ = scanned_ + 1;
        break;
      case ':':
        if (depth_ == 1)
          key_ = last_string_;
        break;
      case '{':
      case '[':
        depth_++;
        /* The table is the array under a transcripts key of the root
         * object, or a bare array at the root. */
        if (c == '[' && table_depth_ == 0 && !closed_
            && ((depth_ == 2 && key_role (key_) == Role::Transcripts) || depth_ == 1))
          table_depth_ = depth_;
        break;
      case '}':
      case ']':
        if (depth_ == 0)
          break;
        if (table_depth_ != 0 && c == '}' && depth_ == table_depth_ + 1)
          progress = true;
        if (table_depth_ != 0 && c == ']' && depth_ == table_depth_) {
          table_depth_ = 0;
          closed_ = true;
          progress = true;
        }
        depth_--;
        break;
      default:
        break;
    }
  }
  return progress;
}

std::vector<Utterance>
TranscriptStream::push (std::string_view piece)
{
  text_.append (piece);
  if (!scan () || released_ >= max_rows_)
    return {};
  /* Each parse reads the whole text: past a few tens of KB, only once it
   * grew by an eighth, so that a long answer costs a few times its size
   * rather than its size times its rows. */
  if (!closed_ && text_.size () > EAGER_PARSE && (text_.size () - parsed_size_) * 8 < text_.size ())
    return {};
  parsed_size_ = text_.size ();

  auto parsed = parse_transcript (text_, ctx_);
  if (!parsed)
    return {};
  std::vector<Utterance> &rows = parsed->utterances;
  /* At the bound, rows were dropped after the last one read: it is final. */
  const gsize final_rows = closed_ || rows.size () >= max_rows_ ? rows.size ()
      : (rows.empty () ? 0 : rows.size () - 1);
  std::vector<Utterance> out;
  for (; released_ < final_rows; released_++)
    out.push_back (std::move (rows[released_]));
  return out;
}

}  // namespace gemini
