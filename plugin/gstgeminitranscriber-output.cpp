/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The src pad task: outcomes leave in segment order as cues (text buffers
 * with a GeminiTranscriptMeta), speaker tags and speaker-change events,
 * and gaps over the time nothing was said, all in the input's own
 * timeline; then the gemini-segment message of each segment, and EOS. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgeminitranscriber-private.h"

#include <algorithm>

#include "gstgeminimeta.h"
#include "transcript_json.h"

namespace transcriber {

static bool
negotiate_src (GstGeminiTranscriber * self, OutputState & out)
{
  GPtr<GstCaps> templ (gst_pad_get_pad_template_caps (self->src));
  GPtr<GstCaps> peer (gst_pad_peer_query_caps (self->src, templ.get ()));
  GPtr<GstCaps> caps (gst_caps_intersect_full (templ.get (), peer.get (),
          GST_CAPS_INTERSECT_FIRST));
  if (gst_caps_is_empty (caps.get ())) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("downstream accepts neither utf8 nor pango-markup text: %"
            GST_PTR_FORMAT, peer.get ()));
    return false;
  }
  caps.reset (gst_caps_fixate (caps.release ()));
  const gchar *format = gst_structure_get_string (gst_caps_get_structure
      (caps.get (), 0), "format");
  out.markup = g_strcmp0 (format, "pango-markup") == 0;
  return gst_pad_push_event (self->src, gst_event_new_caps (caps.get ()));
}

/* The `language` property when set (the transcript is written in it),
 * else the language the model heard. */
std::string
output_language (GstGeminiTranscriber * self, const OutputState & out)
{
  std::string language = settings_snapshot (self).language;
  return language.empty ()? out.spoken_language : language;
}

/* The input's segment moved so that a position in it is the stream time:
 * demuxers start their segments where the file's own timeline starts
 * (after an edit list, an encoder's priming samples), and writers that read
 * the PTS alone (srtenc, webvttenc) would otherwise be that far off. The
 * running time of every position is unchanged. */
static GstSegment
in_stream_time (const GstSegment & in)
{
  GstSegment out = in;
  if (in.rate < 0 || !GST_CLOCK_TIME_IS_VALID (in.time) || in.time == in.start)
    return out;
  out.start = in.time;
  if (GST_CLOCK_TIME_IS_VALID (in.stop))
    out.stop = in.stop >= in.start ? in.stop - in.start + in.time : in.time;
  out.position = in.position >= in.start ? in.position - in.start + in.time : in.time;
  return out;
}

static bool
send_sticky_events (GstGeminiTranscriber * self, OutputState & out)
{
  std::string stream_id, language;
  guint group_id = 0;
  bool have_group = false;
  guint32 seqnum;
  {
    std::lock_guard < std::mutex > lk (self->priv->state_lock);
    const State & st = self->priv->state;
    stream_id = st.input.upstream_stream_id;
    group_id = st.input.group_id;
    have_group = st.input.have_group_id;
    /* Video-only input: the cues live in the video's timeline. */
    const bool from_video = !st.input.have_audio_segment && st.input.have_video_segment;
    out.segment = in_stream_time (from_video ? st.input.video_segment : st.input.audio_segment);
    seqnum = from_video ? st.input.video_segment_seqnum : st.input.audio_segment_seqnum;
  }
  language = output_language (self, out);

  /* A derived id, as a demuxer would make: one upstream stream split in
   * two. With two sink pads GStreamer cannot derive one for us. */
  gchar *id = stream_id.empty ()?
      g_strdup_printf ("%08x%08x%08x%08x/transcript", g_random_int (),
      g_random_int (), g_random_int (), g_random_int ()) :
      g_strdup_printf ("%s/transcript", stream_id.c_str ());
  GstEvent *ev = gst_event_new_stream_start (id);
  g_free (id);
  gst_event_set_stream_flags (ev, GST_STREAM_FLAG_SPARSE);
  if (have_group)
    gst_event_set_group_id (ev, group_id);
  gst_pad_push_event (self->src, ev);

  if (!negotiate_src (self, out))
    return false;

  out.lateness = settings_snapshot (self).lateness * GST_MSECOND;
  out.segment.base += out.lateness;
  ev = gst_event_new_segment (&out.segment);
  if (seqnum != GST_SEQNUM_INVALID)
    gst_event_set_seqnum (ev, seqnum);
  gst_pad_push_event (self->src, ev);
  gst_pad_push_event (self->src, gst_event_new_tag (make_tag_list (language,
              nullptr)));
  out.sticky_sent = true;
  return true;
}

/* Input running time to a position in the output segment, whose base was
 * moved by `lateness`: the PTS stays that of the input, the running time
 * (what sinks synchronise on) moves. */
GstClockTime
to_position (const OutputState & out, GstClockTime rt)
{
  return gst_segment_position_from_running_time (&out.segment, GST_FORMAT_TIME,
      rt + out.lateness);
}

/* The input running time of the segment's stop; NONE when open-ended. */
static GstClockTime
stream_end (const OutputState & out)
{
  GstClockTime rt = gst_segment_to_running_time (&out.segment, GST_FORMAT_TIME,
      out.segment.stop);
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return GST_CLOCK_TIME_NONE;
  return rt > out.lateness ? rt - out.lateness : 0;
}

static void
push_gap (GstGeminiTranscriber * self, OutputState & out, GstClockTime until)
{
  if (!GST_CLOCK_TIME_IS_VALID (until) || until <= out.position)
    return;
  GstClockTime from = to_position (out, out.position);
  GstClockTime to = to_position (out, until);
  if (GST_CLOCK_TIME_IS_VALID (from) && GST_CLOCK_TIME_IS_VALID (to) && to > from)
    gst_pad_push_event (self->src, gst_event_new_gap (from, to - from));
  out.position = until;
}

/* A live cue that leaves after its running time plus the reported latency
 * reaches the sink too late to be shown on time: counted, not hidden. */
static void
count_if_late (GstGeminiTranscriber * self, OutputState & out, GstClockTime start)
{
  if (!GST_CLOCK_TIME_IS_VALID (out.live_budget))
    return;
  GPtr<GstClock> clock (gst_element_get_clock (GST_ELEMENT (self)));
  if (!clock)
    return;
  const GstClockTime now = gst_clock_get_time (clock.get ())
      - gst_element_get_base_time (GST_ELEMENT (self));
  /* Sinks add their processing deadline: the pipeline's latency, once
   * configured, is what they render at. It may come while a push blocks. */
  const GstClockTime configured = self->priv->pipeline_latency;
  const GstClockTime budget = GST_CLOCK_TIME_IS_VALID (configured) ?
      std::max (out.live_budget, configured) : out.live_budget;
  const GstClockTime due = start + out.lateness + budget + LATE_TOLERANCE;
  if (now > due) {
    out.late_cues++;
    GST_WARNING_OBJECT (self, "cue at %" GST_TIME_FORMAT " left %" GST_TIME_FORMAT
        " after its time", GST_TIME_ARGS (start), GST_TIME_ARGS (now - due));
  }
}

static GstFlowReturn
push_cue (GstGeminiTranscriber * self, OutputState & out,
    const gemini::Cue & cue, guint64 seq)
{
  /* The previous segment's last cue may run into this one: a cue starts
   * once it is gone, and one that would vanish entirely keeps its length
   * rather than its time. Text is never dropped. */
  GstClockTime start = std::max (cue.pts, out.position);
  GstClockTime end = cue.pts + cue.duration;
  if (end <= start)
    end = start + cue.duration;

  /* Nothing exists past the segment's stop (a position there is NONE), yet
   * the model may place rows there: such a cue ends at the stop, starting
   * earlier if it must to be seen, and is dropped when no time is left. */
  const GstClockTime stop = stream_end (out);
  if (GST_CLOCK_TIME_IS_VALID (stop) && end > stop) {
    end = stop;
    start = std::max (out.position, end > cue.duration ? end - cue.duration : 0);
    if (start >= end) {
      out.past_end_dropped++;
      GST_DEBUG_OBJECT (self, "cue past the stream's end dropped: %s", cue.text.c_str ());
      return GST_FLOW_OK;
    }
    out.past_end_cut++;
  }

  /* Before the gap: a synchronising sink holds that push until the gap's
   * own time, which may be a moment before this cue's. */
  count_if_late (self, out, start);
  push_gap (self, out, start);

  const gemini::RegisteredSpeaker *sp = out.assembly.find (cue.speaker_id);
  if (cue.speaker_id != out.current_speaker && sp) {
    out.current_speaker = cue.speaker_id;
    const std::string label = out.assembly.label (sp->id);
    gst_pad_push_event (self->src, gst_event_new_tag (make_tag_list
            (output_language (self, out), sp)));
    gst_pad_push_event (self->src,
        gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
            gst_structure_new ("rstranscribe/speaker-change",
                "speaker", G_TYPE_STRING, label.c_str (), NULL)));
  }

  const std::string & text = out.markup ? cue.markup : cue.text;
  GstBuffer *buf = gst_buffer_new_memdup (text.data (), text.size ());
  GstClockTime pos = to_position (out, start);
  GST_BUFFER_PTS (buf) = pos;
  GST_BUFFER_DURATION (buf) = to_position (out, end) - pos;
  if (out.discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    out.discont = false;
  }

  GstCustomMeta *meta = gst_buffer_add_custom_meta (buf,
      GST_GEMINI_TRANSCRIPT_META_NAME);
  GstStructure *ms = gst_custom_meta_get_structure (meta);
  const gemini::Speaker empty;
  const gemini::Speaker & info = sp ? sp->info : empty;
  gst_structure_set (ms,
      "voice", G_TYPE_STRING, cue.voice.c_str (),
      "speaker-id", G_TYPE_STRING, cue.speaker_id.c_str (),
      "name", G_TYPE_STRING, gemini::or_unknown (info.name).c_str (),
      "company", G_TYPE_STRING, gemini::or_unknown (info.company).c_str (),
      "position", G_TYPE_STRING, gemini::or_unknown (info.position).c_str (),
      "role", G_TYPE_STRING, gemini::or_unknown (info.role_in_video).c_str (),
      "segment", G_TYPE_UINT64, seq,
      "text", G_TYPE_STRING, cue.text.c_str (), NULL);

  out.position = end;
  GST_LOG_OBJECT (self, "cue %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT ": %s",
      GST_TIME_ARGS (pos), GST_TIME_ARGS (GST_BUFFER_DURATION (buf)),
      cue.text.c_str ());
  return gst_pad_push (self->src, buf);
}

/* stream-cues: cues for rows of segment `seq` [start, end) whose answer is
 * still streaming. The speakers table comes after the rows, so these cues
 * carry no speaker yet; the segment's message names them once it is done. */
static GstFlowReturn
output_streamed_rows (GstGeminiTranscriber * self, OutputState & out,
    guint64 seq, const CutSegment & cut, const std::vector<gemini::Utterance> &rows)
{
  if (out.streamed_seq != seq || out.streamed_rows == 0) {
    out.streamed_seq = seq;
    out.streamed_rows = 0;
  }
  out.streamed_rows += rows.size ();

  GstFlowReturn ret = GST_FLOW_OK;
  if (cut.cue_gap > 0)
    out.assembly.set_min_gap (cut.cue_gap);
  for (const auto & cue : out.assembly.add_streaming (rows, cut.start, cut.end,
          cut.sound.get ())) {
    ret = push_cue (self, out, cue, seq);
    if (ret != GST_FLOW_OK)
      break;
  }
  return ret;
}

/* `cut`: what close_segment () recorded of the segment (its sound, the gap
 * between cues); a default one when nothing was. */
static GstFlowReturn
output_outcome (GstGeminiTranscriber * self, OutputState & out, Outcome & o,
    const CutSegment & cut)
{
  const gemini::SegmentTranscript & transcript = o.job.clip.transcript;
  gemini::AssembledSegment assembled;
  std::string transcript_json = "{}";

  if (o.status == Status::Ok) {
    if (!transcript.language.empty () && transcript.language != out.spoken_language) {
      out.spoken_language = transcript.language;
      const gemini::RegisteredSpeaker *sp = out.assembly.find (out.current_speaker);
      gst_pad_push_event (self->src,
          gst_event_new_tag (make_tag_list (output_language (self, out), sp)));
    }
    /* Rows already pushed while the answer streamed are not cued twice. */
    if (cut.cue_gap > 0)
      out.assembly.set_min_gap (cut.cue_gap);
    assembled = out.assembly.add (transcript, o.start, o.end,
        out.streamed_seq == o.seq ? out.streamed_rows : 0, cut.sound.get ());
    transcript_json = gemini::write_segment_transcript (assembled.utterances,
        assembled.speakers, assembled.ids);
    if (assembled.speakers_changed) {
      {
        std::lock_guard < std::mutex > lk (self->priv->state_lock);
        self->priv->state.known_speakers = out.assembly.registry ().known ();
      }
      post_speakers_message (self, out.assembly.registry ());
    }
  } else if (o.status == Status::Failed || o.status == Status::Blocked) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Segment %" G_GUINT64_FORMAT " could not be transcribed; its time is "
            "covered by a gap.", o.seq), ("%s", o.job.clip.error.c_str ()));
  } else if (o.status == Status::Late) {
    GST_INFO_OBJECT (self, "segment %" G_GUINT64_FORMAT " missed its deadline",
        o.seq);
  }

  GstFlowReturn ret = GST_FLOW_OK;
  const guint dropped_before = out.past_end_dropped;
  for (const auto & cue : assembled.cues) {
    ret = push_cue (self, out, cue, o.seq);
    if (ret != GST_FLOW_OK)
      break;
  }
  if (ret == GST_FLOW_OK)
    push_gap (self, out, o.end);

  post_segment_message (self, o, out, transcript_json,
      (guint) assembled.cues.size () - (out.past_end_dropped - dropped_before));
  return ret;
}

/* Live: the next segment, given up once its deadline has passed, so that
 * everything downstream keeps flowing: its time becomes a gap, and its
 * answer is dropped if it comes. */
static std::optional<Outcome>
past_deadline (GstGeminiTranscriber * self, const State & st)
{
  auto cut = st.stream.cut_segments.find (st.stream.next_out);
  if (cut == st.stream.cut_segments.end ())
    return std::nullopt;
  GPtr<GstClock> clock (gst_element_get_clock (GST_ELEMENT (self)));
  if (!clock)
    return std::nullopt;
  const GstClockTime now = gst_clock_get_time (clock.get ())
      - gst_element_get_base_time (GST_ELEMENT (self));
  const GstClockTime start = cut->second.start, end = cut->second.end;
  /* The reported latency, counted from the segment's start: a cue at its
   * very start is then still in time. */
  const GstClockTime deadline = start + st.upstream_min +
      live_latency (settings_snapshot (self));
  if (now < deadline)
    return std::nullopt;
  Outcome late;
  late.seq = st.stream.next_out;
  late.start = start;
  late.end = end;
  late.status = Status::Late;
  late.job.clip.error = "no answer before the live deadline";
  return late;
}

void
src_loop (GstGeminiTranscriber * self)
{
  Private *priv = self->priv;
  OutputState & out = priv->out;
  std::unique_lock < std::mutex > lk (priv->state_lock);
  State & st = priv->state;

  if (st.flushing || st.stopping) {
    gst_pad_pause_task (self->src);
    return;
  }

  auto it = st.stream.done.find (st.stream.next_out);
  std::optional<Outcome> outcome;
  bool eos = false;
  if (it != st.stream.done.end ()) {
    outcome = std::move (it->second);
    st.stream.done.erase (it);
  } else if (st.stream.eos_pending && st.stream.next_out == st.stream.next_seq
      && !st.stream.current) {
    eos = true;
  } else if (st.live) {
    outcome = past_deadline (self, st);
  }

  std::vector<gemini::Utterance> streamed;
  const guint64 streamed_seq = st.stream.next_out;
  CutSegment cut;
  if (!outcome && !eos && st.stream.streamed.count (streamed_seq)
      && st.stream.cut_segments.count (streamed_seq)) {
    streamed = std::move (st.stream.streamed[streamed_seq]);
    st.stream.streamed.erase (streamed_seq);
    cut = st.stream.cut_segments[streamed_seq];
  } else if (outcome && st.stream.cut_segments.count (outcome->seq)) {
    cut = st.stream.cut_segments[outcome->seq];
  }

  /* Caps and segment go out as soon as the input has a segment, not with
   * the first cue: muxers write their headers (and prerolling sinks
   * complete) only once every stream has caps. */
  const bool announce = !out.sticky_sent && (st.input.have_audio_segment
      || st.input.have_video_segment);
  if (!outcome && !eos && !announce && streamed.empty ()) {
    priv->cond.wait_for (lk, SRC_LOOP_GRANULARITY);
    return;
  }
  out.live_budget = st.live ? st.upstream_min + live_latency (settings_snapshot (self)) :
      GST_CLOCK_TIME_NONE;
  lk.unlock ();

  GstFlowReturn ret = GST_FLOW_OK;
  if (!out.sticky_sent && !send_sticky_events (self, out))
    ret = GST_FLOW_NOT_NEGOTIATED;
  if (ret == GST_FLOW_OK && !streamed.empty ())
    ret = output_streamed_rows (self, out, streamed_seq, cut, streamed);
  if (ret == GST_FLOW_OK && outcome)
    ret = output_outcome (self, out, *outcome, cut);
  if (ret == GST_FLOW_OK && eos) {
    GstEvent *ev = gst_event_new_eos ();
    lk.lock ();
    if (st.input.audio_segment_seqnum != GST_SEQNUM_INVALID)
      gst_event_set_seqnum (ev, st.input.audio_segment_seqnum);
    lk.unlock ();
    /* An EOS nobody receives would leave the pipeline waiting for ever. */
    const bool linked = gst_pad_is_linked (self->src);
    gst_pad_push_event (self->src, ev);
    ret = linked ? GST_FLOW_EOS : GST_FLOW_NOT_LINKED;
  }

  lk.lock ();
  if (outcome) {
    StreamState & stream = st.stream;
    stream.cut_segments.erase (outcome->seq);
    stream.next_out = outcome->seq + 1;
    stream.done.erase (stream.done.begin (), stream.done.lower_bound (stream.next_out));
    stream.streamed.erase (stream.streamed.begin (),
        stream.streamed.lower_bound (stream.next_out));
    if (stream.in_flight > 0)
      stream.in_flight--;
  }
  /* A downstream that has finished does not stop the messages:
   * applications may only want those (they link a fakesink). An unlinked
   * src pad is the usual not-linked error. */
  if (ret == GST_FLOW_EOS && !eos)
    ret = GST_FLOW_OK;
  priv->src_flow = ret;
  priv->cond.notify_all ();
  if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (self, "pausing src task: %s", gst_flow_get_name (ret));
    if (ret == GST_FLOW_NOT_LINKED || ret == GST_FLOW_NOT_NEGOTIATED || ret < GST_FLOW_EOS)
      GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_pad_pause_task (self->src);
  }
}

}  // namespace transcriber
