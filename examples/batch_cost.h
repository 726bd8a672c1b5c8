/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a --batch run cost, from the tokens its answers counted. */
#pragma once

#include <string>

#include <gst/gst.h>

namespace transcribe {

/* The report's "cost: ..." line for `model` at today's (UTC) prices; it
 * says so when this program knows no price for the model. `tokens_in`
 * includes `audio_in`. */
std::string cost_line (const std::string &model, gint64 tokens_in, gint64 audio_in,
    gint64 tokens_out);

}  // namespace transcribe
