/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_inputs.h"

#include <algorithm>
#include <map>
#include <mutex>

#include <gst/app/gstappsink.h>
#include <gst/pbutils/pbutils.h>

#include "frame_scaler.h"
#include "segment_encoder.h"
#include "segmenter.h"

using gemini::GPtr;

namespace transcribe {

namespace {

constexpr const char *MEDIA_EXTENSIONS[] = {
  ".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".aac", ".webm", ".mkv",
  ".mp4", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".m4v", ".wma", ".wmv",
};

bool
is_media_name (const std::string &name)
{
  GPtr<gchar> lower (g_ascii_strdown (name.c_str (), -1));
  return std::any_of (std::begin (MEDIA_EXTENSIONS), std::end (MEDIA_EXTENSIONS),
      [&] (const char *ext) { return g_str_has_suffix (lower.get (), ext); });
}

/* The lines of the --list file that name an input: comments and blank
 * lines skipped. */
bool
read_list (const std::string &list_file, std::vector<std::string> &given, std::string &error)
{
  gchar *contents = nullptr;
  GError *err = nullptr;
  if (!g_file_get_contents (list_file.c_str (), &contents, nullptr, &err)) {
    error = "cannot read the list " + list_file + ": " + err->message;
    g_error_free (err);
    return false;
  }
  gchar **lines = g_strsplit (contents, "\n", -1);
  for (gchar **l = lines; *l; l++) {
    g_strstrip (*l);
    if (**l && **l != '#')
      given.emplace_back (*l);
  }
  g_strfreev (lines);
  g_free (contents);
  return true;
}

/* What GstDiscoverer finds in the input: the first stream of moving
 * pictures counts as its video, a cover image does not. */
struct Probe {
  bool has_audio = false;
  bool has_video = false;
  GstVideoInfo video;                  /* size and pixel aspect ratio */
};

std::optional<Probe>
probe_input (const char *uri, std::string &error)
{
  GError *err = nullptr;
  GstDiscoverer *disc = gst_discoverer_new (60 * GST_SECOND, &err);
  if (!disc) {
    error = err->message;
    g_error_free (err);
    return std::nullopt;
  }
  GstDiscovererInfo *info = gst_discoverer_discover_uri (disc, uri, &err);
  g_object_unref (disc);
  if (!info || gst_discoverer_info_get_result (info) != GST_DISCOVERER_OK) {
    error = err ? err->message : "not a media file GStreamer can read";
    g_clear_error (&err);
    if (info)
      g_object_unref (info);
    return std::nullopt;
  }
  GList *audio = gst_discoverer_info_get_audio_streams (info);
  GList *video = gst_discoverer_info_get_video_streams (info);
  Probe p;
  gst_video_info_init (&p.video);
  p.has_audio = audio != nullptr;
  for (GList *l = video; l; l = l->next) {
    auto *v = GST_DISCOVERER_VIDEO_INFO (l->data);
    if (!gst_discoverer_video_info_is_image (v)) {
      p.has_video = true;
      p.video.width = (gint) gst_discoverer_video_info_get_width (v);
      p.video.height = (gint) gst_discoverer_video_info_get_height (v);
      p.video.par_n = (gint) gst_discoverer_video_info_get_par_num (v);
      p.video.par_d = (gint) gst_discoverer_video_info_get_par_denom (v);
      break;
    }
  }
  gst_discoverer_stream_info_list_free (audio);
  gst_discoverer_stream_info_list_free (video);
  g_object_unref (info);
  if (!p.has_audio && !p.has_video) {
    error = "no audio or video in it";
    return std::nullopt;
  }
  return p;
}

struct EncodeRun {
  gemini::SegmentEncoder *encoder = nullptr;
  GstAudioInfo audio_info;
  std::mutex lock;
  GstClockTime end = 0;
  bool failed = false;
  gemini::AudioEnvelope sound;         /* the audio thread's only */
};

GstFlowReturn
on_encoder_sample (GstAppSink *sink, gpointer data, bool video)
{
  auto *run = static_cast<EncodeRun *> (data);
  GPtr<GstSample> sample (gst_app_sink_pull_sample (sink));
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample.get ());
  if (GST_BUFFER_PTS_IS_VALID (buf)) {
    std::lock_guard<std::mutex> lk (run->lock);
    GstClockTime end = GST_BUFFER_PTS (buf) +
        (GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) : 0);
    run->end = std::max (run->end, end);
  }
  if (!video) {
    GstMapInfo map;
    if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
      run->sound.add (gemini::measure_audio (&run->audio_info, map.data, map.size,
              GST_BUFFER_PTS (buf)));
      gst_buffer_unmap (buf, &map);
    }
  }
  const bool ok = video ? run->encoder->push_video (buf) : run->encoder->push_audio (buf);
  if (!ok) {
    std::lock_guard<std::mutex> lk (run->lock);
    run->failed = true;
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* Plays `pipeline` into run.encoder to its end; false with `error` set on
 * an error message or once `stop` is set. */
bool
play_into_encoder (GstElement *pipeline, EncodeRun &run, const std::atomic<bool> &stop,
    std::string &error)
{
  for (const char *name : { "a", "v" }) {
    GPtr<GstElement> sink (gst_bin_get_by_name (GST_BIN (pipeline), name));
    if (!sink)
      continue;
    GstAppSinkCallbacks cb = {};
    cb.new_sample = name[0] == 'v' ?
        +[] (GstAppSink *s, gpointer d) { return on_encoder_sample (s, d, true); } :
        +[] (GstAppSink *s, gpointer d) { return on_encoder_sample (s, d, false); };
    gst_app_sink_set_callbacks (GST_APP_SINK (sink.get ()), &cb, &run, nullptr);
  }
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GPtr<GstBus> bus (gst_element_get_bus (pipeline));
  for (;;) {
    GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus.get (), 100 * GST_MSECOND,
            (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (stop) {
      error = "interrupted";
      break;
    }
    if (!msg)
      continue;
    if (GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_ERROR) {
      GError *e = nullptr;
      gst_message_parse_error (msg.get (), &e, nullptr);
      error = e->message;
      g_error_free (e);
    }
    break;
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return error.empty ();
}

}  // namespace

std::vector<std::string>
expand_inputs (const BatchSettings &s, std::string &error)
{
  std::vector<std::string> given = s.inputs;
  if (!s.list_file.empty () && !read_list (s.list_file, given, error))
    return {};
  std::vector<std::string> out;
  for (const auto &path : given) {
    if (!g_file_test (path.c_str (), G_FILE_TEST_IS_DIR)) {
      out.push_back (path);
      continue;
    }
    GDir *dir = g_dir_open (path.c_str (), 0, nullptr);
    std::vector<std::string> found;
    for (const char *n = dir ? g_dir_read_name (dir) : nullptr; n; n = g_dir_read_name (dir)) {
      GPtr<gchar> full (g_build_filename (path.c_str (), n, nullptr));
      if (is_media_name (n) && g_file_test (full.get (), G_FILE_TEST_IS_REGULAR))
        found.emplace_back (full.get ());
    }
    if (dir)
      g_dir_close (dir);
    std::sort (found.begin (), found.end ());
    out.insert (out.end (), found.begin (), found.end ());
  }
  return out;
}

std::string
render_template (const std::string &templ, const std::string &input)
{
  GPtr<gchar> dir (g_path_get_dirname (input.c_str ()));
  GPtr<gchar> base (g_path_get_basename (input.c_str ()));
  std::string name = base.get ();
  const size_t dot = name.rfind ('.');
  const std::string stem = dot != std::string::npos && dot > 0 ? name.substr (0, dot) : name;
  const std::string ext = dot != std::string::npos && dot > 0 ? name.substr (dot + 1) : "";
  const std::map<std::string, std::string> values = {
    { "{dir}", dir.get () }, { "{stem}", stem }, { "{name}", name }, { "{ext}", ext },
  };
  std::string out;
  for (size_t i = 0; i < templ.size ();) {
    bool replaced = false;
    for (const auto &[field, value] : values) {
      if (templ.compare (i, field.size (), field) == 0) {
        out += value;
        i += field.size ();
        replaced = true;
        break;
      }
    }
    if (!replaced)
      out += templ[i++];
  }
  return out;
}

std::optional<Encoded>
encode_input (const std::string &path, double fps, const std::atomic<bool> &stop,
    std::string &error)
{
  GError *err = nullptr;
  GPtr<gchar> uri (gst_filename_to_uri (path.c_str (), &err));
  if (!uri) {
    error = err->message;
    g_error_free (err);
    return std::nullopt;
  }
  const auto probe = probe_input (uri.get (), error);
  if (!probe)
    return std::nullopt;

  gemini::EncoderSettings settings;
  settings.fps = fps;
  /* Scaled here already, to the element's picture size (square pixels):
   * the encoder then has less to convert. */
  gint w = 0, h = 0;
  gemini::scaled_size (probe->video, settings.max_side, &w, &h);
  gint fps_n = 1, fps_d = 1;
  gst_util_double_to_fraction (fps, &fps_n, &fps_d);
  const std::string audio_caps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,"
      "channels=1";
  const std::string video_caps = "video/x-raw,format=I420,width=" + std::to_string (w) +
      ",height=" + std::to_string (h) + ",framerate=" + std::to_string (fps_n) + "/" +
      std::to_string (fps_d) + ",pixel-aspect-ratio=1/1";
  GPtr<gchar> quoted (g_strescape (uri.get (), nullptr));
  std::string desc = std::string ("uridecodebin name=d uri=\"") + quoted.get () + "\" ";
  if (probe->has_audio)
    desc += "d. ! audio/x-raw ! queue ! audioconvert ! audioresample ! " + audio_caps +
        " ! appsink name=a sync=false ";
  if (probe->has_video)
    desc += "d. ! video/x-raw ! queue ! videoconvert ! videorate ! videoscale ! " +
        video_caps + " ! appsink name=v sync=false ";
  GPtr<GstElement> pipeline (gst_parse_launch (desc.c_str (), &err));
  if (!pipeline) {
    error = err ? err->message : "cannot build the decoder";
    g_clear_error (&err);
    return std::nullopt;
  }

  GPtr<GstCaps> acaps (probe->has_audio ? gst_caps_from_string (audio_caps.c_str ()) : nullptr);
  GPtr<GstCaps> vcaps (probe->has_video ? gst_caps_from_string (video_caps.c_str ()) : nullptr);
  auto encoder = gemini::SegmentEncoder::create (settings, acaps.get (), vcaps.get ());
  if (!encoder) {
    error = encoder.error ().describe ();
    return std::nullopt;
  }
  EncodeRun run;
  run.encoder = encoder->get ();
  gst_audio_info_init (&run.audio_info);
  if (acaps)
    gst_audio_info_from_caps (&run.audio_info, acaps.get ());
  if (!play_into_encoder (pipeline.get (), run, stop, error) || run.failed) {
    encoder.value ()->cancel ();
    if (error.empty ())
      error = "the encoder failed";
    return std::nullopt;
  }
  auto segment = encoder.value ()->finish (run.end);
  if (!segment) {
    error = segment.error ().describe ();
    return std::nullopt;
  }
  Encoded out;
  out.data = std::move (segment->data);
  out.mime = segment->mime_type;
  out.duration = segment->duration;
  out.has_video = segment->has_video;
  if (probe->has_audio)
    out.sound = std::move (run.sound);
  return out;
}

}  // namespace transcribe
