/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_GEMINI_TRANSCRIBER (gst_gemini_transcriber_get_type ())
G_DECLARE_FINAL_TYPE (GstGeminiTranscriber, gst_gemini_transcriber, GST,
    GEMINI_TRANSCRIBER, GstElement)

typedef enum
{
  GST_GEMINI_MEDIA_RESOLUTION_AUTO,
  GST_GEMINI_MEDIA_RESOLUTION_LOW,
  GST_GEMINI_MEDIA_RESOLUTION_MEDIUM,
  GST_GEMINI_MEDIA_RESOLUTION_HIGH,
} GstGeminiMediaResolution;

#define GST_TYPE_GEMINI_MEDIA_RESOLUTION (gst_gemini_media_resolution_get_type ())
GType gst_gemini_media_resolution_get_type (void);

typedef enum
{
  GST_GEMINI_TRANSCRIBER_MODE_AUTO,
  GST_GEMINI_TRANSCRIBER_MODE_STREAMING,
  GST_GEMINI_TRANSCRIBER_MODE_WHOLE,
} GstGeminiTranscriberMode;

#define GST_TYPE_GEMINI_TRANSCRIBER_MODE (gst_gemini_transcriber_mode_get_type ())
GType gst_gemini_transcriber_mode_get_type (void);

typedef enum
{
  GST_GEMINI_TIMING_AUDIO,
  GST_GEMINI_TIMING_MODEL,
} GstGeminiTiming;

#define GST_TYPE_GEMINI_TIMING (gst_gemini_timing_get_type ())
GType gst_gemini_timing_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (geminitranscriber);

G_END_DECLS
