/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe --batch: many inputs in one Gemini batch job, resumable
 * through a state file beside the outputs. See docs/batch.md. */
#pragma once

#include <string>
#include <vector>

#include <gst/gst.h>

#include "progress.h"
#include "transcription.h"

namespace transcribe {

struct BatchSettings {
  std::vector<std::string> inputs;    /* files and directories, as given */
  std::string list_file;              /* --list: one input per line */
  std::vector<std::string> outputs;   /* templates: {dir} {stem} {name} {ext} */
  std::string state_file;             /* empty: beside the first output */
  bool burn = false;
  std::string model;
  std::string context;
  std::string language;
  std::string media_resolution;       /* "", auto, low, medium, high */
  double fps = 0;
  bool audio_timing = true;           /* --timing audio: cues on the speech */
  bool evidence = false;              /* --evidence */
  guint window_ms = 0;                /* 0: as long as the model's limits allow */
  gint64 inline_limit = -1;           /* -1: gemini::DEFAULT_BATCH_INLINE_LIMIT */
  guint poll_ms = 0;                  /* 0: the engine's default first interval */
  guint encoders = 0;                 /* 0: one per core */
  bool cancel = false;
  bool keep = false;
  bool retry_failed = false;
  guint request_timeout_ms = 0;       /* 0: the client's default */
  gint max_retries = -1;              /* -1: the client's default */
  std::string api_endpoint;           /* --emulator only */
  std::string api_key;                /* --emulator only */
};

/* Runs (or continues) the batch; returns the exit status (transcription.h). */
int run_batch (const BatchSettings &settings, Progress &progress);

}  // namespace transcribe
