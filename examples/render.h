/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pass 2: the input decoded again and written as a video with the cues,
 * burned in or as a subtitle track. Decoding twice means no raw video waits
 * in memory for Gemini, whatever the length of the file. */
#pragma once

#include <optional>
#include <string>

#include "outputs.h"
#include "progress.h"
#include "transcription.h"

namespace transcribe {

/* Elements the video formats need; empty when all are installed. */
std::string missing_video_elements (Format f, bool burn);

std::optional<Failure> render_video (const std::string &uri, const std::string &path,
    Format f, bool burn, const Transcript &t, Progress &progress);

}  // namespace transcribe
