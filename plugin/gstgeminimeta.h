/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-cue GstCustomMeta and the speaker tags the element emits. Both
 * are registered in plugin_init so applications can look them up by name. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* GstCustomMeta name; its structure holds: voice (string, request-local),
 * speaker-id (string, stream-wide "S1"...), name, company, position, role
 * (strings, "?" when unknown), segment (guint64 index), text (string). */
#define GST_GEMINI_TRANSCRIPT_META_NAME "GeminiTranscriptMeta"

#define GST_GEMINI_TAG_SPEAKER_ID "gemini-speaker-id"
#define GST_GEMINI_TAG_SPEAKER_NAME "gemini-speaker-name"
#define GST_GEMINI_TAG_SPEAKER_COMPANY "gemini-speaker-company"
#define GST_GEMINI_TAG_SPEAKER_POSITION "gemini-speaker-position"
#define GST_GEMINI_TAG_SPEAKER_ROLE "gemini-speaker-role"

void gst_gemini_meta_and_tags_register (void);

G_END_DECLS
