/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What differs between Gemini model families, as the service documents it:
 * how they sample and how many tokens a frame costs. One place, so that a
 * new family is one change. docs/client.md gives the sources. */
#pragma once

#include <optional>
#include <string_view>

namespace gemini {

/* Gemini 1.x and 2.x ("gemini-2.5-flash", "models/gemini-2.0-pro"...);
 * anything else is taken for Gemini 3 or later. */
bool is_gemini_2 (std::string_view model);

struct Sampling {
  std::optional<double> temperature;  /* nullopt: not sent, the model's default */
  std::optional<double> top_p;
};

/* The sampling to request of `model`, `temperature` being the user's when
 * set. Gemini 2.x: temperature 0 and topP 0, the study's most repeatable
 * transcripts. Gemini 3: Google's guidance is to keep the default
 * temperature (1.0; lower values can loop or degrade the answer), and
 * temperature, topP and topK are deprecated from 3.6 Flash on: only what
 * the user set is sent, and never topP. */
Sampling sampling_for (std::string_view model, std::optional<double> temperature);

}  // namespace gemini
