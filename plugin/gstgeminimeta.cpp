/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstgeminimeta.h"

static void
register_speaker_tag (const gchar * name, const gchar * nick, const gchar * blurb)
{
  /* Merging with commas keeps every value when several tag lists are merged
   * (for example by a muxer collecting stream tags). */
  gst_tag_register_static (name, GST_TAG_FLAG_META, G_TYPE_STRING, nick, blurb,
      gst_tag_merge_strings_with_comma);
}

void
gst_gemini_meta_and_tags_register (void)
{
  static const gchar *meta_tags[] = { NULL };

  gst_meta_register_custom (GST_GEMINI_TRANSCRIPT_META_NAME, meta_tags,
      NULL, NULL, NULL);

  register_speaker_tag (GST_GEMINI_TAG_SPEAKER_ID, "gemini speaker id",
      "Stream-wide id of the current speaker (S1, S2...)");
  register_speaker_tag (GST_GEMINI_TAG_SPEAKER_NAME, "gemini speaker name",
      "Name of the current speaker, ? when unknown");
  register_speaker_tag (GST_GEMINI_TAG_SPEAKER_COMPANY, "gemini speaker company",
      "Company or organisation of the current speaker, ? when unknown");
  register_speaker_tag (GST_GEMINI_TAG_SPEAKER_POSITION,
      "gemini speaker position",
      "Job title or position of the current speaker, ? when unknown");
  register_speaker_tag (GST_GEMINI_TAG_SPEAKER_ROLE, "gemini speaker role",
      "Role of the current speaker in the video (host, guest...), ? when unknown");
}
