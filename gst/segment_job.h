/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One segment, from its encoder to its transcript: the encoded media goes
 * inline or through the Files API, one clip request (streaming) or the
 * whole-file job (windows, a cache) reads it, and the upload is deleted.
 * Blocking, for a worker thread; knows nothing of pads. */
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clip_transcription.h"
#include "client.h"
#include "prompt.h"
#include "segment_encoder.h"

namespace gemini {

struct SegmentJob {
  guint64 seq = 0;
  GstClockTime start = 0;            /* of the segment, in the stream: the prompt's clock */
  GstClockTime duration = 0;
  /* Whole: the encoder has been writing into the upload all along, so it
   * is declared after it and destroyed first. Both are released as soon as
   * the job is done with them. */
  std::unique_ptr<UploadStream> upload;
  std::unique_ptr<SegmentEncoder> encoder;
  std::vector<GstClockTime> quiet_points;   /* whole: where windows may be cut */
  std::vector<KnownSpeaker> known;   /* streaming: named in earlier segments */
  RowsCallback on_rows;              /* streaming: rows as the answer streams */

  std::string model;
  double fps = 1.0;
  std::string context;
  std::string language;
  bool evidence = false;               /* PromptOptions::evidence */
  std::optional<double> temperature;   /* nullopt: the model family's */
  gint seed = 42;
  std::optional<MediaResolution> media_resolution;   /* nullopt: by duration */
  gsize max_inline_bytes = 0;
  GstClockTime window = 0;           /* whole: 0 = as long as the model allows */
  guint parallel = 1;                /* whole: windows at a time */
  GstClockTime request_timeout = 0;
};

struct SegmentJobResult {
  ClipResult clip;
  gsize media_bytes = 0;
  bool uploaded = false;
  /* How the Files API got the bytes: "" (inline), "sized" (one known size),
   * "while-encoding" (a session of unknown size), "after-encoding" (the
   * service refused that, so the size was given at the end). */
  const char *upload_path = "";
  bool whole = false;
  guint windows = 0;
  GstClockTime request_time = 0;     /* wall time from the encoder's tail to the answer */
  std::string cache_error;           /* whole: why no cached content could be made */
};

/* The settings a request is generated with, for a clip of `duration`. */
GenerationSettings generation_settings (const SegmentJob &job);

SegmentJobResult run_segment_job (Client &client, SegmentJob &job, GCancellable *cancellable);

}  // namespace gemini
