/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "render.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>

#include "glib_ptr.h"
#include "interrupt.h"

#define GST_CAT_DEFAULT gemini_transcribe_debug

namespace transcribe {

using gemini::GPtr;

namespace {

constexpr guint PROGRESS_INTERVAL_MS = 250;
/* Smaller is unreadable. Only pictures under 146 px high or 264 px wide get
 * there; in the narrow ones a line of capitals may then wrap. */
constexpr double MIN_CAPTION_PX = 8;

struct Codecs {
  const char *muxer;
  const char *audio;
  const char *video;
};

/* Matroska gets the free codecs; MP4 H.264 and AAC, what its players
 * expect: x264enc when gstreamer1.0-plugins-ugly is there, else the
 * openh264enc of -bad. */
Codecs
codecs_for (Format f)
{
  if (f == Format::Mp4)
    return {"mp4mux", "voaacenc", have_element ("x264enc") ?
          "x264enc speed-preset=veryfast bitrate=2000 ! h264parse" :
          "openh264enc bitrate=2000000 ! h264parse"};
  return {"matroskamux", "opusenc", "vp8enc deadline=1 cpu-used=8 target-bitrate=1500000"};
}

struct Render {
  const Transcript &t;
  Progress &progress;
  std::string path;
  GstElement *pipeline = nullptr;
  GstElement *decoder = nullptr;
  GstElement *filesink = nullptr;
  GMainLoop *loop = nullptr;

  std::mutex lock;
  GstElement *audio_branch = nullptr;
  GstElement *video_branch = nullptr;
  std::atomic<GstClockTime> position{0};

  std::optional<Failure> failure;
};

GstPadProbeReturn
on_rendered_buffer (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *r = static_cast<Render *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (GST_BUFFER_PTS_IS_VALID (buf)) {
    GstClockTime prev = r->position.load ();
    while (GST_BUFFER_PTS (buf) > prev
        && !r->position.compare_exchange_weak (prev, GST_BUFFER_PTS (buf))) {
    }
  }
  return GST_PAD_PROBE_OK;
}

void
on_pad_added (GstElement *, GstPad *pad, gpointer data)
{
  auto *r = static_cast<Render *> (data);
  GPtr<GstCaps> caps (gst_pad_get_current_caps (pad));
  if (!caps)
    caps.reset (gst_pad_query_caps (pad, nullptr));
  const gchar *media = gst_structure_get_name (gst_caps_get_structure (caps.get (), 0));

  GstElement *branch = nullptr;
  {
    std::lock_guard<std::mutex> lk (r->lock);
    GstElement **slot = g_str_has_prefix (media, "audio/") ? &r->audio_branch :
        g_str_has_prefix (media, "video/") ? &r->video_branch : nullptr;
    if (slot && *slot) {
      branch = *slot;
      *slot = nullptr;
    }
  }
  if (!branch) {
    branch = gst_element_factory_make ("fakesink", nullptr);
    g_object_set (branch, "sync", FALSE, "async", FALSE, nullptr);
    gst_bin_add (GST_BIN (r->pipeline), branch);
    gst_element_sync_state_with_parent (branch);
  }
  GPtr<GstPad> sink (gst_element_get_static_pad (branch, "sink"));
  if (GST_PAD_LINK_FAILED (gst_pad_link (pad, sink.get ())))
    GST_WARNING ("cannot link a %s stream", media);
}

gboolean
on_bus_message (GstBus *, GstMessage *msg, gpointer data)
{
  auto *r = static_cast<Render *> (data);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    g_main_loop_quit (r->loop);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error (msg, &err, &debug);
    GST_WARNING ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg), err->message,
        debug ? debug : "");
    if (!r->failure) {
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (r->filesink))
        r->failure = Failure{EXIT_OUTPUT, "cannot write " + r->path + ": " + err->message};
      else if (gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg), GST_OBJECT (r->decoder)))
        r->failure = Failure{EXIT_INPUT, "cannot read " + r->t.input + ": " + err->message};
      else
        r->failure = Failure{EXIT_OTHER, "cannot write " + r->path + ": " + err->message};
    }
    g_error_free (err);
    g_free (debug);
    g_main_loop_quit (r->loop);
  }
  return G_SOURCE_CONTINUE;
}

gboolean
on_progress_tick (gpointer data)
{
  auto *r = static_cast<Render *> (data);
  r->progress.rendering (r->path, r->position.load (), r->t.duration);
  return G_SOURCE_CONTINUE;
}

GstElement *
make_branch (const std::string &desc, std::optional<Failure> &failure)
{
  GError *err = nullptr;
  GstElement *bin = gst_parse_bin_from_description (desc.c_str (), TRUE, &err);
  if (!bin) {
    failure = Failure{EXIT_OTHER, "cannot build \"" + desc + "\": " + err->message};
    g_error_free (err);
  }
  return bin;
}

/* All cues are known before this pass starts, so the text stream is pushed
 * whole: the muxer or textoverlay always has the next cue in hand and never
 * waits on it. `lead_in` starts the stream with an empty sample up to the
 * first cue: mp4mux (1.22) writes no empty edit before a text track's first
 * sample, so without it every cue would be read back early. */
GstElement *
make_text_source (GstElement *pipeline, const Transcript &t, bool markup,
    bool lead_in = false)
{
  GstElement *src = gst_element_factory_make ("appsrc", "cues");
  gst_bin_add (GST_BIN (pipeline), src);
  GPtr<GstCaps> caps (gst_caps_new_simple ("text/x-raw", "format", G_TYPE_STRING,
          markup ? "pango-markup" : "utf8", nullptr));
  g_object_set (src, "caps", caps.get (), "format", GST_FORMAT_TIME, "max-bytes",
      (guint64) 0, nullptr);
  if (lead_in && !t.cues.empty () && t.cues.front ().start > 0) {
    GstBuffer *empty = gst_buffer_new ();
    GST_BUFFER_PTS (empty) = 0;
    GST_BUFFER_DURATION (empty) = t.cues.front ().start;
    gst_app_src_push_buffer (GST_APP_SRC (src), empty);
  }
  for (const auto &c : t.cues) {
    const std::string &text = markup ? c.markup : c.text;
    GstBuffer *buf = gst_buffer_new_memdup (text.data (), text.size ());
    GST_BUFFER_PTS (buf) = c.start;
    GST_BUFFER_DURATION (buf) = c.duration;
    gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  return src;
}

/* The caption layout follows the upright picture, in its pixels, so that it
 * looks the same from 360p to 4K and never needs a third line:
 * - the font is a share of the height that puts two lines (1.16 em each in
 *   DejaVu Sans) plus the padding in about a sixth of the picture, well
 *   inside the bottom fifth;
 * - and at most a 33rd of the width: a 42-character line of capitals in Sans
 *   Bold is 28 to 32 em, so the longest cue line fits without textoverlay
 *   wrapping it (what bounds portrait video);
 * - the padding under it scales too: textoverlay's fixed 25 px is 7 % of a
 *   360p picture but 1 % of a 4K one.
 * textoverlay's auto-resize stays off: it scales any font by width / 640,
 * which on a font already sized from the picture made 720p captions wrap to
 * four lines, pushed 1080p ones off the top and drew nothing at 4K. */
constexpr double CAPTION_EM_PER_HEIGHT = 0.055;
constexpr double CAPTION_LINE_EMS = 33.0;
constexpr double CAPTION_PAD_PER_HEIGHT = 0.04;

void
set_caption_layout (GstElement *textoverlay, gint width, gint height)
{
  const double px = MAX (MIN_CAPTION_PX, MIN (height * CAPTION_EM_PER_HEIGHT,
          width / CAPTION_LINE_EMS));
  const std::string font = "Sans Bold " + std::to_string ((gint) (px + 0.5)) + "px";
  const gint ypad = (gint) (height * CAPTION_PAD_PER_HEIGHT + 0.5);
  GST_DEBUG ("captions for %dx%d: %s, %d px from the bottom", width, height, font.c_str (),
      ypad);
  g_object_set (textoverlay, "font-desc", font.c_str (), "ypad", ypad, nullptr);
}

/* Caps reach textoverlay's video pad before any frame, and again whenever
 * videoflip turns the picture on an orientation tag. */
GstPadProbeReturn
on_overlay_caps (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  GstCaps *caps = nullptr;
  gst_event_parse_caps (event, &caps);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint width = 0, height = 0;
  if (gst_structure_get_int (s, "width", &width) && gst_structure_get_int (s, "height",
          &height) && width > 0 && height > 0)
    set_caption_layout (static_cast<GstElement *> (data), width, height);
  return GST_PAD_PROBE_OK;
}

void
link_to_muxer (GstElement *upstream, GstElement *mux, const char *templ)
{
  GPtr<GstPad> src (gst_element_get_static_pad (upstream, "src"));
  GPtr<GstPad> sink (gst_element_request_pad_simple (mux, templ));
  if (!sink || GST_PAD_LINK_FAILED (gst_pad_link (src.get (), sink.get ())))
    GST_WARNING ("cannot link %s to %s", GST_ELEMENT_NAME (upstream), templ);
}

}  // namespace

std::string
missing_video_elements (Format f, bool burn)
{
  const Codecs c = codecs_for (f);
  std::string missing;
  std::string names = std::string (c.muxer) + " " + c.audio + " " + c.video + " videoflip";
  if (burn)
    names += " textoverlay";
  gchar **tokens = g_strsplit (names.c_str (), " ", -1);
  for (gchar **tok = tokens; *tok; tok++) {
    if (**tok == '\0' || strchr (*tok, '=') || g_str_equal (*tok, "!"))
      continue;
    if (!have_element (*tok))
      missing += (missing.empty () ? "" : ", ") + std::string (*tok);
  }
  g_strfreev (tokens);
  return missing;
}

std::optional<Failure>
render_video (const std::string &uri, const std::string &path, Format f, bool burn,
    const Transcript &t, Progress &progress)
{
  if (std::string invalid = invalid_time (t); !invalid.empty ())
    return Failure{EXIT_OUTPUT, invalid};
  const Codecs codecs = codecs_for (f);
  Render r{t, progress, path};
  const std::string partial = path + ".part";
  GPtr<GstElement> pipeline (gst_pipeline_new ("render"));
  r.pipeline = pipeline.get ();
  r.decoder = gst_element_factory_make ("uridecodebin", "decoder");
  GstElement *mux = gst_element_factory_make (codecs.muxer, "mux");
  r.filesink = gst_element_factory_make ("filesink", "out");
  g_object_set (r.decoder, "uri", uri.c_str (), nullptr);
  g_object_set (r.filesink, "location", partial.c_str (), nullptr);
  gst_bin_add_many (GST_BIN (r.pipeline), r.decoder, mux, r.filesink, nullptr);
  gst_element_link (mux, r.filesink);

  std::optional<Failure> &failure = r.failure;
  const bool has_cues = !t.cues.empty ();
  const bool overlay = burn && t.has_video && has_cues;
  if (burn && !t.has_video)
    progress.message ("The input has no video to burn captions into: " + path
        + " gets a subtitle track instead.");

  if (t.has_audio) {
    r.audio_branch = make_branch (std::string ("queue ! audioconvert ! audioresample ! ")
        + codecs.audio, failure);
    if (!r.audio_branch)
      return failure;
    gst_bin_add (GST_BIN (r.pipeline), r.audio_branch);
    link_to_muxer (r.audio_branch, mux, "audio_%u");
  }
  if (t.has_video) {
    /* textoverlay stays outside the parsed bins: parse would ghost its
     * text_sink as the bin's sink. Phones store portrait video as landscape
     * pixels and an orientation tag, which matroskamux and mp4mux drop, so
     * the output played sideways: videoflip applies the tag, so the output
     * is upright and the captions are laid out on the upright picture. */
    r.video_branch = make_branch ("queue ! videoconvert ! videoflip video-direction=auto",
        failure);
    if (!r.video_branch)
      return failure;
    gst_bin_add (GST_BIN (r.pipeline), r.video_branch);
    GstElement *encode = make_branch (std::string ("videoconvert ! ") + codecs.video,
        failure);
    if (!encode)
      return failure;
    gst_bin_add (GST_BIN (r.pipeline), encode);
    if (overlay) {
      GstElement *textoverlay = gst_element_factory_make ("textoverlay", "overlay");
      g_object_set (textoverlay, "auto-resize", FALSE, "shaded-background", TRUE, nullptr);
      gst_util_set_object_arg (G_OBJECT (textoverlay), "valignment", "bottom");
      gst_util_set_object_arg (G_OBJECT (textoverlay), "halignment", "center");
      gst_util_set_object_arg (G_OBJECT (textoverlay), "line-alignment", "center");
      gst_bin_add (GST_BIN (r.pipeline), textoverlay);
      GPtr<GstPad> video_sink (gst_element_get_static_pad (textoverlay, "video_sink"));
      gst_pad_add_probe (video_sink.get (), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
          on_overlay_caps, textoverlay, nullptr);
      gst_element_link_pads (r.video_branch, "src", textoverlay, "video_sink");
      gst_element_link_pads (textoverlay, "src", encode, "sink");
      GstElement *text = make_text_source (r.pipeline, t, true);
      gst_element_link_pads (text, "src", textoverlay, "text_sink");
    } else {
      gst_element_link (r.video_branch, encode);
    }
    link_to_muxer (encode, mux, "video_%u");
    GPtr<GstPad> probed (gst_element_get_static_pad (encode, "src"));
    gst_pad_add_probe (probed.get (), GST_PAD_PROBE_TYPE_BUFFER, on_rendered_buffer, &r,
        nullptr);
  } else if (r.audio_branch) {
    GPtr<GstPad> probed (gst_element_get_static_pad (r.audio_branch, "src"));
    gst_pad_add_probe (probed.get (), GST_PAD_PROBE_TYPE_BUFFER, on_rendered_buffer, &r,
        nullptr);
  }
  if (has_cues && !overlay)
    link_to_muxer (make_text_source (r.pipeline, t, false, f == Format::Mp4), mux,
        "subtitle_%u");
  g_signal_connect (r.decoder, "pad-added", G_CALLBACK (on_pad_added), &r);

  GPtr<GMainLoop> loop (g_main_loop_new (nullptr, FALSE));
  r.loop = loop.get ();
  GPtr<GstBus> bus (gst_pipeline_get_bus (GST_PIPELINE (r.pipeline)));
  const guint bus_watch = gst_bus_add_watch (bus.get (), on_bus_message, &r);
  const guint tick = g_timeout_add (PROGRESS_INTERVAL_MS, on_progress_tick, &r);
  InterruptWatch interrupt ([&r, &path] {
    if (!r.failure)
      r.failure = Failure{EXIT_INTERRUPTED, "interrupted: " + path + " was not written"};
    g_main_loop_quit (r.loop);
  });
  if (gst_element_set_state (r.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GPtr<GstMessage> msg (gst_bus_pop_filtered (bus.get (), GST_MESSAGE_ERROR));
    if (msg)
      on_bus_message (bus.get (), msg.get (), &r);
    else
      failure = Failure{EXIT_OTHER, "cannot write " + path};
  } else {
    g_main_loop_run (r.loop);
  }
  g_source_remove (tick);
  g_source_remove (bus_watch);
  gst_element_set_state (r.pipeline, GST_STATE_NULL);
  progress.finish_line ();

  if (failure) {
    g_unlink (partial.c_str ());
    return failure;
  }
  if (g_rename (partial.c_str (), path.c_str ()) != 0)
    return Failure{EXIT_OUTPUT, "cannot write " + path + ": " + g_strerror (errno)};
  return std::nullopt;
}

}  // namespace transcribe
