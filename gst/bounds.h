/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every bound the engine puts on what a server or a file may make it do.
 * A server that misbehaves, by accident or on purpose, must not make a run
 * grow without bound, spin, or wait for ever: past each bound the call fails
 * with an error naming it. docs/reliability.md gives each one's reason. */
#pragma once

#include <gst/gst.h>

namespace gemini::limits {

/* A generateContent answer, streamed or not (a streamed one's events
 * included). The largest output of any Gemini model is 65,536 tokens, a
 * few hundred KB of text; JSON-escaped inside the JSON of a response it
 * stays far below this. */
inline constexpr gsize ANSWER_BODY = 16 * 1024 * 1024;

/* Whatever else the service answers of its own: a file, a cache, a batch's
 * state, countTokens, an upload's status. Each is a few KB. */
inline constexpr gsize CONTROL_BODY = 1024 * 1024;

/* A batch's results, inline or as a results file: one answer per request. */
inline constexpr gsize BATCH_BODY = 256 * 1024 * 1024;

/* An error answer: a google.rpc.Status with its details is a few KB. */
inline constexpr gsize ERROR_BODY = 256 * 1024;

/* A streamed answer as a whole. The attempt timeout bounds the silence
 * between its events; the stream may last this many attempt timeouts in
 * all, so that a server sending only keep-alives cannot hold it open. */
inline constexpr guint STREAM_DEADLINE_FACTOR = 2;

/* JSON nesting. The deepest document we read (a transcript in a part in a
 * candidate in a response in a batch result) is under 20 levels; json-glib
 * recurses once per level, and 80,000 levels overflow a thread's stack. */
inline constexpr guint JSON_DEPTH = 64;

/* The longest RetryInfo delay honoured. A server asking for more is not
 * waited for: the call fails at once with the delay it asked for. */
inline constexpr GstClockTime RETRY_DELAY = 5 * 60 * GST_SECOND;

/* How long an uploaded file may stay PROCESSING. */
inline constexpr GstClockTime FILE_PROCESSING = 20 * 60 * GST_SECOND;

/* Rows of one answer, in proportion to the clip it is about. Fast speech is
 * four or five words a second and the prompt asks for a row per sentence or
 * turn, so four rows a second is beyond anyone; a few seconds' clip still
 * gets ROWS_FLOOR. Past the bound the rest is a generation loop or a hostile
 * server: it is dropped, with a repair saying how many. */
inline constexpr guint ROWS_PER_MINUTE = 240;
inline constexpr guint ROWS_FLOOR = 64;

/* Speakers of one answer, heard or shown on screen (a panel, a credits
 * card): one a second is already a crowd. */
inline constexpr guint SPEAKERS_PER_MINUTE = 60;
inline constexpr guint SPEAKERS_FLOOR = 32;

/* The clip a proportional bound assumes when its duration is unknown: the
 * longest media one request takes (9.5 hours of audio). */
inline constexpr GstClockTime UNKNOWN_CLIP = 10 * 3600 * GST_SECOND;

/* `per_minute` per minute of `clip`, at least `floor`. */
inline gsize
in_proportion (GstClockTime clip, guint per_minute, guint floor)
{
  const GstClockTime d = clip > 0 && GST_CLOCK_TIME_IS_VALID (clip) ? clip : UNKNOWN_CLIP;
  const gsize n = static_cast<gsize> (gst_util_uint64_scale_ceil (d, per_minute, 60 * GST_SECOND));
  return n > floor ? n : floor;
}

}  // namespace gemini::limits
