/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: gemini::parse_timecode() on any text; a time it
 * accepts formats and parses back to the same millisecond. */
#include <cstdint>
#include <string_view>

#include "timecode.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  auto t = gemini::parse_timecode (
      std::string_view (reinterpret_cast<const char *> (data), size));
  if (!t || *t > 1000 * 3600 * GST_SECOND)
    return 0;
  const GstClockTime ms = *t / GST_MSECOND * GST_MSECOND;
  auto again = gemini::parse_timecode (gemini::format_timecode (ms, true));
  if (!again || *again != ms)
    __builtin_trap ();
  return 0;
}
