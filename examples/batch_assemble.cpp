/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_assemble.h"

#include <algorithm>

#include "assembly.h"
#include "batch.h"
#include "transcript_parser.h"

namespace transcribe {

namespace {

/* The window's answer as the element would have read it, rows outside the
 * window's own stretch dropped (windows overlap); nullopt with the report
 * marked failed. */
std::optional<gemini::SegmentTranscript>
read_window (const InputState &in, const WindowState &w, const std::optional<WindowAnswer> &a,
    const gemini::BatchWindowReading &reading, SegmentReport &report)
{
  if (!a || !a->error.empty ()) {
    report.status = "failed";
    report.error = a ? a->error : "no answer";
    return std::nullopt;
  }
  report.prompt_tokens = a->prompt_tokens;
  report.candidates_tokens = a->candidates_tokens;
  report.total_tokens = a->total_tokens;
  report.truncated = a->truncated;
  gemini::ParseContext ctx = reading.parse;
  ctx.truncated = a->truncated;
  auto parsed = gemini::parse_transcript (a->text, ctx);
  if (!parsed) {
    report.status = "failed";
    report.error = parsed.error ().describe ();
    return std::nullopt;
  }
  report.status = "ok";
  report.repairs = parsed->repairs;
  const gemini::Window window{ w.start, w.start + w.duration };
  auto &rows = parsed->utterances;
  rows.erase (std::remove_if (rows.begin (), rows.end (), [&] (const gemini::Utterance &u) {
        return !reading.keeps (u.start, window, in.duration); }), rows.end ());
  return std::move (parsed.value ());
}

}  // namespace

Transcript
assemble (const InputState &in, const std::string &model,
    const std::vector<std::optional<WindowAnswer>> &answers,
    const gemini::AudioEnvelope *sound)
{
  Transcript t;
  t.input = in.path;
  t.model = model;
  t.duration = in.duration;
  t.has_audio = true;
  t.has_video = in.has_video;
  gemini::BatchMedia media;
  media.duration = in.duration;
  media.has_video = in.has_video;
  gemini::Assembly assembly;
  for (size_t i = 0; i < in.windows.size (); i++) {
    const WindowState &w = in.windows[i];
    SegmentReport report;
    report.index = i;
    report.start = w.start;
    report.duration = w.duration;
    report.media_bytes = in.windows.size () == 1 ? (guint64) in.media_bytes : 0;
    const gemini::BatchWindowReading reading =
        gemini::batch_window_reading (media, gemini::Window{ w.start, w.start + w.duration });
    auto transcript = read_window (in, w, answers[i], reading, report);
    t.segments.push_back (std::move (report));
    if (!transcript)
      continue;

    gemini::AssembledSegment a = assembly.add (*transcript, reading.origin,
        w.start + w.duration, 0, sound);
    for (auto &placed : a.utterances) {
      Utterance u;
      static_cast<gemini::TimedUtterance &> (u) = std::move (placed);
      u.segment = i;
      t.utterances.push_back (std::move (u));
    }
    for (const auto &c : a.cues) {
      const gemini::RegisteredSpeaker *sp = assembly.find (c.speaker_id);
      t.cues.push_back (Cue{c.pts, c.duration, c.text, c.markup, c.speaker_id,
            sp && sp->info.identified () ? sp->info.name : std::string (gemini::UNKNOWN)});
    }
  }
  for (Speaker sp : assembly.registry ().speakers ()) {
    for (auto field : {&gemini::Speaker::name, &gemini::Speaker::company,
             &gemini::Speaker::position, &gemini::Speaker::role_in_video})
      sp.info.*field = gemini::or_unknown (sp.info.*field);
    t.speakers.push_back (std::move (sp));
  }
  return t;
}

}  // namespace transcribe
