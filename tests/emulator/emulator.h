/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A protocol-faithful fake of the Gemini Developer API (and the Vertex
 * generateContent path) for tests: a SoupServer on 127.0.0.1 running in its
 * own thread and GMainContext, answering from a JSON script and recording
 * every request. See docs/emulator.md for the script and log formats. */
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <json-glib/json-glib.h>

#include "glib_ptr.h"

namespace gemini::test {

class Emulator {
public:
  /* Listens on 127.0.0.1 on a free port (or on @port when non-zero) once
   * the constructor returns. An unparsable script is reported with
   * g_warning and replaced by the defaults. */
  explicit Emulator (std::string_view script_json = "{}");
  Emulator (std::string_view script_json, guint port);
  ~Emulator ();

  Emulator (const Emulator &) = delete;
  Emulator &operator= (const Emulator &) = delete;

  /* "http://127.0.0.1:PORT" */
  std::string url () const;
  guint port () const;

  /* Replaces the script and restarts its counters (fault matches, scripted
   * responses), keeps the log and the uploaded files. */
  void set_script (std::string_view script_json);
  /* Same, but reports a bad script instead of warning; the old script stays. */
  bool try_set_script (std::string_view script_json, std::string *error);

  /* {"requests": [...]}: a deep copy, safe to keep. */
  gemini::GPtr<JsonNode> log () const;
  void clear_log ();

  /* Clears the log, the files, upload sessions and every counter. */
  void reset ();

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

/* The entries of a log() of this `kind` (all of them for null), in order;
 * they belong to `log`. */
std::vector<JsonObject *> log_entries (JsonNode *log, const char *kind);

}  // namespace gemini::test
