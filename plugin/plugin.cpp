/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstgeminimeta.h"
#include "gstgeminitranscriber.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gst_gemini_meta_and_tags_register ();
  return GST_ELEMENT_REGISTER (geminitranscriber, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, gemini,
    "Multimodal transcription with Google Gemini: timed subtitles with named speakers",
    plugin_init, PACKAGE_VERSION, GST_LICENSE, GST_PACKAGE_NAME,
    GST_PACKAGE_ORIGIN)
