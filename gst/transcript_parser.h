/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Turns the model's structured answer into a SegmentTranscript, trusting
 * nothing: invalid UTF-8, timecodes out of range / negative / decreasing /
 * all zero, repetition loops, JSON cut at MAX_TOKENS (complete rows are
 * salvaged), voices present in one table and not the other. */
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gst/gst.h>

#include "bounds.h"
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

/* The rows of an answer that arrives in pieces (streamGenerateContent).
 * The schema puts `language` first, then the transcripts table, then the
 * speakers table. A row is final once the row after it is complete or the
 * transcripts table has closed: the cue builder needs the next row's start
 * to end a cue. Rows are read with parse_transcript() on the text so far, so
 * they get the same repairs; a repair that needs later rows (all-zero
 * timecodes spread over the clip) cannot change rows already returned. The
 * speakers come last: parse the whole text at the end for them. */
class TranscriptStream {
public:
  explicit TranscriptStream (const ParseContext &ctx)
      : ctx_ (ctx),
        max_rows_ (limits::in_proportion (ctx.duration, limits::ROWS_PER_MINUTE,
                limits::ROWS_FLOOR)) {}

  /* Appends a piece of the answer; returns the rows that became final, in
   * order, each once. */
  std::vector<Utterance> push (std::string_view piece);

  const std::string &text () const { return text_; }
  gsize released () const { return released_; }
  bool table_closed () const { return closed_; }

private:
  bool scan ();

  ParseContext ctx_;
  gsize max_rows_;
  std::string text_;
  gsize parsed_size_ = 0;
  gsize scanned_ = 0;
  gsize released_ = 0;
  /* Scanner state, carried from one piece to the next. */
  gsize depth_ = 0;
  gsize table_depth_ = 0;            /* depth inside the transcripts array, 0 = not in it */
  bool in_string_ = false;
  bool escape_ = false;
  bool closed_ = false;
  gsize string_start_ = 0;
  std::string last_string_;
  std::string key_;
};

}  // namespace gemini
