/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "whole_file.h"

#include "model_family.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "debug.h"

GEMINI_DEBUG_CATEGORY (gemini_whole_file_debug, "geminiwholefile",
    "Gemini whole-file transcription");
#define GST_CAT_DEFAULT gemini_whole_file_debug

namespace gemini {

namespace {

constexpr double kInputShare = 0.9;
constexpr double kOutputShare = 0.5;
constexpr GstClockTime kQuietMin = 200 * GST_MSECOND;
constexpr double kQuietDb = -40.0;
/* The cache outlives the slowest plausible run of every wave of requests
 * (the speakers request, then the windows, `parallel` at a time) by one
 * more timeout, and at least five minutes; it is deleted when done anyway.
 * An attempt may take request_timeout plus answer_allowance() of its
 * media, counted here for the whole file. */
constexpr GstClockTime kMinCacheTtl = 300 * GST_SECOND;

double
seconds (GstClockTime t)
{
  return static_cast<double> (t) / GST_SECOND;
}

}  // namespace

TokenRates
token_rates (std::string_view model, MediaResolution resolution)
{
  TokenRates r;
  if (is_gemini_2 (model))
    r.video_per_frame = resolution == MediaResolution::Low ? 66.0 : 258.0;
  else
    r.video_per_frame = resolution == MediaResolution::High ? 280.0 : 70.0;
  return r;
}

ModelLimits
model_limits (Client &client, std::string_view model, GCancellable *cancellable)
{
  ensure_debug_category ();
  ModelLimits limits;
  auto info = client.get_model_sync (model, cancellable);
  if (!info) {
    GST_INFO ("no limits for %.*s from the service (%s): assuming %" G_GUINT64_FORMAT " in, %"
        G_GUINT64_FORMAT " out", (int) model.size (), model.data (),
        info.error ().describe ().c_str (), limits.input_tokens, limits.output_tokens);
    return limits;
  }
  if (info->input_token_limit > 0)
    limits.input_tokens = info->input_token_limit;
  if (info->output_token_limit > 0)
    limits.output_tokens = info->output_token_limit;
  GST_INFO ("%s takes %" G_GUINT64_FORMAT " tokens in, %" G_GUINT64_FORMAT " out",
      info->name.c_str (), limits.input_tokens, limits.output_tokens);
  return limits;
}

guint64
estimate_input_tokens (GstClockTime duration, double fps, bool has_video, const TokenRates &rates)
{
  const double s = seconds (duration);
  double tokens = s * rates.audio_per_second;
  if (has_video)
    tokens += std::ceil (s * fps) * rates.video_per_frame;
  return static_cast<guint64> (std::ceil (tokens));
}

guint64
estimate_output_tokens (GstClockTime duration)
{
  return static_cast<guint64> (std::ceil (seconds (duration) * OUTPUT_TOKENS_PER_SECOND));
}

GstClockTime
max_request_duration (double fps, bool has_video, const TokenRates &rates,
    const ModelLimits &limits)
{
  const double in_per_s = rates.audio_per_second + (has_video ? fps * rates.video_per_frame : 0);
  const double by_input = limits.input_tokens * kInputShare / in_per_s;
  const double by_output = limits.output_tokens * kOutputShare / OUTPUT_TOKENS_PER_SECOND;
  return static_cast<GstClockTime> (std::min (by_input, by_output) * GST_SECOND);
}

std::vector<Window>
plan_windows (GstClockTime duration, GstClockTime window, GstClockTime max_request,
    const std::vector<GstClockTime> &quiet_points)
{
  GstClockTime longest = max_request;
  if (window > 0)
    longest = std::min (window, max_request);
  if (longest == 0 || duration <= longest)
    return { Window{0, duration} };

  const guint64 n = (duration + longest - 1) / longest;
  const GstClockTime size = duration / n;
  const GstClockTime reach = size / 8;

  std::vector<Window> windows;
  GstClockTime start = 0;
  for (guint64 i = 1; i < n; i++) {
    GstClockTime edge = i * size;
    auto it = std::lower_bound (quiet_points.begin (), quiet_points.end (),
        edge > reach ? edge - reach : 0);
    GstClockTime best = edge;
    GstClockTime best_dist = reach + 1;
    for (; it != quiet_points.end () && *it <= edge + reach; ++it) {
      const GstClockTime dist = *it > edge ? *it - edge : edge - *it;
      if (dist < best_dist && *it > start) {
        best = *it;
        best_dist = dist;
      }
    }
    /* Prompts give timecodes in whole seconds: so do the edges, or a row
     * between the rounded and the exact edge would be asked of neither. */
    best = static_cast<GstClockTime> (std::llround (seconds (best))) * GST_SECOND;
    if (best <= start || best >= duration)
      continue;
    windows.push_back (Window{start, best});
    start = best;
  }
  windows.push_back (Window{start, duration});
  return windows;
}

void
QuietPoints::observe (GstClockTime pts, GstClockTime duration, double rms_db)
{
  if (rms_db < kQuietDb) {
    if (!GST_CLOCK_TIME_IS_VALID (quiet_since_))
      quiet_since_ = pts;
    quiet_end_ = pts + duration;
    return;
  }
  if (GST_CLOCK_TIME_IS_VALID (quiet_since_) && quiet_end_ - quiet_since_ >= kQuietMin) {
    const GstClockTime mid = quiet_since_ + (quiet_end_ - quiet_since_) / 2;
    if (points_.empty () || mid >= points_.back () + GST_SECOND)
      points_.push_back (mid);
  }
  quiet_since_ = GST_CLOCK_TIME_NONE;
}

SegmentTranscript
stitch_windows (const std::vector<Window> &windows, std::vector<SegmentTranscript> parts)
{
  SegmentTranscript out;
  for (size_t k = 0; k < parts.size () && k < windows.size (); k++) {
    SegmentTranscript &part = parts[k];
    const std::string prefix = "w" + std::to_string (k + 1) + ":";
    const GstClockTime lo = k == 0 ? 0 : windows[k].start;
    const bool last = k + 1 == windows.size ();
    guint dropped = 0;
    for (auto &u : part.utterances) {
      if (u.start < lo || (!last && u.start >= windows[k].end)) {
        dropped++;
        continue;
      }
      u.voice = prefix + u.voice;
      out.utterances.push_back (std::move (u));
    }
    for (auto &s : part.speakers) {
      s.voice = prefix + s.voice;
      out.speakers.push_back (std::move (s));
    }
    if (out.language.empty ())
      out.language = part.language;
    for (auto &r : part.repairs)
      out.repairs.push_back ("window " + std::to_string (k + 1) + ": " + r);
    if (dropped > 0)
      out.repairs.push_back ("window " + std::to_string (k + 1) + ": "
          + std::to_string (dropped) + " rows outside the window dropped "
          "(a neighbouring window holds them)");
    out.truncated = out.truncated || part.truncated;
  }
  /* Rows are kept by start, so windows in order give rows in order; a row
   * the model placed a little early within its own window may still
   * precede the previous window's last one. */
  std::stable_sort (out.utterances.begin (), out.utterances.end (),
      [] (const Utterance &a, const Utterance &b) { return a.start < b.start; });
  return out;
}

namespace {

MediaInput
window_media (const MediaInput &m, std::optional<Window> w)
{
  MediaInput c;
  c.mime_type = m.mime_type;
  c.inline_data = ref_ptr (m.inline_data.get ());
  c.file_uri = m.file_uri;
  c.fps = m.fps;
  if (w) {
    c.start_offset = w->start;
    c.end_offset = w->end;
  }
  return c;
}

/* Whether a window is asked for in words, the model seeing the whole file
 * (from the cache, or audio, which videoMetadata offsets cannot cut), with
 * timecodes relative to the file; else it is cut out with offsets, and is
 * a clip of its own. */
bool
window_in_words (const WholeFileJob &job, const std::string &cache)
{
  return !cache.empty () || !job.has_video;
}

/* The request for the whole file, or for one window of it. */
ClipRequest
clip_request (const WholeFileJob &job, const std::string &cache, std::optional<Window> w,
    const std::vector<KnownSpeaker> &known)
{
  ClipRequest r;
  r.model = job.model;
  r.generation = job.generation;
  r.prompt = job.prompt;
  r.prompt.has_video = job.has_video;
  r.prompt.fps = job.media.fps;
  r.prompt.known_speakers = known;
  r.cached_content = cache;
  r.prompt.clip_start = 0;
  r.prompt.clip_duration = job.duration;
  r.parse.duration = job.duration;
  if (w && window_in_words (job, cache)) {
    if (cache.empty ())
      r.media = window_media (job.media, std::nullopt);
    r.prompt.transcribe_from = w->start;
    if (w->end < job.duration)
      r.prompt.transcribe_until = w->end;
  } else if (w) {
    r.media = window_media (job.media, w);
    r.prompt.clip_start = w->start;
    r.prompt.clip_duration = w->end - w->start;
    r.parse.duration = w->end - w->start;
    r.parse.clip_offset = w->start;
  } else {
    r.media = window_media (job.media, std::nullopt);
  }
  return r;
}

std::vector<KnownSpeaker>
known_from (const SegmentTranscript &t)
{
  std::vector<KnownSpeaker> known;
  for (const auto &s : t.speakers) {
    if (s.identified ())
      known.push_back (KnownSpeaker{"voice " + s.voice, s});
  }
  return known;
}

}  // namespace

std::vector<Window>
plan_whole_file (const WholeFileJob &job)
{
  const MediaResolution planned = job.use_cache && job.has_video
      ? MediaResolution::Medium : job.generation.media_resolution;
  const GstClockTime max_request = max_request_duration (job.media.fps, job.has_video,
      token_rates (job.model, planned), job.limits);
  return plan_windows (job.duration, job.window, max_request, job.quiet_points);
}

WholeFileResult
transcribe_whole_file (Client &client, const WholeFileJob &job, GCancellable *cancellable)
{
  ensure_debug_category ();

  WholeFileResult result;
  const TokenRates rates = token_rates (job.model, job.generation.media_resolution);
  result.windows = plan_whole_file (job);
  GST_INFO ("%" GST_TIME_FORMAT " of media, about %" G_GUINT64_FORMAT " input and %"
      G_GUINT64_FORMAT " output tokens: %" G_GSIZE_FORMAT " window(s)",
      GST_TIME_ARGS (job.duration), estimate_input_tokens (job.duration, job.media.fps,
          job.has_video, rates), estimate_output_tokens (job.duration), result.windows.size ());

  for (const Window &w : result.windows)
    GST_DEBUG ("window %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT, GST_TIME_ARGS (w.start),
        GST_TIME_ARGS (w.end));

  if (result.windows.size () == 1) {
    result.clip = transcribe_clip (client, clip_request (job, {}, std::nullopt, {}), cancellable);
    return result;
  }

  if (job.use_cache) {
    const guint64 waves = (result.windows.size () + job.parallel - 1) / std::max (job.parallel, 1u);
    const GstClockTime ttl = std::max (kMinCacheTtl,
        (waves + 2) * (job.request_timeout + answer_allowance (job.duration)));
    auto cache = client.create_cached_content_sync (job.model,
        build_media_contents (window_media (job.media, std::nullopt)), ttl,
        "gst-gemini whole file", cancellable);
    if (cache) {
      result.cache = cache->name;
      GST_INFO ("video cached as %s (%" G_GINT64_FORMAT " tokens)", cache->name.c_str (),
          cache->total_tokens);
    } else {
      result.cache_error = cache.error ().describe ();
      GST_WARNING ("no context cache, windows are sent uncached: %s",
          result.cache_error.c_str ());
      if (cache.error ().cancelled ()) {
        result.clip.error = result.cache_error;
        result.clip.failure = cache.error ();
        return result;
      }
    }
  }

  ClipRequest speakers = clip_request (job, result.cache, std::nullopt, {});
  speakers.prompt.speakers_only = true;
  ClipResult table = transcribe_clip (client, speakers, cancellable);
  result.speakers_request = true;
  result.clip.requests += table.requests;
  add_usage (result.clip.usage, table.usage);
  if (table.fatal) {
    result.clip.fatal = table.fatal;
    result.clip.failure = table.failure;
    result.clip.error = table.error;
  }
  const std::vector<KnownSpeaker> known = known_from (table.transcript);
  if (table.status != ClipStatus::Ok)
    GST_WARNING ("the speakers request failed (%s); windows go without the table",
        table.error.c_str ());

  std::vector<ClipResult> parts (result.windows.size ());
  if (!result.clip.fatal) {
    std::atomic<size_t> next{0};
    auto run = [&] {
      for (size_t k = next++; k < parts.size (); k = next++)
        parts[k] = transcribe_clip (client, clip_request (job, result.cache, result.windows[k],
                known), cancellable);
    };
    std::vector<std::thread> threads;
    const size_t n = std::min<size_t> (std::max (job.parallel, 1u), parts.size ());
    for (size_t i = 0; i < n; i++)
      threads.emplace_back (run);
    for (auto &t : threads)
      t.join ();
  }

  if (!result.cache.empty ()) {
    /* Not cancellable: the cache is billed for storage until it expires. */
    auto del = client.delete_cached_content_sync (result.cache, nullptr);
    if (!del)
      GST_INFO ("could not delete %s: %s", result.cache.c_str (),
          del.error ().describe ().c_str ());
  }

  std::vector<SegmentTranscript> transcripts;
  guint ok = 0;
  for (size_t k = 0; k < parts.size (); k++) {
    ClipResult &p = parts[k];
    result.clip.requests += p.requests;
    add_usage (result.clip.usage, p.usage);
    if (!p.model_version.empty ())
      result.clip.model_version = p.model_version;
    if (p.fatal && !result.clip.fatal)
      result.clip.fatal = p.fatal;
    if (!result.clip.raw_text.empty ())
      result.clip.raw_text += "\n";
    result.clip.raw_text += p.raw_text;
    if (p.status == ClipStatus::Ok) {
      ok++;
      if (!window_in_words (job, result.cache)) {
        for (auto &u : p.transcript.utterances) {
          u.start += result.windows[k].start;
          if (GST_CLOCK_TIME_IS_VALID (u.end))
            u.end += result.windows[k].start;
        }
      }
    } else {
      p.transcript = SegmentTranscript{};
      p.transcript.repairs.push_back ("not transcribed: " + p.error);
      if (result.clip.error.empty ()) {
        result.clip.error = "window " + std::to_string (k + 1) + ": " + p.error;
        result.clip.failure = p.failure;
      }
    }
    transcripts.push_back (std::move (p.transcript));
  }
  if (ok == 0)
    return result;

  result.clip.transcript = stitch_windows (result.windows, std::move (transcripts));
  /* Voices of different windows are joined by name downstream; the table
   * lists who the whole video shows, for windows whose answer named nobody. */
  if (result.clip.transcript.language.empty ())
    result.clip.transcript.language = table.transcript.language;
  result.clip.status = ClipStatus::Ok;
  return result;
}

}  // namespace gemini
