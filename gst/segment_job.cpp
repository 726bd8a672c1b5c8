/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "segment_job.h"

#include "debug.h"
#include "model_family.h"
#include "whole_file.h"

GEMINI_DEBUG_CATEGORY (gemini_segment_job_debug, "geminisegmentjob",
    "Gemini segment jobs");
#define GST_CAT_DEFAULT gemini_segment_job_debug

namespace gemini {

namespace {

/* Uploaded media is only needed for its one job; files would otherwise
 * count against the project's storage for 48 hours. Not cancellable: it
 * must happen even when the request was cancelled. */
void
delete_uploaded_file (Client &client, const std::string &name)
{
  auto del = client.delete_file_sync (name, nullptr);
  if (!del)
    GST_INFO ("could not delete %s: %s", name.c_str (), del.error ().describe ().c_str ());
}

void
fail (SegmentJobResult &out, const Error &e)
{
  if (e.fatal ())
    out.clip.fatal = e;
  out.clip.failure = e;
  out.clip.error = e.describe ();
}

/* An upload's outcome -> an ACTIVE file, or the error in `out` and nothing
 * left behind on the service (nullopt). */
std::optional<FileInfo>
wait_until_usable (Client &client, GCancellable *cancellable, Result<FileInfo> &file,
    SegmentJobResult &out, std::string &uploaded_name)
{
  if (file) {
    uploaded_name = file->name;
    out.uploaded = true;
    GST_DEBUG ("uploaded %s (%" G_GSIZE_FORMAT " bytes)", uploaded_name.c_str (),
        out.media_bytes);
    file = client.wait_until_active_sync (uploaded_name, cancellable);
  }
  if (file)
    return file.value ();
  if (!uploaded_name.empty ())
    delete_uploaded_file (client, uploaded_name);
  fail (out, file.error ());
  return std::nullopt;
}

/* Whole: only the encoder's tail is left to send; then the file is read in
 * one request or in windows (whole_file.h). */
SegmentJobResult
run_whole (Client &client, SegmentJob &job, GCancellable *cancellable)
{
  SegmentJobResult out;
  out.whole = true;
  const gint64 t0 = g_get_monotonic_time ();
  auto encoded = job.encoder->finish (job.duration);
  job.encoder.reset ();
  if (!encoded) {
    job.upload->cancel ();
    fail (out, encoded.error ());
    return out;
  }
  out.media_bytes = encoded->size;
  job.upload->finish ();
  /* A flush or stop must not wait for the upload's tail to go out. */
  const gulong cancel_id = g_cancellable_connect (cancellable,
      G_CALLBACK (+[](GCancellable *, gpointer upload) {
          static_cast<UploadStream *> (upload)->cancel ();
        }), job.upload.get (), nullptr);
  auto file = job.upload->wait ();
  g_cancellable_disconnect (cancellable, cancel_id);
  out.upload_path = job.upload->sized_at_end () ? "after-encoding" : "while-encoding";
  job.upload.reset ();
  std::string uploaded_name;
  auto active = wait_until_usable (client, cancellable, file, out, uploaded_name);
  if (!active)
    return out;

  WholeFileJob whole;
  whole.model = job.model;
  whole.media.mime_type = encoded->mime_type;
  whole.media.file_uri = active->uri;
  whole.media.fps = job.fps;
  whole.duration = job.duration;
  whole.has_video = encoded->has_video;
  whole.prompt.context = job.context;
  whole.prompt.language = job.language;
  whole.prompt.evidence = job.evidence;
  whole.generation = generation_settings (job);
  whole.window = job.window;
  whole.parallel = job.parallel;
  whole.request_timeout = job.request_timeout;
  whole.quiet_points = job.quiet_points;
  whole.limits = model_limits (client, job.model, cancellable);

  WholeFileResult r = transcribe_whole_file (client, whole, cancellable);
  out.windows = r.windows.size ();
  out.cache_error = std::move (r.cache_error);
  out.clip = std::move (r.clip);
  out.request_time = (g_get_monotonic_time () - t0) * GST_USECOND;
  delete_uploaded_file (client, uploaded_name);
  return out;
}

SegmentJobResult
run_clip (Client &client, SegmentJob &job, GCancellable *cancellable)
{
  SegmentJobResult out;
  const gint64 t0 = g_get_monotonic_time ();
  auto encoded = job.encoder->finish (job.duration);
  job.encoder.reset ();
  if (!encoded) {
    fail (out, encoded.error ());
    return out;
  }
  out.media_bytes = encoded->size;

  ClipRequest req;
  req.model = job.model;
  req.media.mime_type = encoded->mime_type;
  req.media.fps = job.fps;
  std::string uploaded_name;
  if (out.media_bytes <= job.max_inline_bytes) {
    req.media.inline_data = std::move (encoded->data);
  } else {
    GPtr<gchar> display (g_strdup_printf ("gst-gemini segment %" G_GUINT64_FORMAT, job.seq));
    auto file = client.upload_file_sync (encoded->data.get (), encoded->mime_type,
        display.get (), cancellable);
    out.upload_path = "sized";
    auto active = wait_until_usable (client, cancellable, file, out, uploaded_name);
    if (!active)
      return out;
    req.media.file_uri = active->uri;
  }
  req.prompt.clip_start = job.start;
  req.prompt.clip_duration = job.duration;
  req.prompt.has_video = encoded->has_video;
  req.prompt.context = job.context;
  req.prompt.language = job.language;
  req.prompt.evidence = job.evidence;
  req.prompt.known_speakers = job.known;
  req.generation = generation_settings (job);
  req.parse.duration = job.duration;
  req.parse.clip_offset = job.start;
  req.on_rows = job.on_rows;
  out.clip = transcribe_clip (client, req, cancellable);
  out.request_time = (g_get_monotonic_time () - t0) * GST_USECOND;
  if (!uploaded_name.empty ())
    delete_uploaded_file (client, uploaded_name);
  return out;
}

}  // namespace

GenerationSettings
generation_settings (const SegmentJob &job)
{
  GenerationSettings gen;
  const Sampling sampling = sampling_for (job.model, job.temperature);
  gen.temperature = sampling.temperature;
  gen.top_p = sampling.top_p;
  gen.seed = job.seed;
  gen.media_resolution = job.media_resolution.value_or (auto_media_resolution (job.duration));
  return gen;
}

SegmentJobResult
run_segment_job (Client &client, SegmentJob &job, GCancellable *cancellable)
{
  ensure_debug_category ();
  return job.upload ? run_whole (client, job, cancellable) : run_clip (client, job, cancellable);
}

}  // namespace gemini
