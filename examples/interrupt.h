/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ctrl-C while a pass of the program runs. */
#pragma once

#include <functional>

#include <glib.h>

namespace transcribe {

/* While it lives, the first SIGINT or SIGTERM calls `stop` from the main
 * loop of the default context, so that the pass can stop its pipeline
 * (which cancels the requests and deletes the uploaded input) and remove a
 * partial output; a second one kills the program at once, as a shell user
 * expects. */
class InterruptWatch {
public:
  explicit InterruptWatch (std::function<void ()> stop);
  ~InterruptWatch ();
  InterruptWatch (const InterruptWatch &) = delete;
  InterruptWatch &operator= (const InterruptWatch &) = delete;

private:
  static gboolean on_signal (gpointer self);
  void remove ();

  std::function<void ()> stop_;
  guint sources_[2] = {0, 0};
};

}  // namespace transcribe
