/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decodes a media blob with GStreamer and describes what is really in it, so
 * tests can check that the client sent the duration and frame rate it meant
 * to. Blocking: call it from a worker thread, never from the server loop. */
#pragma once

#include <string>

#include <glib.h>
#include <json-glib/json-glib.h>

namespace gemini::test {

struct MediaInfo {
  std::string mime;
  gsize bytes = 0;
  bool decodable = false;
  double duration_s = 0.0;
  bool has_video = false;
  int width = 0;
  int height = 0;
  guint64 video_frames = 0;
  std::string video_codec;
  bool has_audio = false;
  std::string audio_codec;
  int audio_channels = 0;
  int audio_rate = 0;

  /* frames / duration, 0 when either is unknown */
  double fps () const;
  JsonNode *to_json () const;
};

MediaInfo inspect_media (GBytes *data, const std::string &mime);

}  // namespace gemini::test
