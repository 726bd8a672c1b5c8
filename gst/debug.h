/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Each engine component logs to its own debug category. The engine has no
 * plugin_init to create them in, so a category is created the first time
 * its component is used: call ensure_debug_category () at its entry points. */
#pragma once

#include <mutex>

#include <gst/gst.h>

#define GEMINI_DEBUG_CATEGORY(var, name, description)                         \
  GST_DEBUG_CATEGORY_STATIC (var);                                             \
  namespace {                                                                  \
  void                                                                         \
  ensure_debug_category ()                                                     \
  {                                                                            \
    static std::once_flag once;                                                \
    std::call_once (once, [] {                                                 \
      GST_DEBUG_CATEGORY_INIT (var, name, 0, description);                     \
    });                                                                        \
  }                                                                            \
  }
