/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public API (emulator.h); the server itself is emulator_private.h. */
#include "emulator.h"

#include <gst/gst.h>

#include "emulator_private.h"
#include "json_helpers.h"

namespace gemini::test {

Emulator::Emulator (std::string_view script_json)
    : Emulator (script_json, 0)
{
}

Emulator::Emulator (std::string_view script_json, guint port)
    : impl_ (std::make_unique<Impl> ())
{
  if (!gst_is_initialized ())
    gst_init (nullptr, nullptr);
  std::string error;
  if (!impl_->set_script (script_json, &error)) {
    g_warning ("gemini-emulator: bad script (%s), using the defaults",
        error.c_str ());
    impl_->set_script ("{}", &error);
  }
  std::promise<bool> ready;
  auto started = ready.get_future ();
  impl_->thread = std::thread ([this, port, &ready] {
        impl_->run (port, ready);
      });
  started.wait ();
}

Emulator::~Emulator ()
{
  /* a plain g_main_loop_quit () is lost if the loop has not started yet */
  g_main_context_invoke (impl_->ctx.get (), [] (gpointer loop) -> gboolean {
        g_main_loop_quit (static_cast<GMainLoop *> (loop));
        return G_SOURCE_REMOVE;
      }, impl_->loop.get ());
  impl_->thread.join ();
}

std::string
Emulator::url () const
{
  return impl_->base_url;
}

guint
Emulator::port () const
{
  return impl_->port;
}

void
Emulator::set_script (std::string_view script_json)
{
  std::string error;
  if (!impl_->set_script (script_json, &error))
    g_warning ("gemini-emulator: bad script (%s), keeping the old one",
        error.c_str ());
}

bool
Emulator::try_set_script (std::string_view script_json, std::string *error)
{
  std::string local;
  return impl_->set_script (script_json, error ? error : &local);
}

gemini::GPtr<JsonNode>
Emulator::log () const
{
  return emu::parse_json (impl_->log_json (), nullptr);
}

void
Emulator::clear_log ()
{
  std::lock_guard<std::mutex> lk (impl_->lock);
  impl_->log.clear ();
}

void
Emulator::reset ()
{
  impl_->reset ();
}

std::vector<JsonObject *>
log_entries (JsonNode *log, const char *kind)
{
  std::vector<JsonObject *> out;
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (log), "requests");
  for (guint i = 0; i < json_array_get_length (reqs); i++) {
    JsonObject *e = json_array_get_object_element (reqs, i);
    if (!kind || g_str_equal (json_object_get_string_member (e, "kind"), kind))
      out.push_back (e);
  }
  return out;
}

}  // namespace gemini::test
