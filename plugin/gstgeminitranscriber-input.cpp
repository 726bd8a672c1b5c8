/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sink pads' side: audio and video buffers and events, in their
 * streaming threads. The audio's level cuts segments at quiet points
 * (the video's clock when there is no audio); each segment's encoder is
 * fed as the input arrives; a cut segment waits in `closing` until the
 * video has passed its end, then goes to `jobs` for a worker. Not live,
 * each pad waits when it runs too far ahead of the other, and the input
 * waits while max-concurrent-requests segments are in flight. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgeminitranscriber-private.h"

#include <algorithm>

namespace transcriber {

/* The buffer with its PTS moved into the segment's own timeline, which
 * starts at 0 in the encoded file. A buffer nobody else holds is retimed in
 * place; a shared one costs a shallow copy, its memory still shared. */
static GPtr<GstBuffer>
retimed (GPtr<GstBuffer> buf, GstClockTime pts)
{
  GPtr<GstBuffer> own (gst_buffer_make_writable (buf.release ()));
  GST_BUFFER_PTS (own.get ()) = pts;
  GST_BUFFER_DTS (own.get ()) = GST_CLOCK_TIME_NONE;
  return own;
}

static void
dispatch_ready_segments (GstGeminiTranscriber * self, State & st)
{
  const bool expect_video = self->video_sink != nullptr && st.input.video_caps
      && !st.stream.video_eos;
  bool dispatched = false;

  while (!st.stream.closing.empty ()) {
    Segment & seg = st.stream.closing.front ();
    const bool video_passed = !expect_video || !seg.has_video
        || (GST_CLOCK_TIME_IS_VALID (st.stream.video_position)
        && st.stream.video_position >= seg.end)
        || (st.live && GST_CLOCK_TIME_IS_VALID (st.stream.audio_position)
        && st.stream.audio_position >= seg.end + VIDEO_LAG_LIMIT);
    if (!video_passed)
      break;
    GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " [%" GST_TIME_FORMAT
        " - %" GST_TIME_FORMAT "] ready", seg.seq, GST_TIME_ARGS (seg.start),
        GST_TIME_ARGS (seg.end));
    st.stream.jobs.push_back (std::move (seg));
    st.stream.closing.pop_front ();
    dispatched = true;
  }
  if (dispatched)
    self->priv->cond.notify_all ();
}

/* Shrinks a frame to the size it is sent as soon as it is sampled: what
 * then waits for an encoder, or for the cut, is a sixth of a 1080p frame,
 * and the full frame goes back to its producer at once. Caps the scaler
 * cannot handle reach the encoder as they are; it scales them itself. */
static std::shared_ptr<gemini::FrameScaler>
frame_scaler (State & st, guint max_side)
{
  if (!st.input.scaler || !st.input.scaler->matches (st.input.video_caps.get (), max_side))
    st.input.scaler = gemini::FrameScaler::create (st.input.video_caps.get (), max_side);
  return st.input.scaler;
}

/* The conversion runs without the state lock (a 4K frame takes several
 * ms, which the audio thread and the src task need not wait for); the
 * caller checks for a flush or stop that came meanwhile. */
static SampledFrame
sample_frame (State & st, GstClockTime rt, GPtr<GstBuffer> frame, guint max_side,
    std::unique_lock < std::mutex > &lk)
{
  if (std::shared_ptr<gemini::FrameScaler> scaler = frame_scaler (st, max_side)) {
    lk.unlock ();
    GPtr<GstBuffer> small = scaler->scale (frame.get ());
    lk.lock ();
    if (small)
      return {rt, std::move (small), gemini::ref_ptr (scaler->caps ())};
  }
  return {rt, std::move (frame), gemini::ref_ptr (st.input.video_caps.get ())};
}

/* Not live, the first segment needs the video caps too; they may still be
 * on their way through the other streaming thread. */
static void
wait_for_video_caps (GstGeminiTranscriber * self, State & st,
    std::unique_lock < std::mutex > &lk)
{
  if (!self->video_sink || !gst_pad_is_linked (self->video_sink) || st.input.video_caps
      || st.stream.video_eos || st.input.video_absent || st.live)
    return;
  auto done = [&] {
    return st.input.video_caps || st.stream.video_eos || st.flushing || st.stopping;
  };
  if (!st.input.video_started)
    self->priv->cond.wait_for (lk, VIDEO_START_WAIT, [&] {
          return st.input.video_started || done ();});
  if (st.input.video_started)
    self->priv->cond.wait_for (lk, VIDEO_CAPS_WAIT, done);
}

/* A linked pad with nothing behind it stops being waited for, and the
 * application is told: a transcript without sound, or without pictures,
 * is not what it may have expected. */
static void
declare_absent (GstGeminiTranscriber * self, State & st, bool audio,
    GstClockTime delivered, std::unique_lock < std::mutex > &lk)
{
  bool &absent = audio ? st.input.audio_absent : st.input.video_absent;
  if (absent)
    return;
  absent = true;
  self->priv->cond.notify_all ();
  lk.unlock ();
  if (audio)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No audio reached audio_sink while the video delivered %.1f s: "
            "transcribing the pictures only.", (double) delivered / GST_SECOND),
        ("audio_sink is linked but received no stream"));
  else
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No video reached video_sink while the audio delivered %.1f s: "
            "transcribing the audio only.", (double) delivered / GST_SECOND),
        ("video_sink is linked but received no stream"));
  lk.lock ();
}

/* Called for each span of the running stream (`audio` tells which) that
 * starts at `rt`: the other pad, if it has received nothing by the time
 * this one delivered ABSENT_AFTER, is absent. */
static void
check_other_pad (GstGeminiTranscriber * self, State & st, bool audio, GstClockTime rt,
    std::unique_lock < std::mutex > &lk)
{
  GstClockTime &first = audio ? st.input.first_audio_rt : st.input.first_video_rt;
  if (!GST_CLOCK_TIME_IS_VALID (first))
    first = rt;
  GstPad *other = audio ? self->video_sink : self->audio_sink;
  const bool started = audio ? st.input.video_started : st.input.audio_started;
  if (other && gst_pad_is_linked (other) && !started && rt >= first + ABSENT_AFTER)
    declare_absent (self, st, !audio, rt - first, lk);
}

/* auto: the whole input for a file, segments for a live source (whose
 * viewers cannot wait for the end). Vertex AI has no Files API to upload to. */
static bool
use_whole_mode (const Settings & s, bool live)
{
  if (s.mode == GST_GEMINI_TRANSCRIBER_MODE_STREAMING)
    return false;
  return !live && !s.vertex;
}

static bool
open_segment (GstGeminiTranscriber * self, State & st, GstClockTime start,
    std::unique_lock < std::mutex > &lk)
{
  Settings s = settings_snapshot (self);

  wait_for_video_caps (self, st, lk);

  const bool whole = use_whole_mode (s, st.live);
  if (s.mode == GST_GEMINI_TRANSCRIBER_MODE_WHOLE && !whole && !st.stream.mode_warned) {
    st.stream.mode_warned = true;
    const bool live = st.live;
    lk.unlock ();
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("mode=whole needs a file (not a live source) and the Gemini Developer API; "
            "transcribing in streaming mode."),
        ("live: %d, vertex: %d", live, s.vertex));
    lk.lock ();
  }

  gemini::EncoderSettings es;
  es.fps = s.fps;
  es.max_side = s.max_video_side;
  /* Video that ran ahead and ended still has frames for this segment. */
  const bool video_left = !st.stream.video_eos || (GST_CLOCK_TIME_IS_VALID (st.stream.video_end)
      && st.stream.video_end > start);
  GstCaps *vcaps = nullptr;
  if (video_left && st.input.video_caps) {
    std::shared_ptr<gemini::FrameScaler> scaler = frame_scaler (st, es.max_side);
    vcaps = scaler ? scaler->caps () : st.input.video_caps.get ();
  }

  std::unique_ptr<gemini::UploadStream> upload;
  gemini::Result<std::unique_ptr<gemini::SegmentEncoder>> enc =
      gemini::Error::make (gemini::Error::Kind::Media, "no encoder");
  if (whole) {
    upload = st.client->open_upload (gemini::SegmentEncoder::mime_type (vcaps != nullptr),
        "gst-gemini whole input");
    gemini::UploadStream *sink = upload.get ();
    enc = gemini::SegmentEncoder::create_streaming (es, st.input.audio_caps.get (), vcaps,
        [sink] (GBytes * bytes) { sink->write (bytes); });
  } else {
    enc = gemini::SegmentEncoder::create (es, st.input.audio_caps.get (), vcaps);
  }
  if (!enc) {
    lk.unlock ();
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Cannot encode the input for Gemini."),
        ("%s", enc.error ().describe ().c_str ()));
    lk.lock ();
    st.stream.fatal = true;
    return false;
  }

  Segment seg;
  seg.seq = st.stream.next_seq++;
  seg.start = start;
  seg.whole = whole;
  seg.upload = std::move (upload);
  seg.encoder = std::move (enc.value ());
  seg.has_video = vcaps != nullptr;
  if (s.timing == GST_GEMINI_TIMING_AUDIO)
    seg.sound.emplace ();
  seg.settings = std::move (s);
  st.stream.segmenter = gemini::Segmenter (gemini::SegmenterSettings {
        segment_target (seg.settings, st.live, seg.whole)});
  st.stream.segmenter.begin (start);
  GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " opens at %"
      GST_TIME_FORMAT, seg.seq, GST_TIME_ARGS (start));
  st.stream.current = std::move (seg);
  return true;
}

/* Subtitle guidelines leave two frames between cues; 80 ms is two at
 * 25 fps, for audio alone or video of unknown rate. */
static GstClockTime
cue_gap (const State & st)
{
  constexpr GstClockTime without_video = 80 * GST_MSECOND;
  if (!st.input.video_caps || st.input.video_absent)
    return without_video;
  gint n = 0, d = 1;
  const GstStructure *s = gst_caps_get_structure (st.input.video_caps.get (), 0);
  if (!gst_structure_get_fraction (s, "framerate", &n, &d) || n <= 0 || d <= 0)
    return without_video;
  return gst_util_uint64_scale (2 * GST_SECOND, d, n);
}

static void
close_segment (GstGeminiTranscriber * self, State & st, GstClockTime end)
{
  Segment seg = std::move (*st.stream.current);
  st.stream.current.reset ();
  seg.end = std::max (end, seg.start);
  /* Without audio there is no level to judge: the pictures are sent. */
  seg.had_sound = st.stream.ever_audio ? st.stream.segmenter.had_sound () : true;
  GST_DEBUG_OBJECT (self, "segment %" G_GUINT64_FORMAT " cut at %"
      GST_TIME_FORMAT " (sound: %d)", seg.seq, GST_TIME_ARGS (seg.end),
      seg.had_sound);
  CutSegment cut{seg.start, seg.end, nullptr, cue_gap (st)};
  if (seg.sound && st.stream.ever_audio)
    cut.sound = std::make_shared<const gemini::AudioEnvelope> (std::move (*seg.sound));
  seg.sound.reset ();
  st.stream.cut_segments[seg.seq] = std::move (cut);
  st.stream.in_flight++;
  st.stream.closing.push_back (std::move (seg));
}

/* Sends a sampled video frame to the segment that covers it, or keeps it
 * while the audio has not yet decided where the current segment ends. */
static bool
route_video_frame (State & st, SampledFrame & f, bool video_driven)
{
  const GstClockTime rt = f.rt;
  auto feed = [&f, &st] (Segment & seg) {
    if (seg.has_video) {
      /* The orientation tag comes after the caps, maybe after the segment
       * opened: it is applied with the segment's first frame. */
      if (!seg.video_fed)
        seg.encoder->orient (st.input.video_orientation);
      seg.video_fed = true;
      f.frame = retimed (std::move (f.frame), f.rt - seg.start);
      seg.encoder->push_video (f.frame.get (), f.caps.get ());
      seg.fed = true;
    }
    f.frame.reset ();
  };
  for (auto & seg : st.stream.closing) {
    if (rt >= seg.start && rt < seg.end) {
      feed (seg);
      return true;
    }
  }
  if (!st.stream.current || rt < st.stream.current->start)
    return false;

  Segment & cur = *st.stream.current;
  const GstClockTime target = segment_target (cur.settings, st.live, cur.whole);
  const GstClockTime undecided_from = cur.start + target - std::min<GstClockTime> (target / 4,
      3 * GST_SECOND);
  const bool decided = video_driven
      || (GST_CLOCK_TIME_IS_VALID (st.stream.audio_position) && rt < st.stream.audio_position)
      || rt < undecided_from;
  if (!decided)
    return false;
  feed (cur);
  return true;
}

static void
drain_pending_video (State & st, bool video_driven)
{
  while (!st.stream.pending_video.empty ()) {
    SampledFrame & f = st.stream.pending_video.front ();
    if (!route_video_frame (st, f, video_driven)) {
      /* Frames older than every open segment belong nowhere. */
      if (st.stream.current && f.rt < st.stream.current->start) {
        st.stream.pending_video.pop_front ();
        continue;
      }
      break;
    }
    st.stream.pending_video.pop_front ();
  }
}

/* Non-live: wait while max-concurrent-requests segments are in flight, so
 * upstream is paced by Gemini instead of filling memory. */
static bool
wait_for_room (GstGeminiTranscriber * self, State & st,
    std::unique_lock < std::mutex > &lk, guint max_concurrent)
{
  if (st.live)
    return true;
  self->priv->cond.wait (lk, [&] {
        return st.stream.in_flight < std::max (max_concurrent, 1u) || st.flushing
        || st.stopping || st.stream.fatal;});
  return !st.flushing && !st.stopping && !st.stream.fatal;
}

/* Upstream's latency over the linked sink pads: live if either is, the
 * larger minimum, the smaller maximum. A video-only input is as live as
 * its video. */
bool
upstream_latency (GstGeminiTranscriber * self, gboolean * live, GstClockTime * min,
    GstClockTime * max)
{
  *live = FALSE;
  *min = 0;
  *max = GST_CLOCK_TIME_NONE;
  bool answered = false;
  for (GstPad *pad : {self->audio_sink, self->video_sink}) {
    if (!pad || !gst_pad_is_linked (pad))
      continue;
    GPtr<GstQuery> q (gst_query_new_latency ());
    if (!gst_pad_peer_query (pad, q.get ()))
      continue;
    gboolean pad_live;
    GstClockTime pad_min, pad_max;
    gst_query_parse_latency (q.get (), &pad_live, &pad_min, &pad_max);
    answered = true;
    *live = *live || pad_live;
    *min = std::max (*min, pad_min);
    if (GST_CLOCK_TIME_IS_VALID (pad_max))
      *max = GST_CLOCK_TIME_IS_VALID (*max) ? std::min (*max, pad_max) : pad_max;
  }
  return answered;
}

static void
query_upstream_latency (GstGeminiTranscriber * self, State & st,
    std::unique_lock < std::mutex > &lk)
{
  if (st.latency_known)
    return;
  lk.unlock ();
  gboolean live;
  GstClockTime min, max;
  upstream_latency (self, &live, &min, &max);
  lk.lock ();
  st.latency_known = true;
  st.live = live;
  st.upstream_min = min;
  GST_INFO_OBJECT (self, "upstream is %slive, min latency %" GST_TIME_FORMAT,
      live ? "" : "not ", GST_TIME_ARGS (min));
}

static GstFlowReturn
input_flow (GstGeminiTranscriber * self, const State & st)
{
  if (st.flushing || st.stopping)
    return GST_FLOW_FLUSHING;
  if (st.stream.fatal)
    return GST_FLOW_ERROR;
  GstFlowReturn ret = self->priv->src_flow.load ();
  /* Our own EOS went out: whatever still arrives has nowhere to go. */
  return ret == GST_FLOW_EOS ? GST_FLOW_OK : ret;
}

/* Before its first frame the video counts as at the start, delivering
 * since its caps came: otherwise a fast audio thread could run far ahead
 * while the video pipeline is still starting. */
static bool
audio_far_ahead (GstGeminiTranscriber * self, const State & st, GstClockTime rt)
{
  const GstClockTime video = GST_CLOCK_TIME_IS_VALID (st.stream.video_position) ?
      st.stream.video_position : 0;
  return self->video_sink && st.input.video_caps && !st.stream.video_eos
      && rt >= video + AUDIO_LEAD_LIMIT
      && g_get_monotonic_time () - st.video_arrival_us < VIDEO_STALL_US;
}

/* Advances the audio side by one span [rt, rt + dur) with its `levels`;
 * `buf` and `levels` are null for GAP events. */
static GstFlowReturn
handle_audio_span (GstGeminiTranscriber * self, GstClockTime rt,
    GstClockTime dur, const gemini::AudioLevels * levels, GPtr<GstBuffer> buf)
{
  const double rms_db = levels ? levels->rms_db () : gemini::AudioEnvelope::SILENCE_DB;
  Private *priv = self->priv;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  GstFlowReturn ret = input_flow (self, st);
  if (ret != GST_FLOW_OK)
    return ret;

  /* The video already cuts the segments; two clocks would fight. */
  if (st.input.audio_absent) {
    GST_LOG_OBJECT (self, "audio after it was taken for absent: ignored");
    return GST_FLOW_OK;
  }
  query_upstream_latency (self, st, lk);
  st.stream.ever_audio = true;
  check_other_pad (self, st, true, rt, lk);

  if (!st.live && audio_far_ahead (self, st, rt)) {
    st.audio_waiting = true;
    while (!st.flushing && !st.stopping && !st.stream.fatal && audio_far_ahead (self, st, rt))
      priv->audio_cond.wait_for (lk, SRC_LOOP_GRANULARITY);
    st.audio_waiting = false;
    ret = input_flow (self, st);
    if (ret != GST_FLOW_OK)
      return ret;
  }

  if (st.stream.current && (st.stream.caps_changed
          || st.stream.segmenter.observe (rt, dur, rms_db))) {
    const guint max_concurrent = st.stream.current->settings.max_concurrent;
    close_segment (self, st, rt);
    drain_pending_video (st, false);
    dispatch_ready_segments (self, st);
    if (!wait_for_room (self, st, lk, max_concurrent))
      return input_flow (self, st);
  }
  if (!st.stream.current) {
    st.stream.caps_changed = false;
    if (!open_segment (self, st, rt, lk))
      return GST_FLOW_ERROR;
    st.stream.segmenter.observe (rt, dur, rms_db);
  }

  if (buf) {
    st.stream.current->encoder->push_audio (retimed (std::move (buf),
            rt - st.stream.current->start).get ());
    st.stream.current->fed = true;
  }
  if (st.stream.current->whole)
    st.stream.current->quiet.observe (rt - st.stream.current->start, dur, rms_db);
  if (auto & sound = st.stream.current->sound) {
    if (levels)
      sound->add (*levels);
    else
      sound->add_silence (rt, dur);
  }
  st.stream.audio_position = rt + dur;
  drain_pending_video (st, false);
  dispatch_ready_segments (self, st);
  /* Only the video thread waits for the audio to move on, on its own
   * condition variable: waking every worker and the src task for each
   * audio buffer cost more CPU than anything else the element did. */
  if (st.video_waiting)
    priv->video_cond.notify_one ();
  return GST_FLOW_OK;
}

GstFlowReturn
audio_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  GPtr<GstBuffer> owned (buf);
  GstClockTime rt, dur;
  gemini::AudioLevels levels;

  {
    std::unique_lock < std::mutex > lk (self->priv->state_lock);
    State & st = self->priv->state;
    if (!st.input.audio_info_valid || !st.input.have_audio_segment) {
      lk.unlock ();
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
          ("audio buffer before caps and segment"));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    const gsize size = gst_buffer_get_size (buf);
    dur = GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) :
        gst_util_uint64_scale (size / GST_AUDIO_INFO_BPF (&st.input.audio_info),
        GST_SECOND, GST_AUDIO_INFO_RATE (&st.input.audio_info));
    /* Buffers without timestamps continue where the previous one ended. */
    if (GST_BUFFER_PTS_IS_VALID (buf))
      rt = gst_segment_to_running_time (&st.input.audio_segment, GST_FORMAT_TIME,
          GST_BUFFER_PTS (buf));
    else
      rt = GST_CLOCK_TIME_IS_VALID (st.stream.audio_position) ? st.stream.audio_position : 0;
    if (!GST_CLOCK_TIME_IS_VALID (rt)) {
      GST_LOG_OBJECT (pad, "dropping audio outside the segment");
      return GST_FLOW_OK;
    }
    GstMapInfo map;
    if (!gst_buffer_map (buf, &map, GST_MAP_READ))
      return GST_FLOW_ERROR;
    levels = gemini::measure_audio (&st.input.audio_info, map.data, map.size, rt);
    gst_buffer_unmap (buf, &map);
  }
  if (dur == 0)
    return GST_FLOW_OK;
  return handle_audio_span (self, rt, dur, &levels, std::move (owned));
}

GstFlowReturn
video_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf)
{
  auto self = GST_GEMINI_TRANSCRIBER (parent);
  GPtr<GstBuffer> owned (buf);
  Private *priv = self->priv;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  GstFlowReturn ret = input_flow (self, st);
  if (ret != GST_FLOW_OK)
    return ret;
  if (!GST_BUFFER_PTS_IS_VALID (buf)) {
    GST_LOG_OBJECT (pad, "dropping video frame without timestamp");
    return GST_FLOW_OK;
  }
  GstClockTime rt = gst_segment_to_running_time (&st.input.video_segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return GST_FLOW_OK;

  if (!st.live) {
    /* Flush, stop and errors wake it too; anything else that ends the
     * wait is seen within SRC_LOOP_GRANULARITY. */
    st.video_waiting = true;
    while (!(st.flushing || st.stopping || st.stream.fatal || st.stream.audio_eos
            || !st.stream.ever_audio || !GST_CLOCK_TIME_IS_VALID (st.stream.audio_position)
            || rt < st.stream.audio_position + VIDEO_LEAD_LIMIT))
      priv->video_cond.wait_for (lk, SRC_LOOP_GRANULARITY);
    st.video_waiting = false;
    ret = input_flow (self, st);
    if (ret != GST_FLOW_OK)
      return ret;
  }

  check_other_pad (self, st, false, rt, lk);
  /* Video-only input: the frames' own clock decides the cuts. */
  const bool video_driven = !gst_pad_is_linked (self->audio_sink) || st.input.audio_absent
      || (st.stream.audio_eos && !st.stream.ever_audio);
  if (video_driven) {
    query_upstream_latency (self, st, lk);
    if (st.stream.current && st.stream.segmenter.observe_time (rt)) {
      const guint max_concurrent = st.stream.current->settings.max_concurrent;
      close_segment (self, st, rt);
      st.stream.video_position = rt;
      dispatch_ready_segments (self, st);
      if (!wait_for_room (self, st, lk, max_concurrent))
        return input_flow (self, st);
    }
    /* Frames held while it was not yet known that no audio would come
     * start the first segment, so cuts do not depend on thread timing. */
    const GstClockTime start = st.stream.pending_video.empty ()? rt :
        std::min (rt, st.stream.pending_video.front ().rt);
    if (!st.stream.current && !open_segment (self, st, start, lk))
      return GST_FLOW_ERROR;
    drain_pending_video (st, true);
  }

  /* Only frames the encoder will keep cross this point: the rest cost a
   * timestamp comparison, never a conversion. The sampling grid belongs to
   * the video stream alone: the audio thread may open segments far ahead. */
  const double fps = st.stream.current ? st.stream.current->settings.fps : gemini::defaults::FPS;
  const GstClockTime period = (GstClockTime) (GST_SECOND / fps);
  const GstClockTime end = rt + (GST_BUFFER_DURATION_IS_VALID (buf) ?
      GST_BUFFER_DURATION (buf) : 0);
  if (rt >= st.stream.next_video_sample || end > st.stream.next_video_sample) {
    st.stream.next_video_sample = (std::max (rt, st.stream.next_video_sample) / period + 1) *
        period;
    const guint max_side = st.stream.current ? st.stream.current->settings.max_video_side :
        settings_snapshot (self).max_video_side;
    SampledFrame f = sample_frame (st, rt, std::move (owned), max_side, lk);
    if ((ret = input_flow (self, st)) != GST_FLOW_OK)
      return ret;
    const bool routed = route_video_frame (st, f, video_driven);
    GST_LOG_OBJECT (pad, "frame at %" GST_TIME_FORMAT " %s", GST_TIME_ARGS (rt),
        routed ? "sent" : "held until the cut is known");
    if (!routed)
      st.stream.pending_video.push_back (std::move (f));
  }
  st.stream.video_position = end;
  st.video_arrival_us = g_get_monotonic_time ();
  dispatch_ready_segments (self, st);
  if (st.audio_waiting)
    priv->audio_cond.notify_one ();
  return GST_FLOW_OK;
}

void
on_eos (GstGeminiTranscriber * self, bool audio)
{
  std::unique_lock < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  if (audio) {
    st.stream.audio_eos = true;
    self->priv->video_cond.notify_all ();
    /* The whole audio has come, and the video not even started: the first
     * segment gave it its time. A started one may still bring its caps (a
     * short or empty audio track). */
    if (self->video_sink && gst_pad_is_linked (self->video_sink) && !st.input.video_started
        && !st.live && GST_CLOCK_TIME_IS_VALID (st.input.first_audio_rt))
      declare_absent (self, st, false, (GST_CLOCK_TIME_IS_VALID (st.stream.audio_position) ?
              st.stream.audio_position : st.input.first_audio_rt) - st.input.first_audio_rt, lk);
    wait_for_video_caps (self, st, lk);
  } else {
    st.stream.video_eos = true;
    st.stream.video_end = st.stream.video_position;
    st.stream.video_position = GST_CLOCK_TIME_NONE;
    self->priv->audio_cond.notify_all ();
    /* A short video-only input ends before ABSENT_AFTER: its frames, held
     * for the audio, make the segment. */
    if (gst_pad_is_linked (self->audio_sink) && !st.input.audio_started) {
      const GstClockTime delivered = GST_CLOCK_TIME_IS_VALID (st.stream.video_end)
          && GST_CLOCK_TIME_IS_VALID (st.input.first_video_rt) ?
          st.stream.video_end - st.input.first_video_rt : 0;
      declare_absent (self, st, true, delivered, lk);
      if (!st.stream.current && !st.stream.pending_video.empty ()
          && !open_segment (self, st, st.stream.pending_video.front ().rt, lk))
        return;
      drain_pending_video (st, true);
    }
  }

  const bool audio_done = st.stream.audio_eos || !gst_pad_is_linked (self->audio_sink)
      || st.input.audio_absent;
  /* A video pad that never got caps carries nothing worth waiting for. */
  const bool video_done = !self->video_sink || st.stream.video_eos
      || !gst_pad_is_linked (self->video_sink) || (audio && !st.input.video_caps);
  /* An audio track that ended before its first buffer cuts nothing: the
   * video may already be feeding the current segment, and from now on its
   * frames decide the cuts. */
  if (audio && st.stream.current && st.stream.ever_audio) {
    GstClockTime end = GST_CLOCK_TIME_IS_VALID (st.stream.audio_position) ?
        st.stream.audio_position : st.stream.current->start;
    close_segment (self, st, end);
  }
  if (audio_done && video_done) {
    if (st.stream.current) {
      GstClockTime end = GST_CLOCK_TIME_IS_VALID (st.stream.video_end) ?
          st.stream.video_end : st.stream.current->start;
      close_segment (self, st, end);
    }
    st.stream.pending_video.clear ();
    st.stream.eos_pending = true;
  }
  drain_pending_video (st, false);
  dispatch_ready_segments (self, st);
  self->priv->cond.notify_all ();
}


/* ---------------------------------------------------------------------- */
/* sink events, as gst_gemini_transcriber_sink_event dispatches them      */

void
note_pad_started (GstGeminiTranscriber * self, bool audio)
{
  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  InputState & in = self->priv->state.input;
  bool &started = audio ? in.audio_started : in.video_started;
  if (!started) {
    started = true;
    self->priv->cond.notify_all ();
  }
}

void
on_stream_start (GstGeminiTranscriber * self, bool audio, GstEvent * event)
{
  const gchar *id = nullptr;
  guint group;
  gst_event_parse_stream_start (event, &id);
  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  InputState & in = self->priv->state.input;
  /* The transcript derives from the audio; the video's stream names it
   * only when there is no audio. */
  if (audio || in.upstream_stream_id.empty ()) {
    in.upstream_stream_id = id ? id : "";
    in.have_group_id = gst_event_parse_group_id (event, &group);
    in.group_id = group;
  }
}

bool
on_caps (GstGeminiTranscriber * self, bool audio, GstCaps * caps)
{
  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  InputState & in = st.input;
  if (audio) {
    GstAudioInfo info;
    if (!gst_audio_info_from_caps (&info, caps))
      return false;
    if (in.audio_caps && !gst_caps_is_equal (in.audio_caps.get (), caps))
      st.stream.caps_changed = true;
    in.audio_info = info;
    in.audio_info_valid = true;
    in.audio_caps = gemini::ref_ptr (caps);
  } else {
    if (in.video_caps && !gst_caps_is_equal (in.video_caps.get (), caps))
      st.stream.caps_changed = true;
    if (!in.video_caps)
      st.video_arrival_us = g_get_monotonic_time ();
    in.video_caps = gemini::ref_ptr (caps);
  }
  self->priv->cond.notify_all ();
  return true;
}

bool
on_segment (GstGeminiTranscriber * self, bool audio, GstEvent * event)
{
  const GstSegment *segment;
  gst_event_parse_segment (event, &segment);
  if (segment->format != GST_FORMAT_TIME) {
    /* The sticky event comes back with every buffer: say it once. */
    bool first;
    {
      std::lock_guard < std::mutex > lk (self->priv->state_lock);
      first = !self->priv->state.stream.fatal;
      self->priv->state.stream.fatal = true;
    }
    if (first)
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("The transcriber needs timestamped input (a TIME segment)."),
          ("got a %s segment", gst_format_get_name (segment->format)));
    return false;
  }
  std::lock_guard < std::mutex > lk (self->priv->state_lock);
  InputState & in = self->priv->state.input;
  if (audio) {
    in.audio_segment = *segment;
    in.have_audio_segment = true;
    in.audio_segment_seqnum = gst_event_get_seqnum (event);
  } else {
    in.video_segment = *segment;
    in.have_video_segment = true;
    in.video_segment_seqnum = gst_event_get_seqnum (event);
  }
  self->priv->cond.notify_all ();
  return true;
}

/* An audio gap is silence the segmenter may cut in; a video gap moves the
 * video on, so that segments waiting for it are sent. */
void
on_gap (GstGeminiTranscriber * self, bool audio, GstEvent * event)
{
  GstClockTime ts, dur;
  gst_event_parse_gap (event, &ts, &dur);
  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return;
  std::unique_lock < std::mutex > lk (self->priv->state_lock);
  State & st = self->priv->state;
  if (audio) {
    if (!GST_CLOCK_TIME_IS_VALID (dur))
      return;
    const GstClockTime rt = gst_segment_to_running_time (&st.input.audio_segment,
        GST_FORMAT_TIME, ts);
    lk.unlock ();
    if (GST_CLOCK_TIME_IS_VALID (rt))
      handle_audio_span (self, rt, dur, nullptr, {});
    return;
  }
  const GstClockTime rt = gst_segment_to_running_time (&st.input.video_segment,
      GST_FORMAT_TIME, ts);
  if (GST_CLOCK_TIME_IS_VALID (rt)) {
    st.stream.video_position = rt + (GST_CLOCK_TIME_IS_VALID (dur) ? dur : 0);
    st.video_arrival_us = g_get_monotonic_time ();
  }
  dispatch_ready_segments (self, st);
  if (st.audio_waiting)
    self->priv->audio_cond.notify_one ();
}

void
on_tags (GstGeminiTranscriber * self, bool audio, GstEvent * event)
{
  GstTagList *tags;
  GstVideoOrientationMethod method;
  gst_event_parse_tag (event, &tags);
  if (!audio && gst_video_orientation_from_tag (tags, &method)) {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    GST_DEBUG_OBJECT (self, "video orientation %d", method);
    self->priv->state.input.video_orientation = method;
  }
}

}  // namespace transcriber
