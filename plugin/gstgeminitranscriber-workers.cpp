/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker threads, each running one segment's job at a time (the
 * engine's SegmentJob: media inline or uploaded, the request, the upload
 * deleted), and the lifecycle that starts, flushes and stops them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgeminitranscriber-private.h"

#include <algorithm>
#include <iterator>

namespace transcriber {

void
StreamState::restart ()
{
  for (auto & seg : closing)
    seg.cancel ();
  for (auto & seg : jobs)
    seg.cancel ();
  if (current)
    current->cancel ();
  *this = StreamState ();
}

static gemini::ClientConfig
client_config_from_settings (const Settings & s)
{
  gemini::ClientConfig cfg;
  cfg.backend = s.vertex ? gemini::Backend::Vertex : gemini::Backend::Developer;
  cfg.endpoint = s.api_endpoint;
  cfg.api_key = s.api_key;
  cfg.project = s.project;
  cfg.location = s.location;
  cfg.access_token = s.access_token;
  cfg.request_timeout = s.request_timeout * GST_MSECOND;
  cfg.retry.max_attempts = s.max_retries + 1;
  cfg.resolve_from_environment ();
  return cfg;
}

/* nullopt: `auto`, chosen by the segment's duration in the engine. */
static std::optional<gemini::MediaResolution>
media_resolution_of (GstGeminiMediaResolution r)
{
  switch (r) {
    case GST_GEMINI_MEDIA_RESOLUTION_LOW:
      return gemini::MediaResolution::Low;
    case GST_GEMINI_MEDIA_RESOLUTION_MEDIUM:
      return gemini::MediaResolution::Medium;
    case GST_GEMINI_MEDIA_RESOLUTION_HIGH:
      return gemini::MediaResolution::High;
    case GST_GEMINI_MEDIA_RESOLUTION_AUTO:
      break;
  }
  return std::nullopt;
}

static Status
status_of (gemini::ClipStatus s)
{
  switch (s) {
    case gemini::ClipStatus::Ok: return Status::Ok;
    case gemini::ClipStatus::Blocked: return Status::Blocked;
    case gemini::ClipStatus::Failed: break;
  }
  return Status::Failed;
}

static gemini::SegmentJob
job_for (Segment & seg, std::vector<gemini::KnownSpeaker> known,
    gemini::RowsCallback on_rows)
{
  const Settings & s = seg.settings;
  gemini::SegmentJob job;
  job.seq = seg.seq;
  job.start = seg.start;
  job.duration = seg.end - seg.start;
  job.encoder = std::move (seg.encoder);
  if (seg.whole) {
    job.upload = std::move (seg.upload);
    job.quiet_points = seg.quiet.points ();
  } else {
    job.known = std::move (known);
    job.on_rows = std::move (on_rows);
  }
  job.model = s.model;
  job.fps = s.fps;
  job.context = s.context;
  job.language = s.language;
  job.evidence = s.evidence;
  if (s.temperature >= 0)
    job.temperature = s.temperature;
  job.seed = s.seed;
  job.media_resolution = media_resolution_of (s.media_resolution);
  job.max_inline_bytes = s.max_inline_bytes;
  job.window = s.window_duration * GST_SECOND;
  job.parallel = s.max_concurrent;
  job.request_timeout = s.request_timeout * GST_MSECOND;
  return job;
}

static Outcome
run_job (GstGeminiTranscriber * self, Segment & seg, gemini::Client & client,
    GCancellable * cancellable, std::vector<gemini::KnownSpeaker> known,
    gemini::RowsCallback on_rows)
{
  Outcome out;
  out.seq = seg.seq;
  out.start = seg.start;
  out.end = seg.end;
  if (!seg.had_sound || !seg.fed || seg.end - seg.start < MIN_SEGMENT) {
    seg.cancel ();
    out.status = Status::Silent;
    return out;
  }
  gemini::SegmentJob job = job_for (seg, std::move (known), std::move (on_rows));
  out.job = gemini::run_segment_job (client, job, cancellable);
  out.status = status_of (out.job.clip.status);
  if (!out.job.cache_error.empty ())
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Gemini could not cache the media; each window is sent with the file "
            "instead."), ("%s", out.job.cache_error.c_str ()));
  return out;
}

/* stream-cues: hands rows read so far to the src task, unless the segment
 * was flushed away or already given up. */
static void
publish_streamed_rows (GstGeminiTranscriber * self, guint64 seq, guint64 epoch,
    std::vector<gemini::Utterance> rows)
{
  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  if (epoch != st.epoch || seq < st.stream.next_out)
    return;
  auto & pending = st.stream.streamed[seq];
  std::move (rows.begin (), rows.end (), std::back_inserter (pending));
  self->priv->cond.notify_all ();
}

static void
worker_loop (GstGeminiTranscriber * self)
{
  Private *priv = self->priv;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  while (true) {
    priv->cond.wait (lk, [&] {
          return st.stopping || !st.stream.jobs.empty ();});
    if (st.stopping)
      return;

    Segment seg = std::move (st.stream.jobs.front ());
    st.stream.jobs.pop_front ();
    /* Live: a segment whose deadline already passed is a gap downstream;
     * its answer would be dropped, so it is not worth a request. */
    if (seg.seq < st.stream.next_out) {
      GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " given up before "
          "its request", seg.seq);
      seg.encoder->cancel ();
      continue;
    }
    const guint64 epoch = st.epoch;
    GPtr<GCancellable> cancellable = gemini::ref_ptr (st.cancellable.get ());
    std::vector<gemini::KnownSpeaker> known = st.known_speakers;
    gemini::Client & client = *st.client;
    lk.unlock ();

    const std::string model = seg.settings.model;
    gemini::RowsCallback on_rows;
    if (seg.settings.stream_cues)
      on_rows = [self, seq = seg.seq, epoch](std::vector<gemini::Utterance> rows) {
        publish_streamed_rows (self, seq, epoch, std::move (rows));
      };
    Outcome out = run_job (self, seg, client, cancellable.get (), std::move (known),
        std::move (on_rows));

    lk.lock ();
    if (epoch != st.epoch || g_cancellable_is_cancelled (cancellable.get ()))
      continue;
    if (const auto & fatal = out.job.clip.fatal) {
      /* Every request in flight fails the same way: one error is enough. */
      const bool first = !st.stream.fatal;
      st.stream.fatal = true;
      priv->cond.notify_all ();
      if (first) {
        lk.unlock ();
        post_fatal_error (self, *fatal, model);
        lk.lock ();
      }
      continue;
    }
    if (out.seq >= st.stream.next_out)
      st.stream.done.emplace (out.seq, std::move (out));
    priv->cond.notify_all ();
  }
}

bool
start_stream (GstGeminiTranscriber * self)
{
  Settings s = settings_snapshot (self);
  gemini::ClientConfig cfg = client_config_from_settings (s);
  if (!cfg.has_credentials ()) {
    post_missing_credentials (self, s.vertex);
    return false;
  }

  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  st.client = std::make_unique<gemini::Client> (std::move (cfg));
  st.cancellable.reset (g_cancellable_new ());
  st.stopping = false;
  st.flushing = false;
  st.latency_known = false;
  st.stream.restart ();
  for (guint i = 0; i < std::max (s.max_concurrent, 1u); i++)
    st.workers.emplace_back (worker_loop, self);
  self->priv->src_flow = GST_FLOW_OK;
  return true;
}

void
stop_stream (GstGeminiTranscriber * self)
{
  std::vector<std::thread> workers;
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    st.stopping = true;
    if (st.cancellable)
      g_cancellable_cancel (st.cancellable.get ());
    workers.swap (st.workers);
    self->priv->cond.notify_all ();
    self->priv->video_cond.notify_all ();
    self->priv->audio_cond.notify_all ();
  }
  for (auto & t : workers)
    t.join ();

  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  st.stream.restart ();
  st.input = InputState ();
  if (st.client) {
    /* What a run cost on the wire, retries included: the figure to look
     * at when a quota runs out sooner than the segments explain. */
    const gemini::ClientStats stats = st.client->stats ();
    GST_INFO_OBJECT (self, "%" G_GUINT64_FORMAT " HTTP requests (%" G_GUINT64_FORMAT
        " retries), %" G_GUINT64_FORMAT " bytes sent, %" G_GUINT64_FORMAT " uploaded",
        stats.requests, stats.retries, stats.bytes_sent, stats.bytes_uploaded);
  }
  st.client.reset ();
  st.known_speakers.clear ();
  self->priv->pipeline_latency = GST_CLOCK_TIME_NONE;
}

void
start_flush (GstGeminiTranscriber * self)
{
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    if (st.flushing)
      return;
    st.flushing = true;
    if (st.cancellable)
      g_cancellable_cancel (st.cancellable.get ());
    self->priv->cond.notify_all ();
    self->priv->video_cond.notify_all ();
    self->priv->audio_cond.notify_all ();
  }
  gst_pad_push_event (self->src, gst_event_new_flush_start ());
  gst_pad_stop_task (self->src);
}

void
stop_flush (GstGeminiTranscriber * self, bool reset_time)
{
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    if (!st.flushing)
      return;
    st.epoch++;
    st.stream.restart ();
    st.cancellable.reset (g_cancellable_new ());
    st.flushing = false;
  }
  self->priv->out = OutputState ();
  self->priv->src_flow = GST_FLOW_OK;
  gst_pad_push_event (self->src, gst_event_new_flush_stop (reset_time));
  gst_pad_start_task (self->src,
      (GstTaskFunction) src_loop, self, NULL);
}

}  // namespace transcriber
