/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "speaker_registry.h"

#include <algorithm>
#include <set>

#include "debug.h"
#include "glib_ptr.h"

GEMINI_DEBUG_CATEGORY (gemini_speakers_debug, "geminispeakers",
    "Gemini stream-wide speaker registry");
#define GST_CAT_DEFAULT gemini_speakers_debug

namespace gemini {

namespace {

/* Name tokens compared case- and accent-insensitively: "Hélène  DUPONT" and
 * "helene dupont" give the same tokens; punctuation separates tokens. */
std::vector<std::string>
name_tokens (const std::string &name)
{
  GPtr<gchar> decomposed (g_utf8_normalize (name.c_str (), -1, G_NORMALIZE_NFKD));
  if (!decomposed)
    return {};
  GPtr<gchar> folded (g_utf8_casefold (decomposed.get (), -1));

  std::vector<std::string> tokens;
  std::string current;
  for (const gchar *p = folded.get (); *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (g_unichar_type (c) == G_UNICODE_NON_SPACING_MARK)
      continue;
    if (g_unichar_isalnum (c)) {
      gchar buf[6];
      current.append (buf, g_unichar_to_utf8 (c, buf));
    } else if (!current.empty ()) {
      tokens.push_back (std::move (current));
      current.clear ();
    }
  }
  if (!current.empty ())
    tokens.push_back (std::move (current));
  return tokens;
}

bool
is_honorific (const std::string &t)
{
  static const std::set<std::string> titles = {
    "dr", "prof", "professor", "mr", "mrs", "ms", "miss", "sir", "dame", "mx",
  };
  return titles.contains (t);
}

/* Same person when the token lists are equal; when one list is contained in
 * the other with at least two tokens ("Dr. Jane Doe" / "Jane Doe", "Jane
 * Alice Doe" / "Jane Doe"); or when the surnames are equal and one first
 * name is the other's initial ("J. Doe" / "Jane Doe"). A lone surname never
 * matches: two people sharing it are too common. */
bool
same_person (const std::vector<std::string> &a, const std::vector<std::string> &b)
{
  if (a.empty () || b.empty ())
    return false;
  if (a == b)
    return true;

  const auto &shorter = a.size () <= b.size () ? a : b;
  const auto &longer = a.size () <= b.size () ? b : a;
  if (shorter.size () >= 2) {
    std::multiset<std::string> pool (longer.begin (), longer.end ());
    bool all = true;
    for (const auto &t : shorter) {
      auto it = pool.find (t);
      if (it == pool.end ()) {
        all = false;
        break;
      }
      pool.erase (it);
    }
    if (all)
      return true;
  }

  auto first_name = [] (const std::vector<std::string> &t) -> const std::string * {
    for (gsize i = 0; i + 1 < t.size (); i++) {
      if (!is_honorific (t[i]))
        return &t[i];
    }
    return nullptr;
  };
  const std::string *fa = first_name (a), *fb = first_name (b);
  if (!fa || !fb || a.back () != b.back ())
    return false;
  bool a_initial = g_utf8_strlen (fa->c_str (), -1) == 1;
  bool b_initial = g_utf8_strlen (fb->c_str (), -1) == 1;
  if (!a_initial && !b_initial)
    return false;
  return g_utf8_get_char (fa->c_str ()) == g_utf8_get_char (fb->c_str ());
}

/* Fills what was unknown; a value once known is never replaced. */
void
merge_info (Speaker &into, const Speaker &from)
{
  for (auto field : {&Speaker::name, &Speaker::company, &Speaker::position,
           &Speaker::role_in_video}) {
    if (is_unknown (into.*field) && !is_unknown (from.*field))
      into.*field = from.*field;
  }
  /* Evidence of the value kept, the first found. */
  for (const auto &e : from.evidence) {
    const std::string *kept = into.field (e.field), *found = from.field (e.field);
    if (kept && found && *kept == *found
        && std::none_of (into.evidence.begin (), into.evidence.end (),
            [&e] (const Evidence &k) { return k.field == e.field; }))
      into.evidence.push_back (e);
  }
  into.voice = from.voice;
}

/* The keys under which two names that same_person () matches always meet:
 * every pair of their tokens (a list contained in the other shares at
 * least two tokens with it), the whole name when it is one token, and the
 * surname with the first name's initial. Only the first MAX_KEY_TOKENS
 * tokens make pairs, so that a hostile name of a thousand words costs no
 * more than a long real one. */
std::vector<std::string>
name_keys (const std::vector<std::string> &t)
{
  constexpr gsize MAX_KEY_TOKENS = 12;
  std::vector<std::string> keys;
  if (t.size () == 1)
    keys.push_back ("=" + t[0]);
  const gsize n = std::min (t.size (), MAX_KEY_TOKENS);
  for (gsize i = 0; i < n; i++) {
    for (gsize j = i + 1; j < n; j++)
      keys.push_back (std::min (t[i], t[j]) + '\n' + std::max (t[i], t[j]));
  }
  for (gsize i = 0; i + 1 < t.size (); i++) {
    if (!is_honorific (t[i])) {
      gchar initial[6];
      const gint len = g_unichar_to_utf8 (g_utf8_get_char (t[i].c_str ()), initial);
      keys.push_back ("~" + t.back () + '\n' + std::string (initial, len));
      break;
    }
  }
  return keys;
}

}  // namespace

/* The first registered speaker (in order of registration) who is the same
 * person as `s`, or nullptr. */
RegisteredSpeaker *
SpeakerRegistry::match (const Speaker &s)
{
  if (!s.identified ())
    return nullptr;
  const std::vector<std::string> tokens = name_tokens (s.name);
  std::set<gsize> candidates;
  for (const auto &key : name_keys (tokens)) {
    auto it = by_key_.find (key);
    if (it != by_key_.end ())
      candidates.insert (it->second.begin (), it->second.end ());
  }
  for (gsize position : candidates) {
    RegisteredSpeaker &r = speakers_[position];
    if (r.info.identified () && same_person (tokens, name_tokens (r.info.name)))
      return &r;
  }
  return nullptr;
}

void
SpeakerRegistry::index (gsize position)
{
  const RegisteredSpeaker &r = speakers_[position];
  by_id_[r.id] = position;
  if (!r.info.identified ())
    return;
  for (const auto &key : name_keys (name_tokens (r.info.name))) {
    std::vector<gsize> &list = by_key_[key];
    if (list.empty () || list.back () != position)
      list.push_back (position);
  }
}

/* Unidentified voices always get a new id, even when the previous segment
 * also had an unnamed voice: voice ids carry no identity across requests,
 * and merging two strangers is worse than splitting one. When such a voice
 * is named in a later segment it is registered then (or matched by name). */
std::map<std::string, std::string>
SpeakerRegistry::resolve (const SegmentTranscript &segment, GstClockTime origin)
{
  ensure_debug_category ();

  std::vector<Speaker> voices = on_timeline (segment.speakers, origin);
  std::set<std::string> listed, spoke;
  for (const auto &s : voices)
    listed.insert (s.voice);
  for (const auto &u : segment.utterances) {
    spoke.insert (u.voice);
    if (listed.insert (u.voice).second)
      voices.push_back (Speaker::unknown (u.voice));
  }

  std::map<std::string, std::string> ids;
  std::set<std::string> counted;
  for (const auto &s : voices) {
    if (ids.contains (s.voice))
      continue;

    RegisteredSpeaker *found = match (s);
    if (found) {
      /* Only identified speakers match, and a known name is never replaced:
       * the keys stay true. */
      merge_info (found->info, s);
      GST_DEBUG ("voice %s is %s (%s)", s.voice.c_str (), found->id.c_str (),
          found->info.name.c_str ());
    } else {
      RegisteredSpeaker r;
      r.id = "S" + std::to_string (speakers_.size () + 1);
      r.info = s;
      speakers_.push_back (std::move (r));
      index (speakers_.size () - 1);
      found = &speakers_.back ();
      GST_DEBUG ("voice %s registered as %s (%s)", s.voice.c_str (), found->id.c_str (),
          s.name.c_str ());
    }
    ids[s.voice] = found->id;

    if (spoke.contains (s.voice) && counted.insert (found->id).second)
      found->segments++;
  }
  return ids;
}

const RegisteredSpeaker *
SpeakerRegistry::find (const std::string &id) const
{
  auto it = by_id_.find (id);
  return it == by_id_.end () ? nullptr : &speakers_[it->second];
}

std::vector<KnownSpeaker>
SpeakerRegistry::known () const
{
  std::vector<KnownSpeaker> out;
  for (const auto &r : speakers_) {
    if (r.info.identified ())
      out.push_back (KnownSpeaker{r.id, r.info});
  }
  return out;
}

std::vector<TimedUtterance>
SpeakerRegistry::place (const SegmentTranscript &segment, GstClockTime offset,
    const std::map<std::string, std::string> &ids) const
{
  std::vector<TimedUtterance> timed;
  for (const auto &u : segment.utterances) {
    TimedUtterance t;
    t.start = offset + u.start;
    t.end = GST_CLOCK_TIME_IS_VALID (u.end) ? offset + u.end : GST_CLOCK_TIME_NONE;
    t.model_start = t.start;
    t.model_end = t.end;
    t.text = u.text;
    t.voice = u.voice;
    auto id = ids.find (u.voice);
    t.speaker_id = id != ids.end () ? id->second : std::string ();
    const RegisteredSpeaker *sp = find (t.speaker_id);
    t.speaker_label = sp && sp->info.identified () ? sp->info.name : t.speaker_id;
    timed.push_back (std::move (t));
  }
  return timed;
}

}  // namespace gemini
