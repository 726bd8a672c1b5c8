/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The phases of a --batch run: encode (the engine's SegmentEncoder, one
 * input per worker, as many workers as cores), upload (Files API), submit
 * (one job), wait (poll), write (the single-file mode's writers). After
 * every step the state file is rewritten atomically, so a run killed
 * anywhere continues where it stopped when the same command runs again. */
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "batch.h"
#include "batch_run.h"
#include "batch_state.h"
#include "glib_ptr.h"
#include "progress.h"
#include "run_transcript.h"

namespace transcribe {

struct Run {
  Run (const BatchSettings &s, Progress &p) : settings (s), progress (p), outputs (s.outputs) {}

  const BatchSettings &settings;
  Progress &progress;
  State state;
  std::vector<std::string> outputs;   /* templates */
  std::unique_ptr<gemini::Client> client;
  gemini::GPtr<GCancellable> cancellable{g_cancellable_new ()};
  /* Set from the signal thread: each phase stops at its next step. */
  std::atomic<bool> interrupted{false};
  gint64 start_us = g_get_monotonic_time ();

  void say (const std::string &line) { progress.message (line); }
  std::string elapsed () const;
  void save ();
  bool stopped () const { return interrupted.load (); }
  gemini::BatchTranscriptionSettings transcription () const;

  void encode_all ();
  bool upload_all ();
  bool submit ();
  bool wait_all ();
  void write_all ();
  void cleanup ();
  int report ();

private:
  bool find_interrupted_jobs ();
  bool look_up_job (JobState &job);
  void mark_submitted (const JobState &job);
  std::vector<gemini::BatchRequest> window_requests (const std::vector<InputState *> &todo);
  bool save_results (const JobState &job, const gemini::BatchJob &finished);
  void settle_inputs (const JobState &job, const std::string &job_error);
  std::string write_outputs (InputState &in, const Transcript &t);
};

}  // namespace transcribe
