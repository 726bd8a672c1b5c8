/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inputs of a --batch run: found on the command line, named in the
 * output templates, and encoded once each for the Files API. */
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "batch_run.h"
#include "audio_envelope.h"
#include "glib_ptr.h"

namespace transcribe {

/* Files as given; directories give their media files (by extension, sorted). */
std::vector<std::string> expand_inputs (const BatchSettings &s, std::string &error);

/* {dir} {stem} {name} {ext} of `input` in `templ`. */
std::string render_template (const std::string &templ, const std::string &input);

struct Encoded {
  gemini::GPtr<GBytes> data;
  std::string mime;
  GstClockTime duration = 0;
  bool has_video = false;
  std::optional<gemini::AudioEnvelope> sound;   /* none without audio */
};

/* The whole input as the element would send one segment of it: decoded,
 * then through the engine's SegmentEncoder, with the loudness of its audio
 * for the cue timer. Gives up ("interrupted") once
 * `stop` is set. */
std::optional<Encoded> encode_input (const std::string &path, double fps,
    const std::atomic<bool> &stop, std::string &error);

}  // namespace transcribe
