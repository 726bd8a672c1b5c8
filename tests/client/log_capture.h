/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Collects every GStreamer debug line (all categories, level MEMDUMP) so a
 * test can assert that a secret never reached the log. */
#pragma once

#include <mutex>
#include <string>

#include <gst/gst.h>

namespace gemini::test {

class LogCapture {
public:
  LogCapture ()
  {
    gst_debug_set_active (TRUE);
    gst_debug_set_default_threshold (GST_LEVEL_MEMDUMP);
    gst_debug_add_log_function (on_log, this, nullptr);
  }

  ~LogCapture ()
  {
    gst_debug_remove_log_function_by_data (this);
    gst_debug_set_default_threshold (GST_LEVEL_NONE);
  }

  LogCapture (const LogCapture &) = delete;
  LogCapture &operator= (const LogCapture &) = delete;

  std::string text () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return text_;
  }

  bool contains (const std::string &needle) const
  {
    return text ().find (needle) != std::string::npos;
  }

private:
  static void on_log (GstDebugCategory *category, GstDebugLevel, const gchar *file,
      const gchar *function, gint, GObject *, GstDebugMessage *message, gpointer user_data)
  {
    auto self = static_cast<LogCapture *> (user_data);
    const gchar *msg = gst_debug_message_get (message);
    std::lock_guard<std::mutex> lock (self->lock_);
    self->text_ += gst_debug_category_get_name (category);
    self->text_ += ' ';
    self->text_ += file;
    self->text_ += ':';
    self->text_ += function;
    self->text_ += ' ';
    self->text_ += msg ? msg : "";
    self->text_ += '\n';
  }

  mutable std::mutex lock_;
  std::string text_;
};

}  // namespace gemini::test
