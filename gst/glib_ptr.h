/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RAII ownership for GLib, GObject, GStreamer and json-glib references.
 *
 * GPtr<T> is a std::unique_ptr whose deleter calls the right unref/free for T,
 * so engine classes can hold C references as members without hand-written
 * destructors. Use g_autoptr() for locals in C-shaped code; use GPtr for
 * members, containers and return values. */
#pragma once

#include <memory>
#include <utility>

#include <gio/gio.h>
#include <glib-object.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

namespace gemini {

template <typename T> struct GDeleter;

#define GEMINI_DEFINE_DELETER(Type, free_func)                                 \
  template <> struct GDeleter<Type> {                                          \
    void operator() (Type *p) const noexcept { free_func (p); }                \
  }

GEMINI_DEFINE_DELETER (gchar, g_free);
GEMINI_DEFINE_DELETER (GError, g_error_free);
GEMINI_DEFINE_DELETER (GBytes, g_bytes_unref);
GEMINI_DEFINE_DELETER (GByteArray, g_byte_array_unref);
GEMINI_DEFINE_DELETER (GMainContext, g_main_context_unref);
GEMINI_DEFINE_DELETER (GMainLoop, g_main_loop_unref);
GEMINI_DEFINE_DELETER (GSource, g_source_unref);
GEMINI_DEFINE_DELETER (GUri, g_uri_unref);
GEMINI_DEFINE_DELETER (GCancellable, g_object_unref);
GEMINI_DEFINE_DELETER (GInputStream, g_object_unref);
GEMINI_DEFINE_DELETER (SoupSession, g_object_unref);
GEMINI_DEFINE_DELETER (SoupMessage, g_object_unref);
GEMINI_DEFINE_DELETER (SoupServer, g_object_unref);
GEMINI_DEFINE_DELETER (SoupServerMessage, g_object_unref);
GEMINI_DEFINE_DELETER (JsonNode, json_node_unref);
GEMINI_DEFINE_DELETER (JsonObject, json_object_unref);
GEMINI_DEFINE_DELETER (JsonArray, json_array_unref);
GEMINI_DEFINE_DELETER (JsonBuilder, g_object_unref);
GEMINI_DEFINE_DELETER (JsonParser, g_object_unref);
GEMINI_DEFINE_DELETER (JsonGenerator, g_object_unref);
GEMINI_DEFINE_DELETER (GstBuffer, gst_buffer_unref);
GEMINI_DEFINE_DELETER (GstCaps, gst_caps_unref);
GEMINI_DEFINE_DELETER (GstSample, gst_sample_unref);
GEMINI_DEFINE_DELETER (GstElement, gst_object_unref);
GEMINI_DEFINE_DELETER (GstBus, gst_object_unref);
GEMINI_DEFINE_DELETER (GstClock, gst_object_unref);
GEMINI_DEFINE_DELETER (GstPad, gst_object_unref);
GEMINI_DEFINE_DELETER (GstMessage, gst_message_unref);
GEMINI_DEFINE_DELETER (GstEvent, gst_event_unref);
GEMINI_DEFINE_DELETER (GstQuery, gst_query_unref);
GEMINI_DEFINE_DELETER (GstStructure, gst_structure_free);
GEMINI_DEFINE_DELETER (GstTagList, gst_tag_list_unref);

#undef GEMINI_DEFINE_DELETER

template <typename T> using GPtr = std::unique_ptr<T, GDeleter<T>>;

/* Takes a new reference: for borrowed pointers that must outlive the call. */
template <typename T> inline GPtr<T>
ref_ptr (T *p)
{
  if constexpr (std::is_same_v<T, GBytes>)
    return GPtr<T> (p ? g_bytes_ref (p) : nullptr);
  else if constexpr (std::is_same_v<T, JsonNode>)
    return GPtr<T> (p ? json_node_ref (p) : nullptr);
  else if constexpr (std::is_same_v<T, GstBuffer>)
    return GPtr<T> (p ? gst_buffer_ref (p) : nullptr);
  else if constexpr (std::is_same_v<T, GstCaps>)
    return GPtr<T> (p ? gst_caps_ref (p) : nullptr);
  else
    return GPtr<T> (p ? static_cast<T *> (g_object_ref (p)) : nullptr);
}

}  // namespace gemini
