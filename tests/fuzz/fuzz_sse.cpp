/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: gemini::SseDecoder fed an event stream cut into
 * chunks at fuzzer-chosen places; every event's data goes through
 * gemini::parse_generate_response() as the client does. */
#include <cstdint>
#include <string_view>

#include "response.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const size_t step = 1 + data[0] % 64;
  const std::string_view stream (reinterpret_cast<const char *> (data + 1), size - 1);
  gemini::SseDecoder decoder;
  auto on_event = [](std::string_view event) {
    auto resp = gemini::parse_generate_response (event);
    (void) resp;
  };
  for (size_t at = 0; at < stream.size (); at += step)
    decoder.push (stream.substr (at, step), on_event);
  decoder.finish (on_event);
  return 0;
}
