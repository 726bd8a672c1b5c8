/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "inspect.h"

#include <algorithm>

#include <atomic>
#include <cmath>
#include <mutex>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

#include "glib_ptr.h"

GST_DEBUG_CATEGORY_STATIC (gemini_emulator_inspect_debug);
#define GST_CAT_DEFAULT gemini_emulator_inspect_debug

namespace gemini::test {

namespace {

constexpr GstClockTime kDiscoverTimeout = 20 * GST_SECOND;
constexpr GstClockTime kDecodeTimeout = 60 * GST_SECOND;

void
init_debug ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (gemini_emulator_inspect_debug, "geminiemuinspect",
        0, "Gemini emulator media inspection");
  });
}

std::string
caps_name (GstCaps *caps)
{
  if (!caps || gst_caps_is_empty (caps))
    return {};
  return gst_structure_get_name (gst_caps_get_structure (caps, 0));
}

struct DecodeCounters {
  std::atomic<guint64> video_frames{0};
  std::atomic<GstClockTime> end_time{0};
};

GstPadProbeReturn
count_buffer (GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto counters = static_cast<DecodeCounters *> (user_data);
  auto buf = GST_PAD_PROBE_INFO_BUFFER (info);
  counters->video_frames++;
  if (GST_BUFFER_PTS_IS_VALID (buf)) {
    GstClockTime end = GST_BUFFER_PTS (buf) +
        (GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) : 0);
    GstClockTime prev = counters->end_time.load ();
    while (end > prev && !counters->end_time.compare_exchange_weak (prev, end)) {
    }
  }
  return GST_PAD_PROBE_OK;
}

struct PadAddedData {
  GstElement *pipeline;
  DecodeCounters *counters;
};

void
on_pad_added (GstElement *, GstPad *pad, gpointer user_data)
{
  auto data = static_cast<PadAddedData *> (user_data);
  GPtr<GstCaps> caps (gst_pad_get_current_caps (pad));
  if (!caps)
    caps.reset (gst_pad_query_caps (pad, nullptr));
  bool is_video = g_str_has_prefix (caps_name (caps.get ()).c_str (), "video/");

  GstElement *sink = gst_element_factory_make ("fakesink", nullptr);
  g_object_set (sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add (GST_BIN (data->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  GPtr<GstPad> sinkpad (gst_element_get_static_pad (sink, "sink"));
  if (gst_pad_link (pad, sinkpad.get ()) != GST_PAD_LINK_OK)
    GST_WARNING ("could not link decoded pad %" GST_PTR_FORMAT, pad);
  if (is_video)
    gst_pad_add_probe (sinkpad.get (), GST_PAD_PROBE_TYPE_BUFFER, count_buffer,
        data->counters, nullptr);
}

/* Decodes every stream to the end: the only way to know how many video
 * frames the file really holds. */
bool
decode_all (const gchar *uri, DecodeCounters &counters)
{
  GPtr<GstElement> pipeline (gst_pipeline_new ("inspect"));
  GstElement *dec = gst_element_factory_make ("uridecodebin", nullptr);
  if (!dec)
    return false;
  g_object_set (dec, "uri", uri, nullptr);
  gst_bin_add (GST_BIN (pipeline.get ()), dec);
  PadAddedData data{pipeline.get (), &counters};
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), &data);

  if (gst_element_set_state (pipeline.get (), GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    gst_element_set_state (pipeline.get (), GST_STATE_NULL);
    return false;
  }
  GPtr<GstBus> bus (gst_element_get_bus (pipeline.get ()));
  GPtr<GstMessage> msg (gst_bus_timed_pop_filtered (bus.get (), kDecodeTimeout,
          (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  bool ok = msg && GST_MESSAGE_TYPE (msg.get ()) == GST_MESSAGE_EOS;
  if (msg && !ok) {
    GError *err = nullptr;
    gst_message_parse_error (msg.get (), &err, nullptr);
    GST_INFO ("decoding failed: %s", err ? err->message : "?");
    g_clear_error (&err);
  }
  gst_element_set_state (pipeline.get (), GST_STATE_NULL);
  return ok;
}

void
discover (const gchar *uri, MediaInfo &info)
{
  GError *err = nullptr;
  GstDiscoverer *disc = gst_discoverer_new (kDiscoverTimeout, &err);
  if (!disc) {
    GST_WARNING ("no discoverer: %s", err ? err->message : "?");
    g_clear_error (&err);
    return;
  }
  GstDiscovererInfo *dinfo = gst_discoverer_discover_uri (disc, uri, &err);
  g_clear_error (&err);
  if (dinfo && gst_discoverer_info_get_result (dinfo) == GST_DISCOVERER_OK) {
    GstClockTime dur = gst_discoverer_info_get_duration (dinfo);
    if (GST_CLOCK_TIME_IS_VALID (dur))
      info.duration_s = (double) dur / GST_SECOND;

    GList *videos = gst_discoverer_info_get_video_streams (dinfo);
    if (videos) {
      auto v = GST_DISCOVERER_VIDEO_INFO (videos->data);
      info.has_video = true;
      info.width = (int) gst_discoverer_video_info_get_width (v);
      info.height = (int) gst_discoverer_video_info_get_height (v);
      GPtr<GstCaps> caps (gst_discoverer_stream_info_get_caps (
              GST_DISCOVERER_STREAM_INFO (v)));
      info.video_codec = caps_name (caps.get ());
    }
    gst_discoverer_stream_info_list_free (videos);

    GList *audios = gst_discoverer_info_get_audio_streams (dinfo);
    if (audios) {
      auto a = GST_DISCOVERER_AUDIO_INFO (audios->data);
      info.has_audio = true;
      info.audio_channels = (int) gst_discoverer_audio_info_get_channels (a);
      info.audio_rate = (int) gst_discoverer_audio_info_get_sample_rate (a);
      GPtr<GstCaps> caps (gst_discoverer_stream_info_get_caps (
              GST_DISCOVERER_STREAM_INFO (a)));
      info.audio_codec = caps_name (caps.get ());
    }
    gst_discoverer_stream_info_list_free (audios);
    info.decodable = info.has_video || info.has_audio;
  }
  if (dinfo)
    g_object_unref (dinfo);
  g_object_unref (disc);
}

}  // namespace

double
MediaInfo::fps () const
{
  if (duration_s <= 0.0 || video_frames == 0)
    return 0.0;
  return (double) video_frames / duration_s;
}

JsonNode *
MediaInfo::to_json () const
{
  GPtr<JsonBuilder> b (json_builder_new ());
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "mime");
  json_builder_add_string_value (b.get (), mime.c_str ());
  json_builder_set_member_name (b.get (), "bytes");
  json_builder_add_int_value (b.get (), (gint64) bytes);
  json_builder_set_member_name (b.get (), "decodable");
  json_builder_add_boolean_value (b.get (), decodable);
  json_builder_set_member_name (b.get (), "duration_s");
  json_builder_add_double_value (b.get (), duration_s);
  json_builder_set_member_name (b.get (), "has_video");
  json_builder_add_boolean_value (b.get (), has_video);
  json_builder_set_member_name (b.get (), "width");
  json_builder_add_int_value (b.get (), width);
  json_builder_set_member_name (b.get (), "height");
  json_builder_add_int_value (b.get (), height);
  json_builder_set_member_name (b.get (), "video_frames");
  json_builder_add_int_value (b.get (), (gint64) video_frames);
  json_builder_set_member_name (b.get (), "fps");
  json_builder_add_double_value (b.get (), fps ());
  json_builder_set_member_name (b.get (), "video_codec");
  json_builder_add_string_value (b.get (), video_codec.c_str ());
  json_builder_set_member_name (b.get (), "has_audio");
  json_builder_add_boolean_value (b.get (), has_audio);
  json_builder_set_member_name (b.get (), "audio_codec");
  json_builder_add_string_value (b.get (), audio_codec.c_str ());
  json_builder_set_member_name (b.get (), "audio_channels");
  json_builder_add_int_value (b.get (), audio_channels);
  json_builder_set_member_name (b.get (), "audio_rate");
  json_builder_add_int_value (b.get (), audio_rate);
  json_builder_end_object (b.get ());
  return json_builder_get_root (b.get ());
}

MediaInfo
inspect_media (GBytes *data, const std::string &mime)
{
  init_debug ();
  MediaInfo info;
  info.mime = mime;
  info.bytes = data ? g_bytes_get_size (data) : 0;
  if (!info.bytes)
    return info;

  GError *err = nullptr;
  gchar *tmp_path = nullptr;
  int fd = g_file_open_tmp ("gemini-emulator-XXXXXX", &tmp_path, &err);
  if (fd < 0) {
    GST_WARNING ("no temp file: %s", err->message);
    g_clear_error (&err);
    return info;
  }
  GPtr<gchar> path (tmp_path);
  close (fd);
  gsize size = 0;
  auto bytes = static_cast<const gchar *> (g_bytes_get_data (data, &size));
  if (!g_file_set_contents (path.get (), bytes, (gssize) size, &err)) {
    GST_WARNING ("cannot write %s: %s", path.get (), err->message);
    g_clear_error (&err);
    g_unlink (path.get ());
    return info;
  }
  GPtr<gchar> uri (g_filename_to_uri (path.get (), nullptr, nullptr));

  discover (uri.get (), info);
  if (info.decodable) {
    DecodeCounters counters;
    info.decodable = decode_all (uri.get (), counters);
    info.video_frames = counters.video_frames.load ();
    /* A streamed WebM has no duration in its header: the demuxer's estimate
     * stops at the last cluster, the decoded media does not. */
    info.duration_s = std::max (info.duration_s,
        (double) counters.end_time.load () / GST_SECOND);
  }
  g_unlink (path.get ());
  GST_DEBUG ("%s, %" G_GSIZE_FORMAT " bytes: decodable %d, %.3f s, %"
      G_GUINT64_FORMAT " frames", mime.c_str (), info.bytes, info.decodable,
      info.duration_s, info.video_frames);
  return info;
}

}  // namespace gemini::test
