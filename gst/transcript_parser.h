/* Turns the model's structured answer into a SegmentTranscript, trusting
 * nothing: invalid UTF-8, timecodes out of range / negative / decreasing /
 * all zero, repetition loops, JSON cut at MAX_TOKENS (complete rows are
 * salvaged), voices present in one table and not the other. */
#pragma once

#include <string_view>

#include <gst/gst.h>

#include "result.h"
#include "transcript.h"

namespace gemini {

struct ParseContext {
  GstClockTime duration = 0;          /* length of the media the model saw */
  /* Where the clip starts in the stream; the model may answer with times
   * relative to the clip (expected) or to the stream: both are accepted. */
  GstClockTime clip_offset = 0;
  bool truncated = false;             /* finishReason was MAX_TOKENS */
};

/* Error (Kind::Protocol) only when nothing usable could be read. */
Result<SegmentTranscript> parse_transcript (std::string_view text, const ParseContext &ctx);

/* Completes a transcript cut at `head.covered_until` with the answer to a
 * request for the rest of the clip: the tail's rows from that time on are
 * appended, and its voices renamed ("t1"...) since the two answers number
 * voices independently (the speaker registry joins them by name). */
void merge_tail (SegmentTranscript &head, SegmentTranscript tail);

}  // namespace gemini
