/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "answers.h"

#include <algorithm>
#include <cstdio>

#include "json_helpers.h"

namespace gemini::test::emu {

namespace {

std::string
format_timecode (double t, const std::string &format)
{
  t = std::max (t, 0.0);
  if (format == "mm:ss.mmm") {
    gint64 ms = std::llround (t * 1000.0);
    GPtr<gchar> s (g_strdup_printf ("%02d:%02d.%03d", (int) (ms / 60000),
            (int) (ms / 1000 % 60), (int) (ms % 1000)));
    return s.get ();
  }
  gint64 sec = std::llround (t);
  GPtr<gchar> s (format == "h:mm:ss" ?
      g_strdup_printf ("%d:%02d:%02d", (int) (sec / 3600),
          (int) (sec / 60 % 60), (int) (sec % 60)) :
      g_strdup_printf ("%02d:%02d", (int) (sec / 60), (int) (sec % 60)));
  return s.get ();
}

std::optional<double>
parse_stream_time (const char *s)
{
  int h = 0, m = 0, sec = 0, ms = 0;
  if (sscanf (s, "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4)
    return std::nullopt;
  return h * 3600.0 + m * 60.0 + sec + ms / 1000.0;
}

/* videoMetadata applies to video only (content.proto: "should only be
 * specified while the video data is presented in inline_data or
 * file_data"): the offsets of an audio part address nothing, and the model
 * hears the whole audio. */
bool
has_offsets (const MediaPart &m)
{
  return (m.start_offset || m.end_offset) && g_str_has_prefix (m.mime.c_str (), "video/");
}

/* The part of the clip the prompt asks for, as the audio docs phrase it. */
void
transcribe_range (const std::string &prompt, Clip &clip)
{
  static GRegex *re = g_regex_new ("Transcribe only the speech from "
      "(?:(\\d+):)?(\\d+):(\\d\\d)(?: to (?:(\\d+):)?(\\d+):(\\d\\d))?",
      G_REGEX_OPTIMIZE, (GRegexMatchFlags) 0, nullptr);
  GMatchInfo *mi = nullptr;
  auto seconds_at = [&mi] (int first) {
    GPtr<gchar> h (g_match_info_fetch (mi, first));
    GPtr<gchar> m (g_match_info_fetch (mi, first + 1));
    GPtr<gchar> sec (g_match_info_fetch (mi, first + 2));
    return g_ascii_strtod (h ? h.get () : "0", nullptr) * 3600
        + g_ascii_strtod (m ? m.get () : "0", nullptr) * 60
        + g_ascii_strtod (sec ? sec.get () : "0", nullptr);
  };
  if (g_regex_match (re, prompt.c_str (), (GRegexMatchFlags) 0, &mi)) {
    clip.from = seconds_at (1);
    GPtr<gchar> until (g_match_info_fetch (mi, 5));
    if (until && *until.get ())
      clip.until = seconds_at (4);
  }
  g_match_info_free (mi);
}

/* The speakers-table request of a whole-file job (gst/prompt.cpp). */
bool
speakers_only (const std::string &prompt)
{
  return prompt.find ("Generate a JSON object with keys `language` and `task2_speakers`")
      != std::string::npos;
}

/* PromptOptions::evidence: the prompt names the `evidence` list. */
bool
asks_for_evidence (const std::string &prompt)
{
  return prompt.find ("`evidence` list") != std::string::npos;
}

/* The speaker's evidence the clip holds, for the fields the answer names,
 * with clip-relative times. */
JsonArray *
evidence_in_clip (const Speaker &sp, bool seen, const Clip &clip, const Script &s)
{
  JsonArray *out = json_array_new ();
  for (const auto &e : sp.evidence) {
    const bool named = e.field == "role_in_video" || seen;
    if (!named || e.time < clip.start || e.time >= clip.end)
      continue;
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "field", e.field.c_str ());
    json_object_set_string_member (o, "time",
        format_timecode (e.time - clip.start, s.timecode_format).c_str ());
    json_object_set_string_member (o, "source", e.source.c_str ());
    json_object_set_string_member (o, "text", e.text.c_str ());
    json_array_add_object_element (out, o);
  }
  return out;
}

std::string
timeline_answer (const Script &s, const Clip &clip, gint64 request_index,
    const std::string &prompt)
{
  std::vector<const Utterance *> heard;
  std::vector<std::string> order;
  /* Asked for the rest of the clip, the answer may repeat the row the
   * previous answer was cut in. */
  const double lower = clip.from > 0.0 ? clip.start + clip.from - 0.5 : clip.start;
  const double upper = std::min (clip.end, clip.start + clip.until);
  for (const auto &u : s.utterances) {
    if (u.start < lower || u.start >= upper)
      continue;
    heard.push_back (&u);
    if (std::find (order.begin (), order.end (), u.speaker) == order.end ())
      order.push_back (u.speaker);
  }
  gint64 n = (gint64) order.size ();
  gint64 rotation = (s.shuffle_voices && n > 0) ? request_index % n : 0;
  auto voice_of = [&] (const std::string &id) -> gint64 {
    gint64 i = std::find (order.begin (), order.end (), id) - order.begin ();
    return (i + rotation) % n + 1;
  };

  GPtr<JsonObject> root (json_object_new ());
  if (!s.language.empty ())
    json_object_set_string_member (root.get (), "language", s.language.c_str ());
  JsonArray *lines = json_array_new ();
  for (const Utterance *u : heard) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "start",
        format_timecode (u->start - clip.start, s.timecode_format).c_str ());
    json_object_set_string_member (o, "end",
        format_timecode (u->end - clip.start, s.timecode_format).c_str ());
    json_object_set_string_member (o, "text", u->text.c_str ());
    json_object_set_int_member (o, "voice", voice_of (u->speaker));
    json_array_add_object_element (lines, o);
  }
  if (speakers_only (prompt))
    json_array_unref (lines);
  else
    json_object_set_array_member (root.get (), "task1_transcripts", lines);

  std::vector<std::pair<gint64, std::string>> by_voice;
  for (const auto &id : order)
    by_voice.emplace_back (voice_of (id), id);
  std::sort (by_voice.begin (), by_voice.end ());
  JsonArray *speakers = json_array_new ();
  for (const auto &[voice, id] : by_voice) {
    auto it = std::find_if (s.speakers.begin (), s.speakers.end (),
        [&] (const Speaker &sp) { return sp.id == id; });
    Speaker sp = it != s.speakers.end () ? *it : Speaker{id, "?", "?", "?", "?"};
    /* The model names whom it sees introduced in the clip, and whom the
     * prompt's table of known speakers lists (it is taken to match voices
     * perfectly). */
    bool seen = (sp.visible_from < 0 || clip.end > sp.visible_from)
        && clip.start < sp.visible_until;
    seen = seen || prompt.find ("- name: " + sp.name + ";") != std::string::npos;
    JsonObject *o = json_object_new ();
    json_object_set_int_member (o, "voice", voice);
    json_object_set_string_member (o, "name", seen ? sp.name.c_str () : "?");
    json_object_set_string_member (o, "company",
        seen ? sp.company.c_str () : "?");
    json_object_set_string_member (o, "position",
        seen ? sp.position.c_str () : "?");
    json_object_set_string_member (o, "role_in_video", sp.role.c_str ());
    if (asks_for_evidence (prompt))
      json_object_set_array_member (o, "evidence", evidence_in_clip (sp, seen, clip, s));
    json_array_add_object_element (speakers, o);
  }
  json_object_set_array_member (root.get (), "task2_speakers", speakers);
  return to_json_string (root.get ());
}

/* Tokens per sampled frame (reference section 6): Gemini 2.x 258, 66 at
 * LOW; Gemini 3.x 70 at LOW and MEDIUM (its default for video is LOW), 280
 * at HIGH. A part's level overrides the request's. */
gint64
frame_tokens (const std::string &model, const ParsedRequest &req, const MediaPart &m)
{
  const bool low = m.has_resolution ? m.low_resolution : req.low_resolution;
  const bool high = m.has_resolution ? m.high_resolution : req.high_resolution;
  if (g_str_has_prefix (model.c_str (), "gemini-3"))
    return high ? 280 : 70;
  return low ? 66 : 258;
}

JsonObject *
candidate_json (const std::string &text, const char *finish_reason,
    bool with_text)
{
  JsonObject *c = json_object_new ();
  if (with_text) {
    JsonObject *content = json_object_new ();
    JsonArray *parts = json_array_new ();
    JsonObject *p = json_object_new ();
    json_object_set_string_member (p, "text", text.c_str ());
    json_array_add_object_element (parts, p);
    json_object_set_array_member (content, "parts", parts);
    json_object_set_string_member (content, "role", "model");
    json_object_set_object_member (c, "content", content);
  }
  if (finish_reason)
    json_object_set_string_member (c, "finishReason", finish_reason);
  if (finish_reason && g_str_equal (finish_reason, "SAFETY")) {
    JsonArray *ratings = json_array_new ();
    JsonObject *r = json_object_new ();
    json_object_set_string_member (r, "category",
        "HARM_CATEGORY_DANGEROUS_CONTENT");
    json_object_set_string_member (r, "probability", "HIGH");
    json_object_set_boolean_member (r, "blocked", TRUE);
    json_array_add_object_element (ratings, r);
    json_object_set_array_member (c, "safetyRatings", ratings);
  }
  json_object_set_int_member (c, "index", 0);
  return c;
}

}  // namespace

Clip
clip_of (const ParsedRequest &req)
{
  static GRegex *re = g_regex_new ("covers (\\d+:\\d\\d:\\d\\d\\.\\d\\d\\d) "
      "to (\\d+:\\d\\d:\\d\\d\\.\\d\\d\\d) of the stream", G_REGEX_OPTIMIZE,
      (GRegexMatchFlags) 0, nullptr);
  Clip clip;
  transcribe_range (req.prompt, clip);
  GMatchInfo *mi = nullptr;
  if (g_regex_match (re, req.prompt.c_str (), (GRegexMatchFlags) 0, &mi)) {
    GPtr<gchar> a (g_match_info_fetch (mi, 1));
    GPtr<gchar> b (g_match_info_fetch (mi, 2));
    auto s = parse_stream_time (a.get ());
    auto e = parse_stream_time (b.get ());
    g_match_info_free (mi);
    if (s && e) {
      clip.start = *s;
      clip.end = *e;
      return clip;
    }
  } else {
    g_match_info_free (mi);
  }
  double longest = 0.0;
  for (const auto &m : req.media) {
    if (has_offsets (m)) {
      clip.start = m.start_offset.value_or (0.0);
      clip.end = m.end_offset.value_or (m.info.duration_s > 0 ?
          m.info.duration_s : INFINITY);
      return clip;
    }
    longest = std::max (longest, m.info.duration_s);
  }
  if (longest > 0.0)
    clip.end = longest;
  return clip;
}

double
media_seconds (const MediaPart &m)
{
  double dur = m.info.duration_s;
  if (!has_offsets (m))
    return dur;
  double start = std::min (m.start_offset.value_or (0.0), dur);
  double end = std::min (m.end_offset.value_or (dur), dur);
  return std::max (0.0, end - start);
}

JsonNode *
Clip::to_json () const
{
  JsonObject *c = json_object_new ();
  json_object_set_double_member (c, "start", start);
  if (std::isfinite (end))
    json_object_set_double_member (c, "end", end);
  else
    json_object_set_null_member (c, "end");
  json_object_set_double_member (c, "from", from);
  if (std::isfinite (until))
    json_object_set_double_member (c, "until", until);
  JsonNode *n = json_node_init_object (json_node_alloc (), c);
  json_object_unref (c);
  return n;
}

JsonObject *
Usage::to_json (bool with_candidates) const
{
  JsonObject *o = json_object_new ();
  gint64 prompt = text + video + audio;
  json_object_set_int_member (o, "promptTokenCount", prompt);
  if (with_candidates)
    json_object_set_int_member (o, "candidatesTokenCount", candidates);
  json_object_set_int_member (o, "totalTokenCount",
      prompt + (with_candidates ? candidates : 0));
  if (cached > 0)
    json_object_set_int_member (o, "cachedContentTokenCount", cached);
  JsonArray *details = json_array_new ();
  auto add = [&] (const char *modality, gint64 count) {
    JsonObject *d = json_object_new ();
    json_object_set_string_member (d, "modality", modality);
    json_object_set_int_member (d, "tokenCount", count);
    json_array_add_object_element (details, d);
  };
  add ("TEXT", text);
  if (video)
    add ("VIDEO", video);
  if (audio)
    add ("AUDIO", audio);
  json_object_set_array_member (o, "promptTokensDetails", details);
  return o;
}

Usage
usage_of (const ParsedRequest &req, const std::string &model)
{
  Usage u;
  u.text = (gint64) (req.text_chars / 4);
  for (const auto &m : req.media) {
    double secs = media_seconds (m);
    gint64 video = 0, audio = 0;
    if (m.info.has_video) {
      gint64 frames = (gint64) std::ceil (secs * m.fps - 1e-9);
      video = frames * frame_tokens (model, req, m);
    }
    if (m.info.has_audio)
      audio = (gint64) std::ceil (secs - 1e-9) * 32;
    u.video += video;
    u.audio += audio;
    if (m.cached)
      u.cached += video + audio;
  }
  return u;
}

std::string
scripted_text (Script &s, const Clip &clip, gint64 request_index,
    const std::string &prompt)
{
  if (s.next_response < s.responses.size ())
    return s.responses[s.next_response++];
  if (s.has_transcript)
    return timeline_answer (s, clip, request_index, prompt);
  return "{\"task1_transcripts\":[],\"task2_speakers\":[]}";
}

void
apply_fault (const Fault &f, Answer &a)
{
  if (f.type == "max_tokens") {
    glong chars = g_utf8_strlen (a.text.c_str (), -1);
    glong keep = (glong) (chars * std::clamp (f.keep_fraction, 0.0, 1.0));
    a.text.resize (g_utf8_offset_to_pointer (a.text.c_str (), keep) -
        a.text.c_str ());
    a.finish_reason = "MAX_TOKENS";
  } else if (f.type == "safety" || f.type == "recitation") {
    a.no_text = true;
    a.finish_reason = f.type == "safety" ? "SAFETY" : "RECITATION";
    a.text.clear ();
  } else if (f.type == "prompt_blocked") {
    a.prompt_blocked = true;
    a.text.clear ();
  } else if (f.type == "empty") {
    a.empty = true;
    a.text.clear ();
  } else if (f.type == "text") {
    a.text = f.text;
  }
}

std::vector<std::string>
response_chunks (const Answer &a, const Usage &usage, const std::string &model,
    const std::string &response_id, int pieces)
{
  std::vector<std::string> out;
  auto finish = [&] (JsonObject *o, bool with_candidates) {
    json_object_set_object_member (o, "usageMetadata",
        usage.to_json (with_candidates));
    json_object_set_string_member (o, "modelVersion", model.c_str ());
    json_object_set_string_member (o, "responseId", response_id.c_str ());
    out.push_back (to_json_string (o));
  };
  if (a.empty) {
    GPtr<JsonObject> o (json_object_new ());
    json_object_set_array_member (o.get (), "candidates", json_array_new ());
    out.push_back (to_json_string (o.get ()));
    return out;
  }
  if (a.prompt_blocked) {
    GPtr<JsonObject> o (json_object_new ());
    JsonObject *fb = json_object_new ();
    json_object_set_string_member (fb, "blockReason", "SAFETY");
    json_object_set_object_member (o.get (), "promptFeedback", fb);
    finish (o.get (), false);
    return out;
  }
  if (a.no_text) {
    GPtr<JsonObject> o (json_object_new ());
    JsonArray *cands = json_array_new ();
    json_array_add_object_element (cands,
        candidate_json ({}, a.finish_reason.c_str (), false));
    json_object_set_array_member (o.get (), "candidates", cands);
    finish (o.get (), true);
    return out;
  }
  glong chars = g_utf8_strlen (a.text.c_str (), -1);
  pieces = (int) std::max<glong> (1, std::min<glong> (pieces, chars));
  const char *p = a.text.c_str ();
  for (int i = 0; i < pieces; i++) {
    glong from = chars * i / pieces, to = chars * (i + 1) / pieces;
    const char *b = g_utf8_offset_to_pointer (p, from);
    const char *e = g_utf8_offset_to_pointer (p, to);
    bool last = i == pieces - 1;
    GPtr<JsonObject> o (json_object_new ());
    JsonArray *cands = json_array_new ();
    json_array_add_object_element (cands, candidate_json (std::string (b, e),
            last ? a.finish_reason.c_str () : nullptr, true));
    json_object_set_array_member (o.get (), "candidates", cands);
    if (last) {
      finish (o.get (), true);
    } else {
      json_object_set_string_member (o.get (), "modelVersion", model.c_str ());
      json_object_set_string_member (o.get (), "responseId",
          response_id.c_str ());
      out.push_back (to_json_string (o.get ()));
    }
  }
  return out;
}

std::string
stream_body (const std::vector<std::string> &chunks, bool sse,
    const std::string *error)
{
  std::string body;
  if (sse) {
    gsize sent = 0;
    for (const auto &c : chunks) {
      if (error && sent > 0 && sent + 1 >= chunks.size ())
        break;
      body += "data: " + c + "\r\n\r\n";
      sent++;
    }
    if (error)
      body += "data: " + *error + "\r\n\r\n";
    return body;
  }
  body = "[";
  for (gsize i = 0; i < chunks.size (); i++)
    body += (i ? ",\r\n" : "") + chunks[i];
  if (error)
    body += ",\r\n" + *error;
  body += "]";
  return body;
}

}  // namespace gemini::test::emu
