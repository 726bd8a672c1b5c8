/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The answer to each window of a --batch run, kept in the cache folder once
 * the job's results arrive: a rerun writes its outputs and its report from
 * these files, without asking the service again. */
#pragma once

#include <optional>
#include <string>

#include <gst/gst.h>

#include "audio_envelope.h"
#include "batch.h"
#include "batch_state.h"

namespace transcribe {

struct WindowAnswer {
  std::string text;
  bool truncated = false;
  std::string error;                  /* "" when answered */
  gint64 prompt_tokens = 0;
  gint64 audio_tokens = 0;
  gint64 candidates_tokens = 0;
  gint64 total_tokens = 0;
};

void save_answer (const State &s, const gemini::BatchResult &r);

/* nullopt when the window has no answer file, or one this program did not
 * write for `key`. */
std::optional<WindowAnswer> load_answer (const State &s, const std::string &key);

/* The input's loudness written at encode time; nullopt without one (no
 * audio, or a cache from before it was kept): its cues then keep the
 * model's times. */
std::optional<gemini::AudioEnvelope> load_sound (const State &s, const std::string &key);

}  // namespace transcribe
