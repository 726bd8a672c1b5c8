/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Timecodes as the model writes them: "MM:SS", "M:SS", "H:MM:SS", "SS",
 * with optional fractions ("01:15.250", "1:02:03.5"), plus stray spaces,
 * brackets and an "s" suffix. */
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <gst/gst.h>

namespace gemini {

std::optional<GstClockTime> parse_timecode (std::string_view text);

/* "MM:SS" below one hour, "H:MM:SS" above; with ".mmm" when `millis`. */
std::string format_timecode (GstClockTime t, bool millis = false);

}  // namespace gemini
