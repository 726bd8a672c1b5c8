/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "prompt.h"

#include <vector>

#include "debug.h"
#include "timecode.h"

GEMINI_DEBUG_CATEGORY (gemini_prompt_debug, "geminiprompt",
    "Gemini transcription prompt and request");
#define GST_CAT_DEFAULT gemini_prompt_debug

namespace gemini {

namespace {

/* Always H:MM:SS.mmm: the emulator and our tests parse this sentence. */
std::string
stream_timecode (GstClockTime t)
{
  guint64 ms = t / GST_MSECOND;
  GPtr<gchar> s (g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u.%03u", ms / 3600000,
          static_cast<guint> (ms / 60000 % 60), static_cast<guint> (ms / 1000 % 60),
          static_cast<guint> (ms % 1000)));
  return s.get ();
}

/* The user's text must not be able to close our delimiter and speak as
 * instructions. */
std::string
sanitize_context (std::string_view text)
{
  static constexpr std::string_view closing = "</context>";
  std::string out;
  out.reserve (text.size ());
  gsize i = 0;
  while (i < text.size ()) {
    if (text.size () - i >= closing.size ()
        && g_ascii_strncasecmp (text.data () + i, closing.data (), closing.size ()) == 0) {
      i += closing.size ();
      continue;
    }
    out += text[i++];
  }
  return out;
}

void
add_string_array (JsonBuilder *b, const char *name, const std::vector<const char *> &values)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (const char *v : values)
    json_builder_add_string_value (b, v);
  json_builder_end_array (b);
}

struct Column {
  const char *name;
  const char *type;            /* OpenAPI type, upper case */
  bool required;
  /* An ARRAY column: a table inside the row, of these columns. */
  const std::vector<Column> *rows = nullptr;
};

void add_object_schema (JsonBuilder *b, const std::vector<Column> &columns);

/* A table: an ARRAY of rows, each row an OBJECT with these columns. */
void
add_table_schema (JsonBuilder *b, const std::vector<Column> &columns)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ARRAY");
  json_builder_set_member_name (b, "items");
  add_object_schema (b, columns);
  json_builder_end_object (b);
}

/* An OBJECT schema whose properties come in `columns` order, both in
 * `properties` and in `propertyOrdering`. */
void
add_object_schema (JsonBuilder *b, const std::vector<Column> &columns)
{
  std::vector<const char *> order, required;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "OBJECT");
  json_builder_set_member_name (b, "properties");
  json_builder_begin_object (b);
  for (const Column &c : columns) {
    json_builder_set_member_name (b, c.name);
    if (c.rows) {
      add_table_schema (b, *c.rows);
    } else {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, c.type);
      json_builder_end_object (b);
    }
    order.push_back (c.name);
    if (c.required)
      required.push_back (c.name);
  }
  json_builder_end_object (b);
  add_string_array (b, "required", required);
  add_string_array (b, "propertyOrdering", order);
  json_builder_end_object (b);
}

void
add_table_property (JsonBuilder *b, const char *name, const std::vector<Column> &columns)
{
  json_builder_set_member_name (b, name);
  add_table_schema (b, columns);
}

/* The evidence table of a speakers row. */
const std::vector<Column> EVIDENCE_COLUMNS = {
  {"field", "STRING", true}, {"time", "STRING", true}, {"source", "STRING", true},
  {"text", "STRING", true},
};

std::string
evidence_instructions (const char *tc_format)
{
  return std::string ("- Give each row an `evidence` list: for each of `name`, `company`, "
      "`position` and `role_in_video` that is not `?`, one item with `field` (which of "
      "them), `time` (the timecode, ") + tc_format + ", where you found it), `source` "
      "(`shown` when you read it on screen, `said` when you heard it) and `text` (the "
      "words shown or said, as they were).\n";
}

const char *
timecode_format (const PromptOptions &opts)
{
  const bool long_clip = opts.clip_duration >= 3600 * GST_SECOND;
  const bool fine = opts.has_video && opts.fps > 1.0;
  return long_clip ? (fine ? "H:MM:SS.sss" : "H:MM:SS") : (fine ? "MM:SS.sss" : "MM:SS");
}

std::string
context_section (const std::string &context)
{
  if (context.empty ())
    return {};
  return "\n**Context**\n"
      "Use this context only to spell names and terms correctly; never add a speaker "
      "who is not heard or seen in the clip.\n"
      "<context>\n" + sanitize_context (context) + "\n</context>\n";
}

/* The first request of a windowed whole-file job: who speaks, found from
 * the whole video, so every window can name voices it cannot identify in
 * its own stretch. */
std::string
speakers_prompt (const PromptOptions &opts)
{
  std::string p;
  p += "Generate a JSON object with keys `language` and `task2_speakers`.\n\n";
  p += "**Language** - Set `language` to the ISO 639-1 code of the main language "
      "spoken (for example `en`).\n\n";
  p += "**Speakers**\n";
  p += opts.has_video ? "- Watch the whole video and listen to the whole audio.\n"
                      : "- Listen to the whole audio.\n";
  p += "- List every distinct voice once, with a `voice` ID (1, 2, 3, etc.).\n";
  p += "- For each voice, extract the speaker's `name`, `company`, `position` and "
      "`role_in_video`.\n";
  if (opts.has_video)
    p += "- Use visual cues (title cards, lower thirds, badges, slides, on-screen text) "
        "and audio cues (introductions, people addressing each other), wherever they "
        "appear in the video.\n";
  else
    p += "- Use audio cues (introductions, people addressing each other), wherever they "
        "occur.\n";
  p += "- If a value cannot be found, use `?` as the value.\n";
  p += "- Each row has the fields `voice`, `name`, `company`, `position`, "
      "`role_in_video`";
  p += opts.evidence ? ", `evidence`.\n" + evidence_instructions (timecode_format (opts))
                     : std::string (".\n");
  return p + context_section (opts.context);
}

}  // namespace

/* Timecodes are asked for as MM:SS (H:MM:SS from one hour): the format the
 * model was trained on with the default 1 fps sampling, 5 tokens a row.
 * Above 1 fps a second holds several frames, and milliseconds can tell
 * them apart: MM:SS.sss. The parser accepts fractions either way. */
std::string
build_prompt (const PromptOptions &opts)
{
  ensure_debug_category ();

  const bool long_clip = opts.clip_duration >= 3600 * GST_SECOND;
  const char *tc_format = timecode_format (opts);
  const char *zero = long_clip ? "0:00:00" : "00:00";

  std::string p;
  p += "This clip covers " + stream_timecode (opts.clip_start) + " to "
      + stream_timecode (opts.clip_start + opts.clip_duration) + " of the stream. ";
  p += std::string ("Every timecode you write is relative to the start of this clip: ")
      + zero + " is the first second of the clip";
  if (opts.clip_duration > 0)
    p += ", and the clip ends at " + format_timecode (opts.clip_duration);
  p += ".\n\n";

  if (opts.speakers_only)
    return p + speakers_prompt (opts);

  p += "Generate a JSON object with keys `language`, `task1_transcripts` and "
      "`task2_speakers` for the following tasks.\n\n";
  p += "**Language** - Set `language` to the ISO 639-1 code of the main language "
      "spoken in the clip (for example `en`).\n\n";

  p += "**Task 1 - Transcripts**\n";
  if (opts.has_video)
    p += "- Watch the video and listen carefully to the audio.\n";
  else
    p += "- Listen carefully to the audio.\n";
  p += "- Identify the distinct voices using a `voice` ID (1, 2, 3, etc.).\n";
  p += "- Transcribe the audio verbatim with voice diarization.\n";
  if (opts.transcribe_from && opts.transcribe_until)
    p += "- Transcribe only the speech from " + format_timecode (*opts.transcribe_from)
        + " to " + format_timecode (*opts.transcribe_until) + ": other requests transcribe "
        "the rest. Include a sentence that starts before " + format_timecode (*opts.transcribe_until)
        + " in full. Timecodes stay relative to the start of the clip.\n";
  else if (opts.transcribe_from)
    p += "- Transcribe only the speech from " + format_timecode (*opts.transcribe_from)
        + " to the end of the clip: what comes before it is already transcribed. "
        "Timecodes stay relative to the start of the clip.\n";
  if (!opts.language.empty ())
    p += "- Write the transcript in " + opts.language
        + ", translating faithfully any speech in another language.\n";
  else
    p += "- Write the transcript in the language spoken.\n";
  p += std::string ("- Include the `start` and `end` timecodes (") + tc_format
      + ") of each speech segment.\n";
  p += "- Each row has the fields `start`, `end`, `text`, `voice`.\n\n";

  p += "**Task 2 - Speakers**\n";
  p += "- For each `voice` ID from Task 1, extract the speaker's `name`, `company`, "
      "`position` and `role_in_video`.\n";
  if (opts.has_video)
    p += "- Use visual cues (title cards, lower thirds, badges, slides, on-screen text) "
        "and audio cues (introductions, people addressing each other).\n";
  else
    p += "- Use audio cues (introductions, people addressing each other).\n";
  p += "- If a value cannot be found, use `?` as the value.\n";
  p += "- Each row has the fields `voice`, `name`, `company`, `position`, "
      "`role_in_video`";
  p += opts.evidence ? ", `evidence`.\n" + evidence_instructions (tc_format)
                     : std::string (".\n");

  if (!opts.known_speakers.empty ()) {
    p += "\n**Known speakers**\n";
    p += "These people were identified earlier in the stream. When you hear or see one "
        "of them again, use exactly this name and spelling:\n";
    for (const auto &k : opts.known_speakers) {
      p += "- name: " + or_unknown (k.info.name) + "; company: " + or_unknown (k.info.company)
          + "; position: " + or_unknown (k.info.position) + "; role_in_video: "
          + or_unknown (k.info.role_in_video) + "\n";
    }
  }

  p += context_section (opts.context);

  GST_LOG ("prompt of %" G_GSIZE_FORMAT " bytes for clip at %" GST_TIME_FORMAT,
      p.size (), GST_TIME_ARGS (opts.clip_start));
  return p;
}

namespace {

/* language, then the tables in the order the model should write them. */
GPtr<JsonNode>
tables_schema (bool with_transcripts, bool evidence)
{
  GPtr<JsonBuilder> holder (json_builder_new ());
  JsonBuilder *b = holder.get ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "OBJECT");
  json_builder_set_member_name (b, "properties");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "language");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "STRING");
  json_builder_end_object (b);
  if (with_transcripts)
    add_table_property (b, "task1_transcripts", {
          {"start", "STRING", true}, {"end", "STRING", false},
          {"text", "STRING", true}, {"voice", "INTEGER", true}});
  std::vector<Column> speaker_columns = {
    {"voice", "INTEGER", true}, {"name", "STRING", true},
    {"company", "STRING", true}, {"position", "STRING", true},
    {"role_in_video", "STRING", true}};
  if (evidence)
    speaker_columns.push_back ({"evidence", "ARRAY", true, &EVIDENCE_COLUMNS});
  add_table_property (b, "task2_speakers", speaker_columns);
  json_builder_end_object (b);
  if (with_transcripts) {
    add_string_array (b, "required", {"task1_transcripts", "task2_speakers"});
    add_string_array (b, "propertyOrdering", {"language", "task1_transcripts", "task2_speakers"});
  } else {
    add_string_array (b, "required", {"task2_speakers"});
    add_string_array (b, "propertyOrdering", {"language", "task2_speakers"});
  }
  json_builder_end_object (b);

  return GPtr<JsonNode> (json_builder_get_root (b));
}

}  // namespace

GPtr<JsonNode>
transcript_response_schema (bool evidence)
{
  return tables_schema (true, evidence);
}

GPtr<JsonNode>
speakers_response_schema (bool evidence)
{
  return tables_schema (false, evidence);
}

namespace {

Part
media_part (MediaInput media)
{
  Part part;
  if (media.inline_data)
    part.data = InlineDataPart{media.mime_type, std::move (media.inline_data)};
  else
    part.data = FileDataPart{media.mime_type, media.file_uri};

  /* videoMetadata describes video sampling; audio parts take none. */
  if (g_str_has_prefix (media.mime_type.c_str (), "video/")) {
    VideoMetadata vm;
    vm.fps = media.fps;
    vm.start_offset = media.start_offset;
    vm.end_offset = media.end_offset;
    part.video_metadata = vm;
  }
  return part;
}

void
configure (GenerateRequest &req, const PromptOptions &opts, const GenerationSettings &settings)
{
  req.parts.push_back (Part::text (build_prompt (opts)));

  GenerationConfig &cfg = req.config;
  cfg.temperature = settings.temperature;
  cfg.top_p = settings.top_p;
  cfg.seed = settings.seed;
  cfg.max_output_tokens = settings.max_output_tokens;
  cfg.response_mime_type = "application/json";
  cfg.response_schema = opts.speakers_only ? speakers_response_schema (opts.evidence)
                                           : transcript_response_schema (opts.evidence);
  cfg.media_resolution = settings.media_resolution;
  if (settings.thinking_budget) {
    ThinkingConfig thinking;
    thinking.budget = settings.thinking_budget;
    cfg.thinking = thinking;
  }
}

}  // namespace

GenerateRequest
build_transcription_request (MediaInput media, const PromptOptions &opts,
    const GenerationSettings &settings)
{
  ensure_debug_category ();

  PromptOptions o = opts;
  o.fps = media.fps;
  GenerateRequest req;
  req.parts.push_back (media_part (std::move (media)));
  configure (req, o, settings);
  return req;
}

GenerateRequest
build_media_contents (MediaInput media)
{
  GenerateRequest req;
  req.parts.push_back (media_part (std::move (media)));
  return req;
}

GenerateRequest
build_cached_transcription_request (std::string cached_content, const PromptOptions &opts,
    const GenerationSettings &settings)
{
  ensure_debug_category ();

  GenerateRequest req;
  req.cached_content = std::move (cached_content);
  configure (req, opts, settings);
  return req;
}

}  // namespace gemini
