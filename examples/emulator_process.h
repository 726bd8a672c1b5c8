/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bundled gemini-emulator as a child process, for --emulator dry runs. */
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <gio/gio.h>

namespace transcribe {

class EmulatorProcess {
public:
  /* Starts it on a free port; nullptr and `error` when it cannot run. */
  static std::unique_ptr<EmulatorProcess> start (const std::string &script,
      const std::string &api_key, std::string &error);
  ~EmulatorProcess ();

  EmulatorProcess (const EmulatorProcess &) = delete;
  EmulatorProcess &operator= (const EmulatorProcess &) = delete;

  const std::string &url () const { return url_; }

private:
  struct Started {};

public:
  EmulatorProcess (Started, GSubprocess *process, std::string url)
    : process_ (process), url_ (std::move (url)) {}

private:
  GSubprocess *process_;
  std::string url_;
};

/* $GEMINI_EMULATOR, next to this program, in its build tree, or in PATH. */
std::optional<std::string> find_emulator ();

}  // namespace transcribe
