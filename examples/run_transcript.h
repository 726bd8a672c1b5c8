/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What one run of gemini-transcribe learns from the element: the cues it
 * pushed, the utterances and speakers of its bus messages, and the state of
 * every segment. The output writers and the render pass read only this. */
#pragma once

#include <string>
#include <vector>

#include <gst/gst.h>

#include "cue_builder.h"
#include "speaker_registry.h"

GST_DEBUG_CATEGORY_EXTERN (gemini_transcribe_debug);

namespace transcribe {

struct Cue {
  GstClockTime start = 0;
  GstClockTime duration = 0;
  std::string text;                   /* utf8, "Name: " in front when the speaker changes */
  std::string markup;                 /* the same as pango markup, for textoverlay */
  std::string speaker_id;
  std::string name;                   /* "?" when unknown */
};

/* A row of the transcript, placed as the element placed it, and the
 * segment that gave it. */
struct Utterance : gemini::TimedUtterance {
  guint64 segment = 0;
};

/* A stream-wide speaker, as the element's registry knows it; its fields
 * are gemini::UNKNOWN where nobody found them. */
using Speaker = gemini::RegisteredSpeaker;

struct SegmentReport {
  guint64 index = 0;
  std::string status;
  GstClockTime start = 0;
  GstClockTime duration = 0;
  std::string error;
  gint64 prompt_tokens = 0;
  gint64 candidates_tokens = 0;
  gint64 cached_tokens = 0;
  gint64 total_tokens = 0;
  GstClockTime request_time = 0;
  guint64 media_bytes = 0;
  bool truncated = false;
  std::vector<std::string> repairs;   /* what the parser fixed in the answer */
};

struct Transcript {
  std::string input;
  std::string model;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  bool has_audio = false;
  bool has_video = false;
  std::vector<Cue> cues;
  std::vector<Utterance> utterances;
  std::vector<Speaker> speakers;
  std::vector<SegmentReport> segments;

  gint64 total_tokens () const;
  const Speaker *find_speaker (const std::string &id) const;
  /* The name when known, else the stream-wide id. */
  std::string label (const std::string &speaker_id) const;
  /* Seconds each speaker talks, summed over their utterances. */
  double talk_seconds (const std::string &speaker_id) const;
};

/* The end of an utterance, estimated from the next one when the model gave none. */
GstClockTime utterance_end (const Transcript &t, size_t index);

/* The cue text without the "Name: " label the element puts in front. */
std::string strip_speaker_label (const Cue &cue);

}  // namespace transcribe
