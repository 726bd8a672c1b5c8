/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault-test plumbing shared by the fault matrix and the secrets tests: a
 * geminitranscriber pipeline fed from appsrc (or any launch fragment), run
 * against the emulator, with everything it produced recorded: cues and GAPs
 * seen on the src pad, gemini-segment messages, warnings, errors. */
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "common.h"

namespace gemini::test {

/* Three segments at segment-duration=2000, separated by silence so the
 * quiet-point search cuts them at the same places every time: 0-~2.1 s
 * (four rows), ~2.1-~4.3 s, ~4.3-6.2 s. */
const std::vector<ScriptLine> &fault_lines ();
inline constexpr double FAULT_SECONDS = 6.2;

/* interview_script() with millisecond timecodes and `extra` spliced in. */
std::string fault_script (const std::string &extra = "");

/* A JSON string literal (quotes included) holding `text`. */
std::string json_quote (const std::string &text);

/* Tone bursts for `lines` in [from, to) as 100 ms buffers of any rate and
 * channel count (S16LE interleaved). */
GstBuffer *tone_buffer (const std::vector<ScriptLine> &lines, GstClockTime pts,
    GstClockTime duration, int rate, int channels);

struct RecordedCue {
  GstClockTime pts;
  GstClockTime duration;
  std::string text;      /* newlines folded to spaces */
  std::string name;      /* speaker name from GeminiTranscriptMeta */
  std::string speaker_id;
};

struct RecordedGap {
  GstClockTime start;
  GstClockTime duration;
};

struct RunSpec {
  std::string script = "{}";
  /* Set as the api-key property; empty: not set (the environment decides). */
  std::string api_key = "test-key";
  /* Extra geminitranscriber properties, launch syntax. */
  std::string props;
  /* The launch fragment that feeds `t.`; the default is an appsrc named
   * "audio" with SPEECH_CAPS. */
  std::string sources;
  /* Pushes the input into the appsrc named "audio" (when there is one);
   * the default pushes fault_lines() as speech. */
  std::function<void (GstAppSrc *)> feed;
  guint timeout_s = 60;
  /* How long to keep listening after the first error, to catch more. */
  guint error_grace_ms = 1500;
};

struct RunResult {
  std::string ending;    /* "eos", "error", "timeout", "state-change" */
  std::vector<GPtr<GstStructure>> segments;   /* gemini-segment, in order */
  std::vector<std::string> warnings;           /* "text | debug" */
  std::vector<std::string> errors;             /* "text | debug" */
  std::vector<std::string> all_messages;       /* every bus message, serialised */
  std::vector<RecordedCue> cues;
  std::vector<RecordedGap> gaps;
  bool eos_event = false;
  GPtr<JsonNode> log;
  double seconds = 0;

  guint generate_count () const;
  const GstStructure *segment (guint64 index) const;
  std::string status (guint64 index) const;
  /* [start, end) of a segment in seconds. */
  std::pair<double, double> span (guint64 index) const;
  bool has_cue_with (const std::string &text) const;
  bool gap_covers (double start, double end) const;
  /* [start, end) lies under cues and GAPs, without a hole. */
  bool covered (double start, double end) const;
  /* Errors posted by the transcriber itself (not upstream's flow errors). */
  std::vector<std::string> transcriber_errors () const;
};

/* The canonical audio input: fault_lines() as speech, 100 ms buffers. */
void push_fault_speech (GstAppSrc *src);

RunResult run_transcriber (Emulator &emu, const RunSpec &spec);

}  // namespace gemini::test
