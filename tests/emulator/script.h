/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The script the emulator plays (docs/emulator.md, "Script"): the accepted
 * credentials and models, the transcript its model "hears", scripted
 * answers, pacing, and the faults to inject. */
#pragma once

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <glib.h>

namespace gemini::test::emu {

constexpr gint64 kDefaultMaxInlineBytes = 20971520;
/* models.get for the 2.5 and 3.x Flash models (model.proto fields). */
constexpr gint64 kDefaultInputTokenLimit = 1048576;
constexpr gint64 kDefaultOutputTokenLimit = 65536;

/* Where a speaker's field is shown or said, in stream seconds. */
struct Evidence {
  std::string field, source, text;
  double time = 0.0;
};

struct Speaker {
  std::string id, name, company, position, role;
  double visible_from = -1.0;
  double visible_until = INFINITY;
  std::vector<Evidence> evidence;
};

struct Utterance {
  double start = 0.0, end = 0.0;
  std::string speaker, text;
};

struct Fault {
  std::string match;  /* empty: any generate or stream */
  std::string type;
  std::optional<gint64> nth, count;
  guint status = 500;
  std::string grpc_status, message, retry_delay, quota_id, text;
  double keep_fraction = 0.5;
  gint64 delay_ms = 0;
  bool mid_stream = false;
  gint64 seen = 0, fired = 0;

  bool matches (const std::string &kind) const {
    if (match.empty ())
      return kind == "generate" || kind == "stream";
    if (match == "any")
      return kind != "control" && kind != "other";
    if (match == "upload")
      return kind == "upload_start" || kind == "upload_chunk";
    return match == kind;
  }
};

struct Script {
  std::string api_key = "test-key";
  std::string vertex_token = "test-token";
  std::vector<std::string> models;
  /* models.get's inputTokenLimit / outputTokenLimit per model; others get
   * the Gemini 2.5+ Flash figures. */
  std::map<std::string, std::pair<gint64, gint64>> model_limits;
  gint64 file_processing_polls = 1;
  double latency_ms = 0, latency_per_media_second_ms = 0;
  double output_chars_per_second = 0;   /* 0: the answer is there at once */
  std::string timecode_format = "mm:ss";
  gint64 max_inline_bytes = kDefaultMaxInlineBytes;
  bool has_transcript = false;
  bool shuffle_voices = false;
  std::string language = "en";       /* "" = the answer has no language field */
  std::vector<Speaker> speakers;
  std::vector<Utterance> utterances;
  std::vector<std::string> responses;
  gsize next_response = 0;
  std::vector<Fault> faults;
  bool require_upload_size = false;
  guint require_upload_size_status = 400;
  gint64 min_cache_tokens = 1024;

  bool knows_model (const std::string &model) const;
  /* The first fault due for a request of this kind; every fault that
   * matches the kind counts the request, so `nth` counts requests, not
   * firings. */
  std::optional<Fault> take_fault (const std::string &kind);
  /* Back to the first scripted response and fault counters at 0. */
  void restart ();
};

/* "{}" or blank text gives the defaults. */
std::optional<Script> parse_script (std::string_view text, std::string *error);

}  // namespace gemini::test::emu
