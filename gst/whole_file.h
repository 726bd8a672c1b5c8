/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file transcription: the study's single-request method, scaled.
 *
 * The whole input, uploaded once, is transcribed in one request when the
 * model's input and output limits allow it. Longer files are cut into
 * windows of the same file (videoMetadata offsets), after a first request
 * that reads the speakers table from the whole video, so a name shown at
 * 00:10 still names the voice at 41:00; with several windows the video is
 * put in a context cache once and every window is asked against it. The
 * windows' rows are stitched by start time: each row belongs to the one
 * window its start falls in. Blocking; knows nothing of pads. */
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "clip_transcription.h"

namespace gemini {

/* Documented token rates (reference: Gemini API media docs). */
struct TokenRates {
  double video_per_frame = 70.0;
  double audio_per_second = 32.0;
};

TokenRates token_rates (std::string_view model, MediaResolution resolution);

/* Speech is about 150 words a minute; a row of the transcripts table costs
 * its words plus about 20 tokens of JSON and timecodes every few seconds.
 * Dense dialogue reaches about 6 tokens per second; 8 leaves room. */
inline constexpr double OUTPUT_TOKENS_PER_SECOND = 8.0;

struct ModelLimits {
  guint64 input_tokens = 1048576;
  guint64 output_tokens = 65536;
};

/* `model`'s limits as models.get gives them (inputTokenLimit,
 * outputTokenLimit); the defaults above, those of the 2.5 and 3.x Flash
 * models, when it does not answer or gives none. Blocking. */
ModelLimits model_limits (Client &client, std::string_view model, GCancellable *cancellable);

/* What one request over `duration` of media is expected to cost. */
guint64 estimate_input_tokens (GstClockTime duration, double fps, bool has_video,
    const TokenRates &rates);
guint64 estimate_output_tokens (GstClockTime duration);

/* The longest media one request can take: input within 90% of the limit,
 * the expected output within half of it (a dense stretch can double it). */
GstClockTime max_request_duration (double fps, bool has_video, const TokenRates &rates,
    const ModelLimits &limits);

struct Window {
  GstClockTime start = 0;
  GstClockTime end = 0;
};

/* Windows that cover [0, duration) without gap or overlap: one when the
 * file fits `max_request`, else equal ones no longer than `window` (or
 * `max_request` when window is 0), each edge moved to the nearest quiet
 * point within an eighth of a window, then to a whole second. */
std::vector<Window> plan_windows (GstClockTime duration, GstClockTime window,
    GstClockTime max_request, const std::vector<GstClockTime> &quiet_points);

/* Midpoints of quiet stretches (>= 200 ms below -40 dBFS), at most one a
 * second, gathered while the input plays: where windows may be cut
 * without splitting a word. */
class QuietPoints {
public:
  void observe (GstClockTime pts, GstClockTime duration, double rms_db);
  const std::vector<GstClockTime> &points () const { return points_; }

private:
  std::vector<GstClockTime> points_;
  GstClockTime quiet_since_ = GST_CLOCK_TIME_NONE;
  GstClockTime quiet_end_ = 0;
};

/* Rows with times relative to the file; voices renamed per window ("w2:1")
 * since each answer numbers its voices on its own. */
SegmentTranscript stitch_windows (const std::vector<Window> &windows,
    std::vector<SegmentTranscript> parts);

struct WholeFileJob {
  std::string model;
  MediaInput media;                  /* the uploaded file, no offsets */
  GstClockTime duration = 0;
  bool has_video = true;
  PromptOptions prompt;              /* context, language */
  GenerationSettings generation;
  GstClockTime window = 0;           /* 0: as long as the limits allow */
  ModelLimits limits;
  guint parallel = 4;
  bool use_cache = true;
  GstClockTime request_timeout = 120 * GST_SECOND;
  std::vector<GstClockTime> quiet_points;
};

struct WholeFileResult {
  ClipResult clip;                   /* stitched, times relative to the file; every
                                      * request counted in clip.requests */
  std::vector<Window> windows;
  bool speakers_request = false;
  std::string cache;                 /* the cachedContents entry used, if any */
  std::string cache_error;           /* why none could be made */
};

/* The windows of `job`. Planned with the tokens a frame costs in a cache
 * when one may be used: a cached content has no media resolution of its
 * own and holds the default one (258 tokens a frame on Gemini 2.x, not the
 * 66 of LOW). */
std::vector<Window> plan_whole_file (const WholeFileJob &job);

WholeFileResult transcribe_whole_file (Client &client, const WholeFileJob &job,
    GCancellable *cancellable);

}  // namespace gemini
