/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The real Gemini Developer API, once for each point the service documents
 * that the emulator can only imitate (docs/client.md, "Checked against the
 * real service"): Opus in Ogg inline and uploaded, audio windows asked for
 * in words, a Gemini 3 request without temperature, a context cache, a
 * batch with its display name, the model's limits from models.get.
 *
 * Skipped (exit 77) without GEMINI_API_KEY or GOOGLE_API_KEY. A run sends
 * about 5 minutes of generated audio and costs well under a cent at the
 * prices of docs/batch.md; the batch is cancelled and deleted before it
 * runs. GEMINI_REAL_MODEL picks the model (default gemini-3.8-flash). */
#include <gst/gst.h>
#include <gst/app/gstappsink.h>

#include "batch.h"
#include "client.h"
#include "model_family.h"
#include "prompt.h"
#include "segment_encoder.h"
#include "transcript_parser.h"
#include "whole_file.h"

using namespace gemini;

namespace {

std::string
model ()
{
  const char *m = g_getenv ("GEMINI_REAL_MODEL");
  return m && *m ? m : "gemini-3.8-flash";
}

Client &
client ()
{
  static Client c ([] {
    ClientConfig config;
    config.request_timeout = 120 * GST_SECOND;
    config.retry.max_attempts = 3;
    config.resolve_from_environment ();
    return config;
  } ());
  return c;
}

/* `seconds` of a tone with pauses, through the element's encoder: the
 * audio-only file the element sends. */
EncodedSegment
encoded_audio (guint seconds)
{
  const std::string desc = "audiotestsrc wave=sine freq=440 samplesperbuffer=1600 num-buffers="
      + std::to_string (seconds * 10)
      + " ! audio/x-raw,format=S16LE,channels=1,rate=16000 ! appsink name=out sync=false";
  GError *err = nullptr;
  GPtr<GstElement> pipeline (gst_parse_launch (desc.c_str (), &err));
  g_assert_no_error (err);
  GPtr<GstElement> sink (gst_bin_get_by_name (GST_BIN (pipeline.get ()), "out"));
  gst_element_set_state (pipeline.get (), GST_STATE_PLAYING);
  GPtr<GstSample> first (gst_app_sink_pull_sample (GST_APP_SINK (sink.get ())));
  g_assert_nonnull (first);
  auto created = SegmentEncoder::create (EncoderSettings {}, gst_sample_get_caps (first.get ()),
      nullptr);
  g_assert_true (created.ok ());
  auto enc = std::move (created).value ();
  g_assert_true (enc->push_audio (gst_sample_get_buffer (first.get ())));
  while (GPtr<GstSample> s { gst_app_sink_pull_sample (GST_APP_SINK (sink.get ())) })
    g_assert_true (enc->push_audio (gst_sample_get_buffer (s.get ())));
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  auto finished = enc->finish (seconds * GST_SECOND);
  if (!finished)
    g_error ("%s", finished.error ().describe ().c_str ());
  g_assert_cmpstr (finished->mime_type.c_str (), ==, "audio/ogg");
  return std::move (finished).value ();
}

GenerationSettings
generation ()
{
  GenerationSettings g;
  const Sampling s = sampling_for (model (), std::nullopt);
  g.temperature = s.temperature;
  g.top_p = s.top_p;
  return g;
}

PromptOptions
clip_of (guint seconds)
{
  PromptOptions o;
  o.clip_duration = seconds * GST_SECOND;
  o.has_video = false;
  return o;
}

void
check_answer (const Result<GenerateResponse> &r, guint seconds)
{
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  g_test_message ("served by %s, %" G_GINT64_FORMAT " tokens", r->model_version.c_str (),
      r->usage.total_tokens);
  ParseContext ctx;
  ctx.duration = seconds * GST_SECOND;
  auto parsed = parse_transcript (r->text, ctx);
  if (!parsed.ok ())
    g_error ("unreadable answer: %s", parsed.error ().describe ().c_str ());
}

FileInfo
uploaded (const EncodedSegment &seg)
{
  auto file = client ().upload_file_sync (seg.data.get (), seg.mime_type, "gst-gemini real test",
      nullptr);
  if (!file.ok ())
    g_error ("upload: %s", file.error ().describe ().c_str ());
  auto active = client ().wait_until_active_sync (file->name, nullptr);
  if (!active.ok ())
    g_error ("processing: %s", active.error ().describe ().c_str ());
  return active.value ();
}

void
test_text_only ()
{
  GenerateRequest req;
  req.parts.push_back (Part::text ("Reply with the single word: pong"));
  req.config.max_output_tokens = 64;
  auto r = client ().generate_content_sync (model (), req, nullptr);
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  g_assert_true (r->has_candidate);
  g_assert_false (r->text.empty ());
}

/* Opus in Ogg inline, as a streaming segment goes, without temperature. */
void
test_audio_ogg_inline ()
{
  EncodedSegment seg = encoded_audio (6);
  MediaInput media;
  media.mime_type = seg.mime_type;
  media.inline_data = ref_ptr (seg.data.get ());
  GenerateRequest req = build_transcription_request (std::move (media), clip_of (6),
      generation ());
  g_assert_true (!is_gemini_2 (model ()) == !req.config.temperature.has_value ());
  check_answer (client ().generate_content_sync (model (), req, nullptr), 6);
}

/* Uploaded, and in two windows asked for in words (no offsets: audio). */
void
test_audio_ogg_uploaded_in_windows ()
{
  EncodedSegment seg = encoded_audio (8);
  FileInfo file = uploaded (seg);
  WholeFileJob job;
  job.model = model ();
  job.media.mime_type = seg.mime_type;
  job.media.file_uri = file.uri;
  job.duration = 8 * GST_SECOND;
  job.has_video = false;
  job.generation = generation ();
  job.window = 4 * GST_SECOND;
  job.use_cache = false;
  WholeFileResult r = transcribe_whole_file (client (), job, nullptr);
  client ().delete_file_sync (file.name, nullptr);
  g_assert_cmpuint (r.windows.size (), ==, 2);
  if (r.clip.status != ClipStatus::Ok)
    g_error ("%s", r.clip.error.c_str ());
}

/* A cache of 140 s of audio (over the smallest cache the service takes),
 * asked from. */
void
test_cache ()
{
  EncodedSegment seg = encoded_audio (140);
  FileInfo file = uploaded (seg);
  MediaInput media;
  media.mime_type = seg.mime_type;
  media.file_uri = file.uri;
  auto cache = client ().create_cached_content_sync (model (),
      build_media_contents (std::move (media)), 300 * GST_SECOND, "gst-gemini real test",
      nullptr);
  if (!cache.ok ()) {
    client ().delete_file_sync (file.name, nullptr);
    g_error ("cache: %s", cache.error ().describe ().c_str ());
  }
  GenerateRequest req = build_cached_transcription_request (cache->name, clip_of (140),
      generation ());
  auto r = client ().generate_content_sync (model (), req, nullptr);
  client ().delete_cached_content_sync (cache->name, nullptr);
  client ().delete_file_sync (file.name, nullptr);
  check_answer (r, 140);
  g_assert_cmpint (r->usage.cached_tokens, >, 0);
}

/* The job is created (with its display name) and taken back at once. */
void
test_batch_display_name ()
{
  GenerateRequest req;
  req.parts.push_back (Part::text ("Reply with the single word: pong"));
  BatchSubmitOptions options;
  options.display_name = "gst-gemini real test";
  std::vector<BatchRequest> requests;
  requests.push_back (BatchRequest { "k0", std::move (req) });
  auto sub = submit_batch (client (), model (), requests, options, nullptr);
  if (!sub.ok ())
    g_error ("%s", sub.error ().describe ().c_str ());
  g_assert_true (g_str_has_prefix (sub->name.c_str (), "batches/"));
  client ().cancel_batch_sync (sub->name, nullptr);
  client ().delete_batch_sync (sub->name, nullptr);
}

void
test_model_limits ()
{
  auto info = client ().get_model_sync (model (), nullptr);
  if (!info.ok ())
    g_error ("%s", info.error ().describe ().c_str ());
  g_assert_cmpuint (info->input_token_limit, >, 0);
  g_assert_cmpuint (info->output_token_limit, >, 0);
  g_test_message ("%s: %" G_GUINT64_FORMAT " in, %" G_GUINT64_FORMAT " out", info->name.c_str (),
      info->input_token_limit, info->output_token_limit);
}

}  // namespace

int
main (int argc, char **argv)
{
  const char *offline = g_getenv ("GEMINI_TESTS_OFFLINE");
  const char *google = g_getenv ("GOOGLE_API_KEY");
  const char *gemini = g_getenv ("GEMINI_API_KEY");
  const bool has_key = (google && *google) || (gemini && *gemini);
  if ((offline && g_str_equal (offline, "1")) || !has_key)
    return 77;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/real/text-only", test_text_only);
  g_test_add_func ("/real/model-limits", test_model_limits);
  g_test_add_func ("/real/audio-ogg-inline", test_audio_ogg_inline);
  g_test_add_func ("/real/audio-ogg-uploaded-in-windows", test_audio_ogg_uploaded_in_windows);
  g_test_add_func ("/real/cache", test_cache);
  g_test_add_func ("/real/batch-display-name", test_batch_display_name);
  return g_test_run ();
}
