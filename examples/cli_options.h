/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe's command line, parsed and checked before any work:
 * a usage error costs no tokens. */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "batch_run.h"
#include "outputs.h"
#include "transcription.h"

namespace transcribe {

struct Output {
  std::string path;
  Format format;
};

/* One INPUT through the element. */
struct SingleSettings {
  std::string input;
  std::vector<Output> outputs;
  bool burn = false;
  ElementSettings element;            /* api_endpoint and api_key left to the run */
};

struct CommandLine {
  bool version = false;               /* --version: nothing else was checked */
  bool quiet = false;
  bool emulator = false;              /* --emulator, or implied by --emulator-script */
  std::optional<std::string> emulator_script;
  bool batch = false;
  BatchSettings batch_settings;       /* with --batch; api_endpoint and api_key left to the run */
  SingleSettings single;              /* without */
};

/* Prints `message` as the program's error; returns `code`. */
int fail (ExitCode code, const std::string &message);

/* The command line, checked; nullopt once a usage error is printed (the
 * exit status is then EXIT_USAGE). Initialises GStreamer. */
std::optional<CommandLine> parse_command_line (int argc, char **argv);

}  // namespace transcribe
