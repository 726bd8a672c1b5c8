/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The defaults the element and the CLI share, so that `gemini-transcribe`
 * and a pipeline with the element's defaults send the same requests. */
#pragma once

#include <gst/gst.h>

namespace gemini::defaults {

inline constexpr const char *MODEL = "gemini-3.8-flash";
/* segment-duration 0 picks one of these. */
inline constexpr guint SEGMENT_MS_FILE = 120000;
inline constexpr guint SEGMENT_MS_LIVE = 10000;
inline constexpr double FPS = 1.0;
inline constexpr guint MAX_CONCURRENT = 4;
inline constexpr gint SEED = 42;
inline constexpr guint LATENCY_MS = 8000;
inline constexpr guint MAX_RETRIES = 4;
inline constexpr guint REQUEST_TIMEOUT_MS = 120000;
inline constexpr guint MAX_VIDEO_SIDE = 768;
/* Encoded media bytes above which a segment goes through the Files API:
 * base64 grows it by 4/3 and the whole request must stay under 20 MB. */
inline constexpr guint MAX_INLINE_BYTES = 14 * 1024 * 1024;

}  // namespace gemini::defaults
