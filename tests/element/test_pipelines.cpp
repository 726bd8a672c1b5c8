/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* geminitranscriber in real pipelines against the Gemini emulator: a
 * generated two-speaker A/V interview in, cues checked against the script,
 * and every consumer the element promises to feed (srtenc, webvttenc,
 * matroskamux, mp4mux, textoverlay burn-in) re-read from its output. */
/* The C++ headers come first: gstcheck.h defines macros (fail...) that
 * would clash with the standard library's names. */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"
#include "malloc_arenas.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

using namespace gemini::test;
using gemini::GPtr;

namespace {

constexpr guint SEGMENT_MS = 4000;
constexpr guint TIMEOUT_S = 120;

/* `sink` is the end of the launch line after the transcriber. */
GstElement *
interview_pipeline (const Emulator &emu, const std::string &sink,
    const std::string &transcriber_extra = "")
{
  const guint frames = (guint) (INTERVIEW_SECONDS * 30);
  gchar *desc = g_strdup_printf (
      "appsrc name=audio format=time max-bytes=0 caps=%s ! queue ! t.audio_sink "
      "videotestsrc num-buffers=%u pattern=smpte ! "
      "video/x-raw,width=1280,height=720,framerate=30/1 ! "
      "textoverlay text=\"Alice Martin, Acme Media\" valignment=top ! "
      "queue ! t.video_sink "
      "geminitranscriber name=t api-key=test-key api-endpoint=%s mode=streaming "
      "segment-duration=%u max-concurrent-requests=2 %s ! %s",
      SPEECH_CAPS, frames, emu.url ().c_str (), SEGMENT_MS,
      transcriber_extra.c_str (), sink.c_str ());
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  fail_unless (pipeline != nullptr, "%s", err ? err->message : "");

  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "audio");
  for (GstClockTime t = 0; t < INTERVIEW_SECONDS * GST_SECOND;
      t += 100 * GST_MSECOND)
    gst_app_src_push_buffer (GST_APP_SRC (src), speech_buffer (interview_lines (), t));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
  return pipeline;
}

const char *
speaker_name (const char *id)
{
  return g_str_equal (id, "alice") ? "Alice Martin" : "Bob Chen";
}

/* Every script line appears in exactly one cue, near its time, said by the
 * right named speaker. */
void
check_cues_against_script (const std::vector<Cue> &cues)
{
  for (const auto &line : interview_lines ()) {
    guint found = 0;
    for (const auto &c : cues) {
      if (c.text.find (line.text) == std::string::npos)
        continue;
      found++;
      const double pts = (double) c.pts / GST_SECOND;
      fail_unless (std::fabs (pts - line.start) <= 0.501,
          "\"%s\" at %.3f s, script says %.3f s", line.text, pts, line.start);
      fail_unless_equals_string (c.name.c_str (), speaker_name (line.speaker));
    }
    fail_unless_equals_int (found, 1);
  }
  for (size_t i = 1; i < cues.size (); i++)
    fail_unless (cues[i].pts >= cues[i - 1].pts + cues[i - 1].duration,
        "cue %zu overlaps the previous one", i);
}

}  // namespace

GST_START_TEST (test_av_interview_cues_match_script)
{
  Emulator emu (interview_script (interview_lines ()));
  GstElement *pipeline = interview_pipeline (emu,
      "appsink name=out sync=false");
  CueCollector collector (pipeline);
  std::vector<GstStructure *> messages;
  std::string error = run_to_eos (pipeline, TIMEOUT_S, &messages);
  fail_unless (error.empty (), "%s", error.c_str ());

  std::vector<Cue> cues = collector.take ();
  check_cues_against_script (cues);
  /* The label is printed when the speaker changes: the first cue names Alice. */
  fail_unless (g_str_has_prefix (cues.front ().text.c_str (), "Alice Martin: "));

  /* Segments tile the stream: contiguous, each one a request. */
  std::vector<std::pair<double, double>> plan, sent;
  for (GstStructure *s : messages) {
    if (!gst_structure_has_name (s, "gemini-segment"))
      continue;
    guint64 start, duration;
    fail_unless (gst_structure_get_uint64 (s, "running-time", &start));
    fail_unless (gst_structure_get_uint64 (s, "duration", &duration));
    if (!plan.empty ())
      fail_unless (std::fabs (plan.back ().second - (double) start / GST_SECOND) < 1e-6);
    plan.emplace_back ((double) start / GST_SECOND,
        (double) (start + duration) / GST_SECOND);
    /* A tail without sound is not worth a request. */
    const gchar *status = gst_structure_get_string (s, "status");
    if (g_str_equal (status, "ok"))
      sent.push_back (plan.back ());
    else
      fail_unless_equals_string (status, "silent");
  }
  fail_unless (sent.size () >= 3, "only %zu segments sent", sent.size ());
  fail_unless (std::fabs (plan.front ().first) < 0.2);
  fail_unless (std::fabs (plan.back ().second - INTERVIEW_SECONDS) < 0.2);

  /* What was really sent: one request per segment, each a WebM of the
   * segment's length with 1 fps video no larger than 768 px and Opus. */
  GPtr<JsonNode> log = emu.log ();
  auto requests = generate_requests (log.get ());
  fail_unless_equals_int (requests.size (), sent.size ());
  for (JsonObject *r : requests) {
    JsonObject *clip = json_object_get_object_member (r, "clip");
    const double clip_start = json_object_get_double_member (clip, "start");
    const auto seg = std::find_if (sent.begin (), sent.end (), [&](auto &p) {
          return std::fabs (p.first - clip_start) < 0.002;});
    fail_unless (seg != sent.end (), "request for an unplanned clip at %f", clip_start);

    JsonArray *media = json_object_get_array_member (r, "media");
    fail_unless_equals_int (json_array_get_length (media), 1);
    JsonObject *m = json_array_get_object_element (media, 0);
    fail_unless (json_object_get_boolean_member (m, "decodable"));
    const double duration = json_object_get_double_member (m, "duration_s");
    fail_unless (std::fabs (duration - (seg->second - seg->first)) <= 0.5,
        "sent %.3f s for a %.3f s segment", duration, seg->second - seg->first);
    fail_unless (json_object_get_boolean_member (m, "has_video"), "%s",
        json_to_string (json_array_get_element (media, 0), FALSE));
    fail_unless (std::fabs (json_object_get_double_member (m, "fps") - 1.0) <= 0.35,
        "fps %f", json_object_get_double_member (m, "fps"));
    fail_unless (json_object_get_int_member (m, "width") <= 768);
    fail_unless (json_object_get_int_member (m, "height") <= 768);
    fail_unless_equals_string (json_object_get_string_member (m, "mime"), "video/webm");
    fail_unless_equals_string (json_object_get_string_member (m, "audio_codec"),
        "audio/x-opus");
    fail_unless_equals_string (json_object_get_string_member (m, "video_codec"),
        "video/x-vp8");
    fail_unless_equals_int (json_object_get_int_member (m, "audio_channels"), 1);

    JsonArray *vm = json_object_get_array_member (r, "video_metadata");
    fail_unless_equals_int (json_array_get_length (vm), 1);
    fail_unless (json_object_get_double_member (json_array_get_object_element (vm, 0),
            "fps") == 1.0);
  }

  for (GstStructure *s : messages)
    gst_structure_free (s);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* Re-reads a subtitle file with subparse: the cues and their times. */
static std::vector<Cue>
parse_subtitle_file (const std::string &path)
{
  gchar *desc = g_strdup_printf ("filesrc location=%s ! subparse ! "
      "appsink name=out sync=false", path.c_str ());
  GstElement *pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  CueCollector collector (pipeline);
  std::string error = run_to_eos (pipeline, 30, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());
  std::vector<Cue> cues = collector.take ();
  gst_object_unref (pipeline);
  return cues;
}

/* `shift` is what the container moved every cue by (see the MP4 test). */
static void
check_file_cues (const std::vector<Cue> &cues, double shift = 0.0)
{
  guint n = 0;
  for (const auto &line : interview_lines ()) {
    for (const auto &c : cues) {
      if (c.text.find (line.text) == std::string::npos)
        continue;
      n++;
      fail_unless (std::fabs ((double) c.pts / GST_SECOND + shift - line.start) <= 0.501,
          "\"%s\" at %" GST_TIME_FORMAT, line.text, GST_TIME_ARGS (c.pts));
      fail_unless (c.duration > 0);
    }
  }
  fail_unless_equals_int (n, interview_lines ().size ());
}

static std::string
temp_path (const char *name)
{
  gchar *dir = g_dir_make_tmp ("gemini-XXXXXX", nullptr);
  gchar *path = g_build_filename (dir, name, nullptr);
  std::string p (path);
  g_free (path);
  g_free (dir);
  return p;
}

/* Nothing linked to the text: the usual not-linked error, in either mode,
 * not a pipeline that waits for an EOS nobody can receive. */
GST_START_TEST (test_unlinked_src_is_not_linked_error)
{
  Emulator emu (interview_script (interview_lines ()));
  for (const char *mode : {"whole", "streaming"}) {
    gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=200 ! audioconvert ! "
        "geminitranscriber api-key=test-key api-endpoint=%s mode=%s", emu.url ().c_str (),
        mode);
    GstElement *pipeline = gst_parse_launch (desc, nullptr);
    g_free (desc);
    fail_unless (pipeline != nullptr);
    const std::string error = run_to_eos (pipeline, 30, nullptr);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
    fail_unless (error.find ("not-linked") != std::string::npos, "%s: %s", mode,
        error.c_str ());
  }
}
GST_END_TEST;

GST_START_TEST (test_srt_file)
{
  Emulator emu (interview_script (interview_lines ()));
  std::string path = temp_path ("out.srt");
  GstElement *pipeline = interview_pipeline (emu,
      "srtenc ! filesink location=" + path);
  std::string error = run_to_eos (pipeline, TIMEOUT_S, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());
  gst_object_unref (pipeline);
  check_file_cues (parse_subtitle_file (path));
}
GST_END_TEST;

GST_START_TEST (test_webvtt_file)
{
  Emulator emu (interview_script (interview_lines ()));
  std::string path = temp_path ("out.vtt");
  GstElement *pipeline = interview_pipeline (emu,
      "webvttenc ! filesink location=" + path);
  std::string error = run_to_eos (pipeline, TIMEOUT_S, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());
  gst_object_unref (pipeline);

  gchar *contents = nullptr;
  fail_unless (g_file_get_contents (path.c_str (), &contents, nullptr, nullptr));
  fail_unless (g_str_has_prefix (contents, "WEBVTT"));
  g_free (contents);
  check_file_cues (parse_subtitle_file (path));
}
GST_END_TEST;

/* A container with the transcript as a subtitle track next to the
 * generated audio; read back through the demuxer. */
static void
check_muxed_subtitles (const char *mux, const char *demux, const char *file,
    bool keeps_leading_offset = true)
{
  Emulator emu (interview_script (interview_lines ()));
  std::string path = temp_path (file);
  const guint frames = (guint) (INTERVIEW_SECONDS * 30);
  gchar *desc = g_strdup_printf (
      "appsrc name=audio format=time max-bytes=0 caps=%s ! tee name=at "
      "at. ! queue ! t.audio_sink "
      /* The muxer interleaves by time: the audio waits in this queue
       * until the transcript of its segment arrives. */
      "at. ! queue max-size-time=0 max-size-bytes=0 max-size-buffers=0 ! "
      "audioconvert ! opusenc ! queue ! m. "
      "videotestsrc num-buffers=%u ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "queue ! t.video_sink "
      "geminitranscriber name=t api-key=test-key api-endpoint=%s mode=streaming "
      "segment-duration=%u ! queue ! m.subtitle_0 %s name=m ! filesink location=%s",
      SPEECH_CAPS, frames, emu.url ().c_str (), SEGMENT_MS, mux, path.c_str ());
  GstElement *pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  fail_unless (pipeline != nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "audio");
  for (GstClockTime t = 0; t < INTERVIEW_SECONDS * GST_SECOND; t += 100 * GST_MSECOND)
    gst_app_src_push_buffer (GST_APP_SRC (src), speech_buffer (interview_lines (), t));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
  std::string error = run_to_eos (pipeline, TIMEOUT_S, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());
  gst_object_unref (pipeline);

  /* Only the text stream is linked to the appsink; the rest is discarded. */
  desc = g_strdup_printf ("filesrc location=%s ! %s name=d "
      "d. ! text/x-raw ! queue ! appsink name=out sync=false "
      "d. ! audio/x-opus ! queue ! fakesink sync=false", path.c_str (), demux);
  pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  CueCollector collector (pipeline);
  error = run_to_eos (pipeline, 30, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());
  std::vector<Cue> cues = collector.take ();
  fail_unless (!cues.empty ());
  /* The first cue is at the first line's rounded timecode (1 s). */
  const double shift = keeps_leading_offset ? 0.0 :
      1.0 - (double) cues.front ().pts / GST_SECOND;
  check_file_cues (cues, shift);
  gst_object_unref (pipeline);
}

GST_START_TEST (test_matroska_subtitle_track)
{
  check_muxed_subtitles ("matroskamux", "matroskademux", "out.mkv");
}
GST_END_TEST;

GST_START_TEST (test_mp4_subtitle_track)
{
  /* GStreamer 1.22's mp4mux writes a text track's edit list without the
   * empty edit that would keep the time before its first sample (a plain
   * subparse ! mp4mux file shows the same): qtdemux gives the first cue at
   * 0. Everything after it keeps its spacing, which is checked here. */
  check_muxed_subtitles ("mp4mux", "qtdemux", "out.mp4", false);
}
GST_END_TEST;

/* textoverlay waits for text by default: without cues or GAPs covering
 * every frame's time the video would freeze. */
GST_START_TEST (test_textoverlay_burn_in_does_not_stall)
{
  Emulator emu (interview_script (interview_lines ()));
  const guint frames = (guint) (INTERVIEW_SECONDS * 30);
  gchar *desc = g_strdup_printf (
      "appsrc name=audio format=time max-bytes=0 caps=%s ! queue ! t.audio_sink "
      "videotestsrc num-buffers=%u ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "tee name=vt vt. ! queue ! t.video_sink "
      "vt. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! o.video_sink "
      "geminitranscriber name=t api-key=test-key api-endpoint=%s mode=streaming "
      "segment-duration=%u ! queue ! o.text_sink "
      "textoverlay name=o wait-text=true ! appsink name=out sync=false",
      SPEECH_CAPS, frames, emu.url ().c_str (), SEGMENT_MS);
  GstElement *pipeline = gst_parse_launch (desc, nullptr);
  g_free (desc);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "audio");
  for (GstClockTime t = 0; t < INTERVIEW_SECONDS * GST_SECOND; t += 100 * GST_MSECOND)
    gst_app_src_push_buffer (GST_APP_SRC (src), speech_buffer (interview_lines (), t));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);

  CueCollector collector (pipeline);
  std::string error = run_to_eos (pipeline, TIMEOUT_S, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());
  fail_unless_equals_int (collector.take ().size (), frames);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* Upstream that can make several formats makes 8-bit 4:2:0 for us, even
 * when its own first choice is another (videotestsrc's is 64-bit ABGR, 16 MB
 * per 1080p frame); any raw format is still accepted. */
GST_START_TEST (test_video_sink_prefers_i420)
{
  GstElement *t = gst_element_factory_make ("geminitranscriber", nullptr);
  fail_unless (t != nullptr);
  GstPad *pad = gst_element_request_pad_simple (t, "video_sink");
  fail_unless (pad != nullptr);

  GPtr<GstCaps> upstream (gst_caps_from_string ("video/x-raw, format = (string) "
          "{ ABGR64_LE, AYUV64, Y444, RGB, NV12, I420 }, width = 1920, height = 1080, "
          "framerate = 30/1"));
  GstCaps *caps = gst_caps_fixate (gst_pad_query_caps (pad, upstream.get ()));
  fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure (caps, 0),
          "format"), "I420");
  gst_caps_unref (caps);

  GPtr<GstCaps> rgb (gst_caps_from_string ("video/x-raw, format = (string) RGB, "
          "width = 320, height = 240, framerate = 30/1"));
  fail_unless (gst_pad_query_accept_caps (pad, rgb.get ()));

  gst_element_release_request_pad (t, pad);
  gst_object_unref (pad);
  gst_object_unref (t);
}
GST_END_TEST;

#if defined (__GLIBC__) && !defined (__SANITIZE_ADDRESS__)
/* The allocator is the application's: the element, a library in someone
 * else's process, never changes it (gemini-transcribe sets its own,
 * examples/memory.cpp). Eight threads allocating at once then get arenas of
 * their own, as glibc gives them. */
GST_START_TEST (test_element_leaves_the_allocator_alone)
{
  GstElement *t = gst_element_factory_make ("geminitranscriber", nullptr);
  g_object_set (t, "api-key", "test-key", NULL);
  fail_unless (gst_element_set_state (t, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  fail_unless (gemini::test::malloc_arenas_with_busy_threads () > 2);
  gst_element_set_state (t, GST_STATE_NULL);
  gst_object_unref (t);
}
GST_END_TEST;
#endif

static GstPadProbeReturn
shrink_pictures_at_5s (GstPad *, GstPadProbeInfo * info, gpointer element)
{
  if (GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)) < 5 * GST_SECOND)
    return GST_PAD_PROBE_OK;
  g_object_set (element, "max-video-side", 320, NULL);
  return GST_PAD_PROBE_REMOVE;
}

/* Frames are scaled when they are sampled, at the size of the segment
 * open then; a max-video-side changed mid-stream applies from the next
 * segment on, and frames already scaled to the old size still make a
 * valid file of one size. */
GST_START_TEST (test_max_video_side_changed_mid_stream)
{
  Emulator emu (interview_script (interview_lines ()));
  GstElement *pipeline = interview_pipeline (emu, "fakesink sync=false",
      "max-video-side=640");
  GstElement *t = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  GstPad *video = gst_element_get_static_pad (t, "video_sink");
  gst_pad_add_probe (video, GST_PAD_PROBE_TYPE_BUFFER, shrink_pictures_at_5s, t, nullptr);
  gst_object_unref (video);

  std::string error = run_to_eos (pipeline, TIMEOUT_S, nullptr);
  fail_unless (error.empty (), "%s", error.c_str ());

  GPtr<JsonNode> log = emu.log ();
  auto requests = generate_requests (log.get ());
  fail_unless (requests.size () >= 3, "only %zu requests", requests.size ());
  std::vector<gint64> widths;
  for (JsonObject *r : requests) {
    JsonObject *m = json_array_get_object_element (json_object_get_array_member (r, "media"), 0);
    fail_unless (json_object_get_boolean_member (m, "decodable"));
    const gint64 w = json_object_get_int_member (m, "width");
    const gint64 h = json_object_get_int_member (m, "height");
    fail_unless ((w == 640 && h == 360) || (w == 320 && h == 180), "%" G_GINT64_FORMAT
        "x%" G_GINT64_FORMAT, w, h);
    widths.push_back (w);
  }
  fail_unless_equals_int (widths.front (), 640);
  fail_unless_equals_int (widths.back (), 320);

  gst_object_unref (t);
  gst_object_unref (pipeline);
}
GST_END_TEST;

static GstElement *
launch (const std::string &desc)
{
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch (desc.c_str (), &err);
  fail_unless (pipeline != nullptr, "%s", err ? err->message : "");
  return pipeline;
}

/* The latency the transcriber answers on its src pad, once PLAYING. */
static GstClockTime
playing_latency (GstElement * pipeline, gboolean * live)
{
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  gst_element_get_state (pipeline, nullptr, nullptr, 10 * GST_SECOND);
  GstElement *t = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  GstPad *src = gst_element_get_static_pad (t, "src");
  GstQuery *q = gst_query_new_latency ();
  fail_unless (gst_pad_query (src, q));
  GstClockTime min, max;
  gst_query_parse_latency (q, live, &min, &max);
  gst_query_unref (q);
  gst_object_unref (src);
  gst_object_unref (t);
  return min;
}

/* A live camera alone (the audio pad unlinked) is live: streaming mode,
 * a live latency, cues on the clock. It was taken for a file. */
GST_START_TEST (test_live_video_only_is_live)
{
  Emulator emu (interview_script ({{0.5, 1.5, "alice", "Hello."}}));
  GstElement *pipeline = launch ("videotestsrc is-live=true num-buffers=30 ! "
      "video/x-raw,width=320,height=180,framerate=10/1 ! t.video_sink "
      "geminitranscriber name=t api-key=test-key api-endpoint=" + emu.url () +
      " segment-duration=2000 latency=1000 ! fakesink");
  gboolean live = FALSE;
  const GstClockTime min = playing_latency (pipeline, &live);
  fail_unless (live);
  /* upstream (one 100 ms frame) + the longest segment (2.5 s) + 1 s */
  fail_unless_equals_uint64 (min, 100 * GST_MSECOND + 3500 * GST_MSECOND);

  std::vector<GstStructure *> messages;
  std::string error = run_to_eos (pipeline, TIMEOUT_S, &messages);
  fail_unless (error.empty (), "%s", error.c_str ());
  guint segments = 0;
  for (GstStructure *m : messages) {
    if (!gst_structure_has_name (m, "gemini-segment"))
      continue;
    segments++;
    fail_unless_equals_string (gst_structure_get_string (m, "mode"), "streaming");
  }
  fail_unless (segments >= 2, "%u segments", segments);
  for (GstStructure *m : messages)
    gst_structure_free (m);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* Continuous speech has no quiet point: every segment runs to its longest.
 * The latency reported covers that, and a cue that still leaves after its
 * time (here: a downstream that takes 2 s per buffer) is counted late. */
GST_START_TEST (test_live_continuous_speech_budget)
{
  Emulator emu (interview_script ({{0.2, 0.6, "alice", "One."},
          {0.9, 1.3, "alice", "Two."}, {1.6, 2.0, "alice", "Three."},
          {2.7, 3.1, "alice", "Four."}, {3.4, 3.8, "alice", "Five."}}));
  for (const bool slow : {false, true}) {
    /* Room for the encoder and the emulator's decoding on a loaded machine;
     * behind the slow downstream a cue is late either way. */
    const guint latency_ms = slow ? 1000 : 3000;
    GstElement *pipeline = launch ("audiotestsrc is-live=true wave=sine "
        "samplesperbuffer=160 num-buffers=500 ! audio/x-raw,rate=16000,channels=1 ! "
        "t.audio_sink geminitranscriber name=t api-key=test-key api-endpoint=" +
        emu.url () + " mode=streaming segment-duration=2000 latency=" +
        std::to_string (latency_ms) + " ! " +
        std::string (slow ? "identity sleep-time=2000000 ! " : "") +
        "appsink name=out sync=true");
    CueCollector collector (pipeline);
    gboolean live = FALSE;
    const GstClockTime min = playing_latency (pipeline, &live);
    fail_unless (live);
    /* upstream (one 10 ms buffer) + the longest segment (2.5 s) + latency */
    fail_unless_equals_uint64 (min, (10 + 2500 + latency_ms) * GST_MSECOND);

    std::vector<GstStructure *> messages;
    std::string error = run_to_eos (pipeline, TIMEOUT_S, &messages);
    fail_unless (error.empty (), "%s", error.c_str ());
    guint late = 0, segments = 0;
    for (GstStructure *m : messages) {
      if (!gst_structure_has_name (m, "gemini-segment"))
        continue;
      segments++;
      guint64 duration;
      guint n;
      fail_unless (gst_structure_get_uint64 (m, "duration", &duration));
      fail_unless (duration <= 2510 * GST_MSECOND, "a segment of %" GST_TIME_FORMAT,
          GST_TIME_ARGS (duration));
      fail_unless (gst_structure_get_uint (m, "late-cues", &n));
      late += n;
      fail_unless_equals_string (gst_structure_get_string (m, "status"), "ok");
    }
    fail_unless (segments >= 2, "%u segments", segments);
    fail_unless (collector.take ().size () >= 4);
    if (slow)
      fail_unless (late >= 1, "no cue counted late behind a 2 s downstream");
    else
      fail_unless_equals_int (late, 0);
    for (GstStructure *m : messages)
      gst_structure_free (m);
    gst_object_unref (pipeline);
  }
}
GST_END_TEST;

static Suite *
geminitranscriber_pipelines_suite (void)
{
  Suite *s = suite_create ("geminitranscriber-pipelines");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_av_interview_cues_match_script);
  tcase_add_test (tc, test_srt_file);
  tcase_add_test (tc, test_webvtt_file);
  tcase_add_test (tc, test_matroska_subtitle_track);
  tcase_add_test (tc, test_mp4_subtitle_track);
  tcase_add_test (tc, test_textoverlay_burn_in_does_not_stall);
  tcase_add_test (tc, test_video_sink_prefers_i420);
  tcase_add_test (tc, test_max_video_side_changed_mid_stream);
  tcase_add_test (tc, test_unlinked_src_is_not_linked_error);
  tcase_add_test (tc, test_live_video_only_is_live);
  tcase_add_test (tc, test_live_continuous_speech_budget);
#if defined (__GLIBC__) && !defined (__SANITIZE_ADDRESS__)
  tcase_add_test (tc, test_element_leaves_the_allocator_alone);
#endif
  return s;
}

GST_CHECK_MAIN (geminitranscriber_pipelines);
