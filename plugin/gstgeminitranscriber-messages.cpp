/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the element tells the application: stream tags, the gemini-segment
 * and gemini-speakers element messages, and errors whose details carry
 * their kind (docs/element.md lists every field). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgeminitranscriber-private.h"

#include <gst/tag/tag.h>

#include "gstgeminimeta.h"

/* The fields of an error message's details (gst_message_parse_error_details),
 * named as in gemini-segment: applications choose what to do from them,
 * never from the text. `kind` is Error::kind_id(), or "no-credentials". */
#define GEMINI_ERROR_DETAILS(kind, e) ("kind", G_TYPE_STRING, (kind), \
    "http-status", G_TYPE_UINT, (e).http_status, \
    "api-status", G_TYPE_STRING, (e).status.c_str (), \
    "reason", G_TYPE_STRING, (e).reason.c_str (), NULL)

namespace transcriber {

const char *
status_name (Status s)
{
  switch (s) {
    case Status::Ok: return "ok";
    case Status::Silent: return "silent";
    case Status::Failed: return "failed";
    case Status::Blocked: return "blocked";
    case Status::Late: return "late";
  }
  return "failed";
}

/* The ISO-639 code matroskamux and friends understand, from a BCP-47 tag. */
static std::string
iso639_from_language (const std::string & language)
{
  std::string primary = language.substr (0, language.find_first_of ("-_"));
  for (auto & c : primary)
    c = g_ascii_tolower (c);
  if (primary.size () < 2 || primary.size () > 3)
    return {};
  if (primary.size () == 2 ? gst_tag_get_language_code_iso_639_2T (primary.c_str ())
      : gst_tag_get_language_code_iso_639_1 (primary.c_str ()))
    return primary;
  return {};
}

GstTagList *
make_tag_list (const std::string & language, const gemini::RegisteredSpeaker *
    speaker)
{
  GstTagList *tags = gst_tag_list_new (GST_TAG_TITLE, "Transcript", NULL);
  std::string iso = iso639_from_language (language);
  if (!iso.empty ())
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_LANGUAGE_CODE,
        iso.c_str (), NULL);
  if (speaker) {
    const gemini::Speaker & i = speaker->info;
    const std::string label = i.identified ()? i.name : speaker->id;
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE,
        GST_TAG_PERFORMER, label.c_str (),
        GST_GEMINI_TAG_SPEAKER_ID, speaker->id.c_str (),
        GST_GEMINI_TAG_SPEAKER_NAME, gemini::or_unknown (i.name).c_str (),
        GST_GEMINI_TAG_SPEAKER_COMPANY, gemini::or_unknown (i.company).c_str (),
        GST_GEMINI_TAG_SPEAKER_POSITION, gemini::or_unknown (i.position).c_str (),
        GST_GEMINI_TAG_SPEAKER_ROLE, gemini::or_unknown (i.role_in_video).c_str (),
        NULL);
  }
  return tags;
}

void
post_fatal_error (GstGeminiTranscriber * self, const gemini::Error & e,
    const std::string & model)
{
  if (e.redirect) {
    /* Not a refusal: the endpoint (or what answers in its name) is not the
     * Gemini API a person configured. */
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_READ_WRITE,
        ("%s", e.message.c_str ()), ("%s", e.describe ().c_str ()),
        GEMINI_ERROR_DETAILS (e.kind_id (), e));
    return;
  }
  std::string hint;
  if (e.http_status == 401 || e.http_status == 403
      || e.status == "PERMISSION_DENIED" || e.status == "UNAUTHENTICATED"
      || e.message.find ("API key") != std::string::npos)
    hint = "Gemini refused the credentials: check the api-key property or the "
        "GEMINI_API_KEY / GOOGLE_API_KEY environment variable.";
  else if (e.http_status == 404)
    hint = "Gemini does not know the model \"" + model + "\": set the model "
        "property to an available model such as " + gemini::defaults::MODEL + ".";
  else
    hint = "Gemini rejected the request.";
  GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED, ("%s", hint.c_str ()),
      ("%s", e.describe ().c_str ()), GEMINI_ERROR_DETAILS (e.kind_id (), e));
}

void
post_missing_credentials (GstGeminiTranscriber * self, bool vertex)
{
  const gemini::Error none;
  if (vertex)
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
        ("No Vertex AI credentials: set the project and access-token "
            "properties (an OAuth2 token, e.g. from `gcloud auth "
            "print-access-token`)."), (NULL),
        GEMINI_ERROR_DETAILS ("no-credentials", none));
  else
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
        ("No Gemini API key: set the api-key property or the GEMINI_API_KEY "
            "environment variable (get a key at https://aistudio.google.com/apikey)."),
        (NULL), GEMINI_ERROR_DETAILS ("no-credentials", none));
}

void
post_segment_message (GstGeminiTranscriber * self, const Outcome & o,
    OutputState & out, const std::string & transcript, guint n_cues)
{
  const gemini::SegmentJobResult & job = o.job;
  const gemini::ClipResult & clip = job.clip;
  std::vector<std::string> lines = clip.transcript.repairs;
  if (out.past_end_cut + out.past_end_dropped > 0) {
    GPtr<gchar> line (g_strdup_printf ("%u cues past the end of the stream (%"
        GST_TIME_FORMAT "): %u cut to end there, %u dropped",
        out.past_end_cut + out.past_end_dropped,
        GST_TIME_ARGS (out.segment.stop), out.past_end_cut, out.past_end_dropped));
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("The model placed speech after the end of the stream."), ("%s", line.get ()));
    lines.emplace_back (line.get ());
    out.past_end_cut = out.past_end_dropped = 0;
  }
  GValue repairs = G_VALUE_INIT;
  gst_value_array_init (&repairs, lines.size ());
  for (const auto & r : lines) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, r.c_str ());
    gst_value_array_append_and_take_value (&repairs, &v);
  }

  GstStructure *s = gst_structure_new ("gemini-segment",
      "segment", G_TYPE_UINT64, o.seq,
      "status", G_TYPE_STRING, status_name (o.status),
      "running-time", G_TYPE_UINT64, o.start,
      "duration", G_TYPE_UINT64, o.end - o.start,
      "stream-time", G_TYPE_UINT64, gst_segment_to_stream_time (&out.segment,
          GST_FORMAT_TIME, to_position (out, o.start)),
      "error", G_TYPE_STRING, clip.error.c_str (),
      "error-kind", G_TYPE_STRING, clip.failure ? clip.failure->kind_id () : "",
      "http-status", G_TYPE_UINT, clip.failure ? clip.failure->http_status : 0u,
      "api-status", G_TYPE_STRING, clip.failure ? clip.failure->status.c_str () : "",
      "error-reason", G_TYPE_STRING, clip.failure ? clip.failure->reason.c_str () : "",
      "transcript", G_TYPE_STRING, transcript.c_str (),
      "raw-response", G_TYPE_STRING, clip.raw_text.c_str (),
      "utterances", G_TYPE_UINT, (guint) clip.transcript.utterances.size (),
      "cues", G_TYPE_UINT, n_cues,
      "late-cues", G_TYPE_UINT, out.late_cues,
      "truncated", G_TYPE_BOOLEAN, clip.transcript.truncated,
      "language", G_TYPE_STRING, clip.transcript.language.c_str (),
      "prompt-tokens", G_TYPE_INT64, clip.usage.prompt_tokens,
      "candidates-tokens", G_TYPE_INT64, clip.usage.candidates_tokens,
      "cached-tokens", G_TYPE_INT64, clip.usage.cached_tokens,
      "total-tokens", G_TYPE_INT64, clip.usage.total_tokens,
      "request-time", G_TYPE_UINT64, job.request_time,
      "media-bytes", G_TYPE_UINT64, (guint64) job.media_bytes,
      "uploaded", G_TYPE_BOOLEAN, job.uploaded,
      "upload-path", G_TYPE_STRING, job.uploaded ? job.upload_path : "",
      "model-version", G_TYPE_STRING, clip.model_version.c_str (),
      "mode", G_TYPE_STRING, job.whole ? "whole" : "streaming",
      "requests", G_TYPE_UINT, clip.requests,
      "windows", G_TYPE_UINT, job.windows, NULL);
  gst_structure_take_value (s, "repairs", &repairs);
  out.late_cues = 0;
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Where each field was found, as `evidence` structures; the time is the
 * input's running time, NONE when the model gave none. */
static void
set_evidence (GstStructure * entry, const std::vector<gemini::Evidence> & evidence)
{
  GValue list = G_VALUE_INIT;
  gst_value_array_init (&list, evidence.size ());
  for (const auto & e : evidence) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("evidence",
            "field", G_TYPE_STRING, e.field.c_str (),
            "time", G_TYPE_UINT64, (guint64) e.time,
            "source", G_TYPE_STRING, e.source.c_str (),
            "text", G_TYPE_STRING, e.text.c_str (), NULL));
    gst_value_array_append_and_take_value (&list, &v);
  }
  gst_structure_take_value (entry, "evidence", &list);
}

void
post_speakers_message (GstGeminiTranscriber * self,
    const gemini::SpeakerRegistry & registry)
{
  GValue list = G_VALUE_INIT;
  gst_value_array_init (&list, registry.speakers ().size ());
  for (const auto & sp : registry.speakers ()) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    GstStructure *entry = gst_structure_new ("speaker",
        "id", G_TYPE_STRING, sp.id.c_str (),
        "name", G_TYPE_STRING, sp.info.name.c_str (),
        "company", G_TYPE_STRING, sp.info.company.c_str (),
        "position", G_TYPE_STRING, sp.info.position.c_str (),
        "role", G_TYPE_STRING, sp.info.role_in_video.c_str (),
        "identified", G_TYPE_BOOLEAN, sp.info.identified (),
        "segments", G_TYPE_UINT, sp.segments, NULL);
    set_evidence (entry, sp.info.evidence);
    g_value_take_boxed (&v, entry);
    gst_value_array_append_and_take_value (&list, &v);
  }
  GstStructure *s = gst_structure_new_empty ("gemini-speakers");
  gst_structure_take_value (s, "speakers", &list);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

}  // namespace transcriber
