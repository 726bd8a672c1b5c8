/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The output formats, chosen by the file name's extension. */
#pragma once

#include <optional>
#include <string>

#include "run_transcript.h"

namespace transcribe {

enum class Format { Srt, Vtt, Json, Markdown, Html, Mkv, Mp4 };

std::optional<Format> format_for_path (const std::string &path);
bool is_video_format (Format f);

std::string render_srt (const Transcript &t);
std::string render_vtt (const Transcript &t);
std::string render_json (const Transcript &t);
std::string render_markdown (const Transcript &t);
std::string render_html (const Transcript &t);

/* Empty when every cue and row has a valid time; otherwise what is wrong
 * with the first that has not. No writer prints such a time. */
std::string invalid_time (const Transcript &t);

/* The file at `path` whatever the spelling of the path or the links to it
 * ("device:inode"); nullopt when nothing is there. */
std::optional<std::string> file_key (const std::string &path);

/* Whether writing `output` would replace `input`. */
bool same_file (const std::string &output, const std::string &input);

/* Writes a text format; false with `error` set when the file cannot be
 * written or a time in `t` is invalid. */
bool write_text_output (const std::string &path, Format f, const Transcript &t,
    std::string &error);

}  // namespace transcribe
