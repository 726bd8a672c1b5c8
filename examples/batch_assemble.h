/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A --batch input's transcript from the answers to its windows. */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "batch_answers.h"
#include "batch_state.h"
#include "run_transcript.h"

namespace transcribe {

/* What the element would have pushed for these answers: the same parser
 * and the same gemini::Assembly, in window order. `answers` holds one
 * entry per window of `in`, nullopt for a window without an answer. With
 * the input's `sound`, cues are timed on its speech (--timing audio). */
Transcript assemble (const InputState &in, const std::string &model,
    const std::vector<std::optional<WindowAnswer>> &answers,
    const gemini::AudioEnvelope *sound);

}  // namespace transcribe
