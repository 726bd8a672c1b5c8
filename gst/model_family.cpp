/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "model_family.h"

namespace gemini {

bool
is_gemini_2 (std::string_view model)
{
  if (model.substr (0, 7) == "models/")
    model.remove_prefix (7);
  return model.substr (0, 9) == "gemini-2." || model.substr (0, 9) == "gemini-1.";
}

Sampling
sampling_for (std::string_view model, std::optional<double> temperature)
{
  Sampling s;
  if (is_gemini_2 (model)) {
    s.temperature = temperature.value_or (0.0);
    s.top_p = 0.0;
  } else {
    s.temperature = temperature;
  }
  return s;
}

}  // namespace gemini
