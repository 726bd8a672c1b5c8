/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contract every fault test checks (docs/element.md, issue 6) and the
 * small helpers the fault tests share. */
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "faults_common.h"

namespace gemini::test {

/* The rows of segment 0 (it ends in the silence after 1.9 s). */
constexpr double SEG0_END_MIN = 1.9;
constexpr double SEG0_END_MAX = 2.6;

/* The script rows that start in [start, end). */
std::vector<std::string> script_texts_in (double start, double end);

struct Expect {
  /* Segment 0's fate; the others must be "ok". */
  const char *seg0_status = "ok";
  /* What segment 0's cues must contain when it is ok; empty: its script rows. */
  std::vector<std::string> seg0_texts;
  /* Segment 0 ok but only some of its rows are required (a cut answer). */
  bool seg0_partial = false;
};

/* The pipeline reached EOS; every segment is reported once and in order;
 * an ok segment has cues for its rows; a failed or blocked one (only
 * segment 0 may be) has no cues, a GAP, a warning naming it with its error;
 * silence is covered; cues are valid UTF-8, in order, not overlapping. */
void check_contract (const RunResult &r, const Expect &e);

/* fault_lines() through the transcriber, `extra` spliced into the script. */
RunResult run_with (const std::string &extra, const std::string &props = "");

double seconds_between_requests (const RunResult &r, guint a, guint b);
gint64 request_status (const RunResult &r, guint i);

/* A model answer for segment 0 made of `rows` (JSON objects) and a speakers
 * table, as a `text` fault on the first generate request. */
std::string seg0_answer_fault (const std::string &rows, const std::string &speakers =
    R"([{"voice":1,"name":"Alice Martin","company":"Acme Media","position":"Editor in chief","role_in_video":"host"},)"
    R"({"voice":2,"name":"Bob Chen","company":"Globex","position":"Streaming engineer","role_in_video":"guest"}])");

/* Segments that were sent (not silent). */
guint n_sent (const RunResult &r);
guint n_repairs (const RunResult &r, guint64 seg);
void check_seg0_cues_inside (const RunResult &r);
/* Emulator log entries of `kind` (with that HTTP status when >= 0). */
guint count_kind (const RunResult &r, const char *kind, gint64 status = -1);

/* A fatal error: one GST_ELEMENT_ERROR from the transcriber, at most one
 * request per segment in flight (max-concurrent-requests=4). */
RunResult run_fatal (const std::string &extra, const std::string &props,
    const std::string &api_key = "test-key");

/* Pushes fault_lines() as speech, each buffer passed through `tweak`
 * (false: not pushed). */
void feed_tweaked (GstAppSrc *src, const std::function<bool (GstBuffer *, guint)> &tweak);
/* Every script row in a cue near its time (rows from `shift_from` on moved
 * by `shift`), no warning, no error. */
void check_all_lines_near_their_time (const RunResult &r, double shift_from = 1e9,
    double shift = 0);
/* Video without sound: segments cut by time, pictures alone sent. */
void check_video_only (const RunResult &r);

}  // namespace gemini::test
