/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "interrupt.h"

#include <csignal>

#include <glib-unix.h>

namespace transcribe {

namespace {

constexpr int SIGNALS[] = {SIGINT, SIGTERM};

}  // namespace

InterruptWatch::InterruptWatch (std::function<void ()> stop) : stop_ (std::move (stop))
{
  for (guint i = 0; i < G_N_ELEMENTS (SIGNALS); i++)
    sources_[i] = g_unix_signal_add (SIGNALS[i], on_signal, this);
}

InterruptWatch::~InterruptWatch ()
{
  remove ();
}

void
InterruptWatch::remove ()
{
  for (guint &id : sources_) {
    if (id != 0)
      g_source_remove (id);
    id = 0;
  }
}

gboolean
InterruptWatch::on_signal (gpointer data)
{
  auto *self = static_cast<InterruptWatch *> (data);
  /* The sources are gone once this returns: a second signal takes the
   * default action. */
  for (guint i = 0; i < G_N_ELEMENTS (SIGNALS); i++) {
    if (self->sources_[i] != 0 && self->sources_[i] != g_source_get_id (g_main_current_source ()))
      g_source_remove (self->sources_[i]);
    self->sources_[i] = 0;
    signal (SIGNALS[i], SIG_DFL);
  }
  self->stop_ ();
  return G_SOURCE_REMOVE;
}

}  // namespace transcribe
