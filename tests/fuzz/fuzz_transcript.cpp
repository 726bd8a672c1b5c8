/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: gemini::parse_transcript() on any model answer, with a
 * clip length and offset taken from the first bytes. Whatever it accepts
 * must be sane: times inside the clip, text valid UTF-8. */
#include <cstdint>
#include <cstring>
#include <string_view>

#include "transcript_parser.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gemini::ParseContext ctx;
  ctx.duration = 30 * GST_SECOND;
  if (size >= 2) {
    ctx.duration = (1 + data[0]) * GST_SECOND;
    ctx.clip_offset = data[1] * 10 * GST_SECOND;
    ctx.truncated = data[1] & 1;
    data += 2;
    size -= 2;
  }
  auto parsed = gemini::parse_transcript (
      std::string_view (reinterpret_cast<const char *> (data), size), ctx);
  if (!parsed)
    return 0;
  for (const auto &u : parsed->utterances) {
    if (u.start > ctx.duration)
      __builtin_trap ();
    if (GST_CLOCK_TIME_IS_VALID (u.end) && (u.end > ctx.duration || u.end < u.start))
      __builtin_trap ();
    if (!g_utf8_validate (u.text.data (), u.text.size (), nullptr))
      __builtin_trap ();
  }
  return 0;
}
