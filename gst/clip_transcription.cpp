/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "clip_transcription.h"

namespace gemini {

void
add_usage (UsageMetadata &total, const UsageMetadata &u)
{
  total.prompt_tokens += u.prompt_tokens;
  total.candidates_tokens += u.candidates_tokens;
  total.total_tokens += u.total_tokens;
  total.thoughts_tokens += u.thoughts_tokens;
  total.cached_tokens += u.cached_tokens;
}

namespace {

MediaInput
copy_media (const MediaInput &m)
{
  MediaInput c;
  c.mime_type = m.mime_type;
  c.inline_data = ref_ptr (m.inline_data.get ());
  c.file_uri = m.file_uri;
  c.fps = m.fps;
  c.start_offset = m.start_offset;
  c.end_offset = m.end_offset;
  return c;
}

/* generateContent, or streamGenerateContent handing rows to `on_rows` as
 * they complete; either way the merged answer is returned. */
Result<GenerateResponse>
send (Client &client, const std::string &model, const GenerateRequest &req,
    GCancellable *cancellable, const ParseContext &ctx, const RowsCallback &on_rows)
{
  if (!on_rows)
    return client.generate_content_sync (model, req, cancellable);
  TranscriptStream stream (ctx);
  return client.stream_generate_content_sync (model, req, cancellable,
      [&] (const GenerateResponse &chunk) {
        std::vector<Utterance> rows = stream.push (chunk.text);
        if (!rows.empty ())
          on_rows (std::move (rows));
      });
}

GstClockTime
attempt_timeout (const Client &client, GstClockTime clip)
{
  const GstClockTime base = client.config ().request_timeout;
  if (base == 0 || !GST_CLOCK_TIME_IS_VALID (base) || !GST_CLOCK_TIME_IS_VALID (clip))
    return base;
  return base + answer_allowance (clip);
}

}  // namespace

/* A failed or blocked follow-up leaves the rows already read. */
ClipResult
transcribe_clip (Client &client, const ClipRequest &request, GCancellable *cancellable)
{
  ClipResult out;
  PromptOptions opts = request.prompt;
  ParseContext ctx = request.parse;
  const GstClockTime until = opts.transcribe_until.value_or (ctx.duration);

  for (guint n = 0; n <= MAX_TAIL_REQUESTS; n++) {
    const bool tail = n > 0;
    if (tail) {
      const SegmentTranscript &t = out.transcript;
      if (!t.truncated || !GST_CLOCK_TIME_IS_VALID (t.covered_until)
          || t.covered_until + MIN_TAIL >= until)
        break;
      opts.transcribe_from = t.covered_until;
    }
    GenerateRequest req = request.cached_content.empty ()
        ? build_transcription_request (copy_media (request.media), opts, request.generation)
        : build_cached_transcription_request (request.cached_content, opts,
            request.generation);
    req.attempt_timeout = attempt_timeout (client, ctx.duration);
    out.requests++;
    auto resp = send (client, request.model, req, cancellable, ctx,
        tail ? RowsCallback () : request.on_rows);
    if (!resp) {
      if (!tail) {
        if (resp.error ().fatal ())
          out.fatal = resp.error ();
        out.failure = resp.error ();
        out.error = resp.error ().describe ();
      }
      break;
    }
    add_usage (out.usage, resp->usage);
    if (!resp->model_version.empty ())
      out.model_version = resp->model_version;
    out.raw_text += (tail ? "\n" : "") + resp->text;
    if (resp->blocked ()) {
      if (!tail) {
        out.status = ClipStatus::Blocked;
        out.error = "answer blocked: " + (resp->block_reason.empty () ?
            resp->finish_reason : resp->block_reason);
      }
      break;
    }
    ctx.truncated = resp->truncated ();
    auto parsed = parse_transcript (resp->text, ctx);
    if (!parsed) {
      if (!tail) {
        out.failure = parsed.error ();
        out.error = parsed.error ().describe ();
      }
      break;
    }
    if (tail) {
      merge_tail (out.transcript, std::move (parsed.value ()));
    } else {
      out.transcript = std::move (parsed.value ());
      out.status = ClipStatus::Ok;
    }
  }
  return out;
}

}  // namespace gemini
