/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers for the element tests: generated speech-like audio, the
 * emulator script of a two-speaker interview, bus collection. */
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "emulator.h"
#include "glib_ptr.h"

namespace gemini::test {

/* One scripted utterance: a tone burst in the audio between start and end,
 * and a row the emulator answers with. */
struct ScriptLine {
  double start;
  double end;
  const char *speaker;
  const char *text;
};

/* Three segments' worth of a two-person interview, every burst separated
 * by silence so the segmenter finds quiet points. */
const std::vector<ScriptLine> &interview_lines ();
inline constexpr double INTERVIEW_SECONDS = 14.0;

/* Emulator script: the interview with shuffled voice ids; `extra` is
 * spliced into the top-level object (e.g. "\"faults\": [...]"). */
std::string interview_script (const std::vector<ScriptLine> &lines,
    const std::string &extra = "");

/* S16LE mono 16 kHz, 100 ms per buffer: a 440 Hz tone inside each line's
 * span, silence elsewhere. */
GstBuffer *speech_buffer (const std::vector<ScriptLine> &lines,
    GstClockTime pts, GstClockTime duration = 100 * GST_MSECOND);
inline constexpr const char *SPEECH_CAPS =
    "audio/x-raw,format=S16LE,rate=16000,channels=1,layout=interleaved";

/* The generateContent/streamGenerateContent entries of the emulator log. */
std::vector<JsonObject *> generate_requests (JsonNode *log);

/* Runs a pipeline to EOS (or error/timeout); collects the gemini-* element
 * messages and warnings (as "warning" structures with a "text" field).
 * Returns the error text, empty on EOS. */
std::string run_to_eos (GstElement *pipeline, guint timeout_s,
    std::vector<GstStructure *> *messages);

/* A cue as the element pushed it: text with newlines as spaces, and the
 * speaker name from its GeminiTranscriptMeta. */
struct Cue {
  GstClockTime pts;
  GstClockTime duration;
  std::string text;
  std::string name;
};

/* Cues reach the test through appsink callbacks while the pipeline runs:
 * appsink holds its EOS until every buffer is pulled, so pulling only after
 * the EOS message would never finish. Reads the appsink named "out". */
class CueCollector {
public:
  explicit CueCollector (GstElement *pipeline);
  std::vector<Cue> take ();

private:
  static GstFlowReturn on_sample (GstAppSink *sink, gpointer data);
  std::mutex lock_;
  std::vector<Cue> cues_;
};

}  // namespace gemini::test
