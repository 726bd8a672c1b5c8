/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "outputs.h"

#include <algorithm>
#include <cmath>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "glib_ptr.h"
#include "json_doc.h"
#include "progress.h"

namespace transcribe {

using gemini::GPtr;

namespace {

/* Distinct on white and readable behind white text; one per speaker, cycled. */
constexpr const char *PALETTE[] = {
  "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
};

/* "00:01:02,500" (SRT) or "00:01:02.500" (WebVTT). */
/* Every writer rounds to the nearest millisecond, so that the SRT, WebVTT
 * and JSON of one transcript agree. */
guint64
rounded_ms (GstClockTime t)
{
  return (t + GST_MSECOND / 2) / GST_MSECOND;
}

std::string
cue_time (GstClockTime t, char separator)
{
  const guint64 ms = rounded_ms (t);
  gchar *s = g_strdup_printf ("%02u:%02u:%02u%c%03u", (guint) (ms / 3600000),
      (guint) (ms / 60000 % 60), (guint) (ms / 1000 % 60), separator, (guint) (ms % 1000));
  std::string r (s);
  g_free (s);
  return r;
}

std::string
escape_markup (const std::string &text)
{
  gchar *s = g_markup_escape_text (text.c_str (), -1);
  std::string r (s);
  g_free (s);
  return r;
}

std::string
speaker_colour (const Transcript &t, const std::string &id)
{
  for (size_t i = 0; i < t.speakers.size (); i++)
    if (t.speakers[i].id == id)
      return PALETTE[i % G_N_ELEMENTS (PALETTE)];
  return "#777777";
}

std::string
markdown_cell (const std::string &text)
{
  std::string r;
  for (char c : text) {
    if (c == '|')
      r += "\\|";
    else if (c == '\n')
      r += "<br>";
    else
      r += c;
  }
  return r;
}

bool
has_evidence (const Transcript &t)
{
  return std::any_of (t.speakers.begin (), t.speakers.end (),
      [] (const Speaker &sp) { return !sp.info.evidence.empty (); });
}

/* "00:01:02.500", or "?" when the model gave no time. */
std::string
evidence_time (const gemini::Evidence &e)
{
  return GST_CLOCK_TIME_IS_VALID (e.time) ? cue_time (e.time, '.') : std::string (gemini::UNKNOWN);
}

/* One line per field: "name, shown at 00:00:12.000: “Alice Martin, CEO”". */
std::string
evidence_html (const std::vector<gemini::Evidence> &evidence)
{
  std::string out;
  for (const auto &e : evidence) {
    out += (out.empty () ? "" : "<br>") + std::string ("<b>") + escape_markup (e.field)
        + "</b>, " + escape_markup (e.source) + " at " + evidence_time (e) + ": \u201C"
        + escape_markup (e.text) + "\u201D";
  }
  return out;
}

/* Milliseconds: exact in JSON, unlike seconds as doubles. */
void
add_ms (JsonBuilder *b, const char *name, GstClockTime t)
{
  json_builder_set_member_name (b, name);
  if (GST_CLOCK_TIME_IS_VALID (t))
    json_builder_add_int_value (b, (gint64) rounded_ms (t));
  else
    json_builder_add_null_value (b);
}

std::string
format_percent (double part, double whole)
{
  gchar *s = g_strdup_printf ("%.3f%%", whole > 0 ? part * 100.0 / whole : 0.0);
  std::string r (s);
  g_free (s);
  return r;
}

}  // namespace

std::optional<Format>
format_for_path (const std::string &path)
{
  const size_t dot = path.rfind ('.');
  if (dot == std::string::npos || path.find ('/', dot) != std::string::npos)
    return std::nullopt;
  gchar *ext = g_ascii_strdown (path.c_str () + dot + 1, -1);
  const std::string e (ext);
  g_free (ext);
  if (e == "srt")
    return Format::Srt;
  if (e == "vtt")
    return Format::Vtt;
  if (e == "json")
    return Format::Json;
  if (e == "md")
    return Format::Markdown;
  if (e == "html" || e == "htm")
    return Format::Html;
  if (e == "mkv")
    return Format::Mkv;
  if (e == "mp4")
    return Format::Mp4;
  return std::nullopt;
}

bool
is_video_format (Format f)
{
  return f == Format::Mkv || f == Format::Mp4;
}

std::string
render_srt (const Transcript &t)
{
  std::string out;
  guint n = 0;
  for (const auto &c : t.cues) {
    out += std::to_string (++n) + "\n";
    out += cue_time (c.start, ',') + " --> " + cue_time (c.start + c.duration, ',') + "\n";
    out += c.text + "\n\n";
  }
  return out;
}

std::string
render_vtt (const Transcript &t)
{
  std::string out = "WEBVTT\n\n";
  for (const auto &c : t.cues) {
    out += cue_time (c.start, '.') + " --> " + cue_time (c.start + c.duration, '.') + "\n";
    /* The voice span names the speaker, so the "Name: " label goes. */
    const std::string voice = gemini::is_unknown (c.name) ? c.speaker_id : c.name;
    if (!voice.empty ())
      out += "<v " + escape_markup (voice) + ">";
    out += escape_markup (strip_speaker_label (c)) + "\n\n";
  }
  return out;
}

std::string
render_json (const Transcript &t)
{
  GPtr<JsonBuilder> owner (json_builder_new ());
  JsonBuilder *b = owner.get ();
  json_builder_begin_object (b);
  gemini::add_string_member (b, "input", t.input);
  gemini::add_string_member (b, "model", t.model);
  add_ms (b, "duration_ms", t.duration);

  json_builder_set_member_name (b, "speakers");
  json_builder_begin_array (b);
  for (const auto &sp : t.speakers) {
    json_builder_begin_object (b);
    gemini::add_string_member (b, "id", sp.id);
    gemini::add_string_member (b, "name", sp.info.name);
    gemini::add_string_member (b, "company", sp.info.company);
    gemini::add_string_member (b, "position", sp.info.position);
    gemini::add_string_member (b, "role_in_video", sp.info.role_in_video);
    json_builder_set_member_name (b, "identified");
    json_builder_add_boolean_value (b, sp.info.identified ());
    gemini::add_int_member (b, "segments", sp.segments);
    add_ms (b, "talk_ms", (GstClockTime) (t.talk_seconds (sp.id) * GST_SECOND));
    json_builder_set_member_name (b, "evidence");
    json_builder_begin_array (b);
    for (const auto &e : sp.info.evidence) {
      json_builder_begin_object (b);
      gemini::add_string_member (b, "field", e.field);
      add_ms (b, "time_ms", e.time);
      gemini::add_string_member (b, "source", e.source);
      gemini::add_string_member (b, "text", e.text);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "transcripts");
  json_builder_begin_array (b);
  for (const auto &u : t.utterances) {
    json_builder_begin_object (b);
    add_ms (b, "start_ms", u.start);
    add_ms (b, "end_ms", u.end);
    const bool model_known = GST_CLOCK_TIME_IS_VALID (u.model_start);
    add_ms (b, "model_start_ms", model_known ? u.model_start : u.start);
    add_ms (b, "model_end_ms", model_known ? u.model_end : u.end);
    gemini::add_string_member (b, "speaker", u.speaker_id);
    gemini::add_string_member (b, "text", u.text);
    gemini::add_string_member (b, "voice", u.voice);
    gemini::add_int_member (b, "segment", (gint64) u.segment);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "cues");
  json_builder_begin_array (b);
  for (const auto &c : t.cues) {
    json_builder_begin_object (b);
    add_ms (b, "start_ms", c.start);
    add_ms (b, "end_ms", c.start + c.duration);
    gemini::add_string_member (b, "speaker", c.speaker_id);
    gemini::add_string_member (b, "text", c.text);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "segments");
  json_builder_begin_array (b);
  gint64 prompt = 0, candidates = 0, cached = 0, total = 0;
  for (const auto &s : t.segments) {
    json_builder_begin_object (b);
    gemini::add_int_member (b, "index", (gint64) s.index);
    gemini::add_string_member (b, "status", s.status);
    add_ms (b, "start_ms", s.start);
    add_ms (b, "duration_ms", s.duration);
    gemini::add_string_member (b, "error", s.error);
    gemini::add_int_member (b, "prompt_tokens", s.prompt_tokens);
    gemini::add_int_member (b, "candidates_tokens", s.candidates_tokens);
    gemini::add_int_member (b, "cached_tokens", s.cached_tokens);
    gemini::add_int_member (b, "total_tokens", s.total_tokens);
    add_ms (b, "request_ms", s.request_time);
    gemini::add_int_member (b, "media_bytes", (gint64) s.media_bytes);
    json_builder_set_member_name (b, "truncated");
    json_builder_add_boolean_value (b, s.truncated);
    json_builder_set_member_name (b, "repairs");
    json_builder_begin_array (b);
    for (const auto &r : s.repairs)
      json_builder_add_string_value (b, r.c_str ());
    json_builder_end_array (b);
    json_builder_end_object (b);
    prompt += s.prompt_tokens;
    candidates += s.candidates_tokens;
    cached += s.cached_tokens;
    total += s.total_tokens;
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "usage");
  json_builder_begin_object (b);
  gemini::add_int_member (b, "prompt_tokens", prompt);
  gemini::add_int_member (b, "candidates_tokens", candidates);
  gemini::add_int_member (b, "cached_tokens", cached);
  gemini::add_int_member (b, "total_tokens", total);
  json_builder_end_object (b);
  json_builder_end_object (b);

  GPtr<JsonNode> root (json_builder_get_root (b));
  GPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), root.get ());
  json_generator_set_pretty (gen.get (), TRUE);
  gchar *text = json_generator_to_data (gen.get (), nullptr);
  std::string r (text);
  g_free (text);
  return r + "\n";
}

std::string
render_markdown (const Transcript &t)
{
  std::string out = "# Transcript of " + markdown_cell (t.input) + "\n\n";
  out += "Model `" + t.model + "`, " + format_clock (t.duration) + " of media, "
      + std::to_string (t.total_tokens ()) + " tokens.\n\n## Speakers\n\n";
  out += "| id | name | company | position | role | talk time |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const auto &sp : t.speakers)
    out += "| " + sp.id + " | " + markdown_cell (sp.info.name) + " | "
        + markdown_cell (sp.info.company) + " | " + markdown_cell (sp.info.position) + " | "
        + markdown_cell (sp.info.role_in_video) + " | "
        + format_clock ((GstClockTime) (t.talk_seconds (sp.id) * GST_SECOND)) + " |\n";
  if (has_evidence (t)) {
    out += "\n## Evidence\n\n| speaker | field | time | how | what |\n|---|---|---|---|---|\n";
    for (const auto &sp : t.speakers)
      for (const auto &e : sp.info.evidence)
        out += "| " + sp.id + " | " + e.field + " | " + evidence_time (e) + " | "
            + markdown_cell (e.source) + " | " + markdown_cell (e.text) + " |\n";
  }
  out += "\n## Transcript\n\n| start | end | speaker | text |\n|---|---|---|---|\n";
  for (size_t i = 0; i < t.utterances.size (); i++) {
    const Utterance &u = t.utterances[i];
    out += "| " + cue_time (u.start, '.') + " | " + cue_time (utterance_end (t, i), '.')
        + " | " + markdown_cell (t.label (u.speaker_id)) + " | " + markdown_cell (u.text)
        + " |\n";
  }
  return out;
}

std::string
render_html (const Transcript &t)
{
  const std::string title = "Transcript of " + escape_markup (t.input);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>" + title + "</title>\n<style>\n"
      "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}\n"
      "table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}\n"
      "th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}\n"
      "tr.identified td{background:#eef7ee;font-weight:600}\n"
      "tr.unidentified td{color:#999;font-style:italic}\n"
      ".swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.4em;vertical-align:-.1em}\n"
      ".timeline{margin:.5em 0 1.5em}\n"
      ".lane{display:flex;align-items:center;height:1.7em}\n"
      ".lane .who{width:12em;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}\n"
      ".lane .track{position:relative;flex:1;height:1.1em;background:#f3f3f3;border-radius:3px}\n"
      ".lane .track span{position:absolute;top:0;bottom:0;min-width:2px;border-radius:2px}\n"
      ".lane.unidentified .who{color:#999;font-style:italic}\n"
      ".axis{display:flex;justify-content:space-between;margin-left:12em;color:#777;font-size:.85em}\n"
      "td.time{white-space:nowrap;font-variant-numeric:tabular-nums;color:#555}\n"
      "</style>\n</head>\n<body>\n<h1>" + title + "</h1>\n";
  out += "<p>Model <code>" + escape_markup (t.model) + "</code>, " + format_clock (t.duration)
      + " of media, " + std::to_string (t.total_tokens ()) + " tokens, "
      + std::to_string (t.segments.size ()) + " segments.</p>\n";

  const bool evidence = has_evidence (t);
  out += std::string ("<h2>Speakers</h2>\n<table class=\"speakers\">\n<thead><tr><th>id</th>"
      "<th>name</th><th>company</th><th>position</th><th>role</th><th>talk time</th>")
      + (evidence ? "<th>evidence</th>" : "") + "</tr></thead>\n<tbody>\n";
  for (const auto &sp : t.speakers) {
    out += std::string ("<tr class=\"") + (sp.info.identified () ? "identified" : "unidentified")
        + "\"><td><span class=\"swatch\" style=\"background:" + speaker_colour (t, sp.id)
        + "\"></span>" + escape_markup (sp.id) + "</td><td>" + escape_markup (sp.info.name)
        + "</td><td>" + escape_markup (sp.info.company) + "</td><td>"
        + escape_markup (sp.info.position) + "</td><td>" + escape_markup (sp.info.role_in_video)
        + "</td><td>"
        + format_clock ((GstClockTime) (t.talk_seconds (sp.id) * GST_SECOND)) + "</td>"
        + (evidence ? "<td class=\"evidence\">" + evidence_html (sp.info.evidence) + "</td>" : "")
        + "</tr>\n";
  }
  out += "</tbody>\n</table>\n";

  out += "<h2>Timeline</h2>\n<div class=\"timeline\">\n";
  const double total = GST_CLOCK_TIME_IS_VALID (t.duration) && t.duration > 0 ?
      (double) t.duration : 1.0;
  for (const auto &sp : t.speakers) {
    out += std::string ("<div class=\"lane ") + (sp.info.identified () ? "identified" : "unidentified")
        + "\" data-speaker=\"" + escape_markup (sp.id) + "\"><div class=\"who\">"
        + escape_markup (t.label (sp.id)) + "</div><div class=\"track\">";
    for (size_t i = 0; i < t.utterances.size (); i++) {
      const Utterance &u = t.utterances[i];
      if (u.speaker_id != sp.id)
        continue;
      const GstClockTime end = utterance_end (t, i);
      out += "<span style=\"left:" + format_percent ((double) u.start, total) + ";width:"
          + format_percent ((double) (end - u.start), total) + ";background:"
          + speaker_colour (t, sp.id) + "\" title=\"" + cue_time (u.start, '.') + " "
          + escape_markup (u.text) + "\"></span>";
    }
    out += "</div></div>\n";
  }
  out += "<div class=\"axis\"><span>0:00</span><span>" + format_clock (t.duration / 2)
      + "</span><span>" + format_clock (t.duration) + "</span></div>\n</div>\n";

  out += "<h2>Transcript</h2>\n<table class=\"transcript\">\n<thead><tr><th>start</th>"
      "<th>end</th><th>speaker</th><th>text</th></tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < t.utterances.size (); i++) {
    const Utterance &u = t.utterances[i];
    out += "<tr><td class=\"time\">" + cue_time (u.start, '.') + "</td><td class=\"time\">"
        + cue_time (utterance_end (t, i), '.') + "</td><td><span class=\"swatch\" "
        "style=\"background:" + speaker_colour (t, u.speaker_id) + "\"></span>"
        + escape_markup (t.label (u.speaker_id)) + "</td><td>" + escape_markup (u.text)
        + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n</body>\n</html>\n";
  return out;
}

std::string
invalid_time (const Transcript &t)
{
  auto quoted = [] (const std::string &text) {
    GPtr<gchar> head (g_utf8_substring (text.c_str (), 0, 40));
    return "\"" + std::string (head.get ()) + "\"";
  };
  for (gsize i = 0; i < t.cues.size (); i++) {
    const Cue &c = t.cues[i];
    if (!GST_CLOCK_TIME_IS_VALID (c.start) || !GST_CLOCK_TIME_IS_VALID (c.duration)
        || c.duration == 0 || c.start + c.duration < c.start
        || !GST_CLOCK_TIME_IS_VALID (c.start + c.duration))
      return "cue " + std::to_string (i + 1) + " " + quoted (c.text) + " has no valid time";
  }
  for (gsize i = 0; i < t.utterances.size (); i++) {
    const Utterance &u = t.utterances[i];
    if (!GST_CLOCK_TIME_IS_VALID (u.start))
      return "row " + std::to_string (i + 1) + " " + quoted (u.text) + " has no valid start";
  }
  return {};
}

bool
write_text_output (const std::string &path, Format f, const Transcript &t,
    std::string &error)
{
  error = invalid_time (t);
  if (!error.empty ())
    return false;
  std::string content;
  switch (f) {
    case Format::Srt: content = render_srt (t); break;
    case Format::Vtt: content = render_vtt (t); break;
    case Format::Json: content = render_json (t); break;
    case Format::Markdown: content = render_markdown (t); break;
    case Format::Html: content = render_html (t); break;
    case Format::Mkv:
    case Format::Mp4:
      g_assert_not_reached ();
  }
  GError *err = nullptr;
  if (!g_file_set_contents (path.c_str (), content.data (), content.size (), &err)) {
    error = err->message;
    g_error_free (err);
    return false;
  }
  return true;
}

std::optional<std::string>
file_key (const std::string &path)
{
  GStatBuf st;
  if (g_stat (path.c_str (), &st) != 0)
    return std::nullopt;
  return std::to_string (st.st_dev) + ":" + std::to_string (st.st_ino);
}

bool
same_file (const std::string &output, const std::string &input)
{
  const auto out = file_key (output);
  return out && out == file_key (input);
}

}  // namespace transcribe
