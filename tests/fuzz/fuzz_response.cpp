/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: gemini::parse_generate_response() and
 * gemini::parse_error_body() on any body. */
#include <cstdint>
#include <string_view>

#include "response.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view body (reinterpret_cast<const char *> (data), size);
  auto resp = gemini::parse_generate_response (body);
  if (resp)
    (void) resp->blocked ();
  gemini::Error e = gemini::parse_error_body (size ? 400 + data[0] % 200 : 500, body);
  (void) e.describe ();
  return 0;
}
