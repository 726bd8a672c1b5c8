/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pass 1: the input decoded into geminitranscriber, its cues and bus
 * messages gathered into a Transcript. */
#pragma once

#include <optional>
#include <string>

#include "progress.h"
#include "run_transcript.h"

namespace transcribe {

/* Documented in docs/transcribe.md; scripts depend on them. */
enum ExitCode {
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_NO_KEY = 2,
  EXIT_INPUT = 3,
  EXIT_OUTPUT = 4,
  EXIT_REFUSED = 5,
  EXIT_OTHER = 6,
  EXIT_INTERRUPTED = 130,             /* 128 + SIGINT, as shells report it */
};

struct Failure {
  ExitCode code = EXIT_OTHER;
  std::string message;                /* one line, for a person */
};

/* Element properties; empty or zero = the element's default. */
struct ElementSettings {
  std::string model;
  std::string context;
  std::string language;
  std::string media_resolution;
  std::string timing;                 /* audio or model */
  bool evidence = false;
  guint segment_duration_ms = 0;
  std::string mode;                   /* auto, whole or streaming */
  guint window_s = 0;
  double fps = 0;
  guint concurrency = 0;
  guint request_timeout_ms = 0;
  gint max_retries = -1;              /* -1: the element's default */
  std::string api_endpoint;           /* set for --emulator only */
  std::string api_key;                /* set for --emulator only: a dummy key */
};

bool have_element (const char *factory);

std::optional<Failure> transcribe_input (const std::string &uri,
    const ElementSettings &settings, Progress &progress, Transcript &out);

}  // namespace transcribe
