/* The output formats, chosen by the file name's extension. */
#pragma once

#include <optional>
#include <string>

#include "transcript.h"

namespace transcribe {

enum class Format { Srt, Vtt, Json, Markdown, Html, Mkv, Mp4 };

std::optional<Format> format_for_path (const std::string &path);
bool is_video_format (Format f);

std::string render_srt (const Transcript &t);
std::string render_vtt (const Transcript &t);
std::string render_json (const Transcript &t);
std::string render_markdown (const Transcript &t);
std::string render_html (const Transcript &t);

/* Writes a text format; false with `error` set when the file cannot be written. */
bool write_text_output (const std::string &path, Format f, const Transcript &t,
    std::string &error);

}  // namespace transcribe
