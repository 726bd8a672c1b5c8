/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live latency of geminitranscriber: a live audio source (ticks, so the
 * segmenter finds pauses as in speech) runs for SECONDS against the Gemini
 * emulator at URL; every cue is timed when it reaches the sink. Prints one
 * line of key=value pairs:
 *
 *   cues=N p50=S p95=S max=S first_cue=S segments=N mean_segment=S
 *
 * latency (p50/p95/max) = running time at the sink - the cue's running time
 * (the start of the words it shows); first_cue = running time at which the
 * first cue arrived.
 *
 *   bench-live-latency URL SECONDS SEGMENT_MS STREAM_CUES(0|1)
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <gst/gst.h>

#include "glib_ptr.h"

using gemini::GPtr;

namespace {

struct Timings {
  std::mutex lock;
  GstSegment segment;
  std::vector<double> latencies;
  double first_cue = -1;
  std::vector<double> segment_durations;
};

GstPadProbeReturn
on_sink_data (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto t = static_cast<Timings *> (data);
  std::lock_guard<std::mutex> lk (t->lock);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT)
      gst_event_copy_segment (ev, &t->segment);
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GPtr<GstElement> sink (gst_pad_get_parent_element (pad));
  GstClock *clock = gst_element_get_clock (sink.get ());
  if (clock == nullptr)
    return GST_PAD_PROBE_OK;
  const GstClockTime now = gst_clock_get_time (clock) - gst_element_get_base_time (sink.get ());
  gst_object_unref (clock);
  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return GST_PAD_PROBE_OK;
  const GstClockTime cue = gst_segment_to_running_time (&t->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (t->first_cue < 0)
    t->first_cue = double (now) / GST_SECOND;
  t->latencies.push_back ((double (now) - double (cue)) / GST_SECOND);
  return GST_PAD_PROBE_OK;
}

GstBusSyncReply
on_bus (GstBus *, GstMessage *msg, gpointer data)
{
  auto t = static_cast<Timings *> (data);
  const GstStructure *s = gst_message_get_structure (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s != nullptr
      && gst_structure_has_name (s, "gemini-segment")) {
    guint64 duration = 0;
    gst_structure_get_uint64 (s, "duration", &duration);
    std::lock_guard<std::mutex> lk (t->lock);
    t->segment_durations.push_back (double (duration) / GST_SECOND);
  }
  return GST_BUS_PASS;
}

double
percentile (std::vector<double> v, double p)
{
  if (v.empty ())
    return -1;
  std::sort (v.begin (), v.end ());
  const gsize i = std::min (v.size () - 1, gsize (p * double (v.size () - 1) + 0.5));
  return v[i];
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (argc != 5) {
    g_printerr ("usage: %s URL SECONDS SEGMENT_MS STREAM_CUES\n", argv[0]);
    return 2;
  }
  const double seconds = g_ascii_strtod (argv[2], nullptr);

  GPtr<gchar> desc (g_strdup_printf ("audiotestsrc is-live=true wave=ticks volume=0.5 "
          "! audio/x-raw,rate=16000,channels=1 ! geminitranscriber name=t api-key=test-key "
          "api-endpoint=%s segment-duration=%s stream-cues=%s ! fakesink name=sink sync=false",
          argv[1], argv[3], g_str_equal (argv[4], "1") ? "true" : "false"));
  GError *err = nullptr;
  GPtr<GstElement> pipeline (gst_parse_launch (desc.get (), &err));
  if (pipeline == nullptr) {
    g_printerr ("cannot build the pipeline: %s\n", err ? err->message : "?");
    g_clear_error (&err);
    return 1;
  }

  Timings t;
  gst_segment_init (&t.segment, GST_FORMAT_TIME);
  GPtr<GstElement> sink (gst_bin_get_by_name (GST_BIN (pipeline.get ()), "sink"));
  GPtr<GstPad> pad (gst_element_get_static_pad (sink.get (), "sink"));
  gst_pad_add_probe (pad.get (), GstPadProbeType (GST_PAD_PROBE_TYPE_BUFFER
          | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), on_sink_data, &t, nullptr);
  GPtr<GstBus> bus (gst_element_get_bus (pipeline.get ()));
  gst_bus_set_sync_handler (bus.get (), on_bus, &t, nullptr);

  gst_element_set_state (pipeline.get (), GST_STATE_PLAYING);
  /* Run for SECONDS, then EOS: the last segments drain before the end. */
  GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus.get (),
          GstClockTime (seconds * GST_SECOND), GST_MESSAGE_ERROR));
  if (msg == nullptr) {
    gst_element_send_event (pipeline.get (), gst_event_new_eos ());
    msg.reset (gst_bus_timed_pop_filtered (bus.get (), 60 * GST_SECOND,
            GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  }
  const bool ok = msg != nullptr && GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_EOS;
  if (!ok && msg != nullptr) {
    GError *e = nullptr;
    gst_message_parse_error (msg.get (), &e, nullptr);
    g_printerr ("pipeline error: %s\n", e->message);
    g_error_free (e);
  }
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  gst_bus_set_sync_handler (bus.get (), nullptr, nullptr, nullptr);

  std::lock_guard<std::mutex> lk (t.lock);
  double mean_segment = 0;
  for (double d : t.segment_durations)
    mean_segment += d / double (t.segment_durations.size ());
  std::printf ("cues=%zu p50=%.2f p95=%.2f max=%.2f first_cue=%.2f segments=%zu "
      "mean_segment=%.2f\n", t.latencies.size (), percentile (t.latencies, 0.5),
      percentile (t.latencies, 0.95), percentile (t.latencies, 1.0), t.first_cue,
      t.segment_durations.size (), mean_segment);
  return ok && !t.latencies.empty () ? 0 : 1;
}
