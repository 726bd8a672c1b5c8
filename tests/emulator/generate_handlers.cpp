/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* generateContent and streamGenerateContent (the Developer API's and
 * Vertex's paths, and a batch job's requests), and models.get. */
#include "emulator_private.h"

#include <algorithm>
#include <tuple>

#include "answers.h"
#include "json_helpers.h"

namespace gemini::test::emu {

void
Server::handle_generate (const CallPtr &call)
{
  if (call->stream) {
    const char *alt = call->param ("alt");
    call->sse = alt && g_str_equal (alt, "sse");
  }
  if (!read_generate_request (call))
    return;
  const bool answered = faulted (call);
  {
    std::lock_guard<std::mutex> lk (lock);
    call->request_index = generate_count++;
  }
  if (!answered)
    inspect_and_answer (call);
}

/* Checks the request and what it refers to, into call->req; false when it
 * was refused. */
bool
Server::read_generate_request (const CallPtr &call)
{
  gint64 max_inline;
  bool known_model;
  {
    std::lock_guard<std::mutex> lk (lock);
    max_inline = script.max_inline_bytes;
    known_model = script.knows_model (call->model);
  }
  if (!known_model) {
    std::string text = call->vertex ?
        "Publisher Model `publishers/google/models/" + call->model +
        "` was not found or your project does not have access to it. Please "
        "ensure you are using a valid model version. For more information, "
        "see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/"
        "model-versions" :
        "models/" + call->model + " is not found for API version " +
        call->version + ", or is not supported for generateContent. Call "
        "ListModels to see the list of available models and their supported "
        "methods.";
    respond_error (call, ApiError::make (404, "NOT_FOUND", text));
    return false;
  }

  std::string body = body_string (call->msg.get ());
  if ((gint64) body.size () > max_inline) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Request payload size exceeds the limit: " +
            std::to_string (max_inline) + " bytes."));
    return false;
  }
  std::string parse_error;
  GPtr<JsonNode> root = parse_json (body, &parse_error);
  if (!root) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Invalid JSON payload received. " + parse_error));
    return false;
  }
  log_body (call, body);

  Validator v;
  if (!v.request (root.get (), call->req)) {
    respond_error (call, *v.error);
    return false;
  }
  log_string (call, "prompt", call->req.prompt);
  log_set (call, "video_metadata",
      json_node_init_array (json_node_alloc (), call->req.video_metadata.get ()));
  if (call->req.generation_config)
    log_set (call, "generation_config",
        json_node_copy (call->req.generation_config.get ()));

  std::optional<ApiError> error = files.resolve (call->req);
  if (!error)
    error = caches.resolve (call->req, call->model);
  if (error) {
    respond_error (call, *error);
    return false;
  }
  return true;
}

/* Inline media is decoded off the server thread before the answer. */
void
Server::inspect_and_answer (const CallPtr &call)
{
  bool has_inline = std::any_of (call->req.media.begin (),
      call->req.media.end (), [] (const MediaPart &m) {
        return (bool) m.inline_data;
      });
  if (!has_inline) {
    finish_generate (call);
    return;
  }
  /* The worker gets its own references to the blobs, never the Call. */
  auto jobs = std::make_shared<std::vector<std::pair<GPtr<GBytes>,
      std::string>>> ();
  for (const auto &m : call->req.media)
    jobs->emplace_back (m.inline_data ? ref_ptr (m.inline_data.get ()) :
        GPtr<GBytes> (), m.mime);
  auto results = std::make_shared<std::vector<std::optional<MediaInfo>>> ();
  offload (call, [jobs, results] {
        for (const auto &[data, mime] : *jobs)
          results->push_back (data ?
              std::optional<MediaInfo> (inspect_media (data.get (), mime)) :
              std::nullopt);
      }, [this, call, results] {
        for (gsize i = 0; i < results->size (); i++)
          if ((*results)[i])
            call->req.media[i].info = *(*results)[i];
        finish_generate (call);
      });
}

void
Server::finish_generate (const CallPtr &call)
{
  ParsedRequest &req = call->req;
  JsonArray *media = json_array_new ();
  bool decodable = true;
  double seconds = 0;
  for (const auto &m : req.media) {
    json_array_add_element (media, m.info.to_json ());
    decodable = decodable && m.info.decodable;
    seconds += media_seconds (m);
  }
  log_set (call, "media", json_node_init_array (json_node_alloc (), media));
  json_array_unref (media);
  if (!decodable) {
    respond_error (call, ApiError::make (400, "INVALID_ARGUMENT",
            "Request contains an invalid argument."));
    return;
  }

  Clip clip = clip_of (req);
  log_set (call, "clip", clip.to_json ());

  Answer answer;
  double latency;
  double chars_per_second;
  {
    std::lock_guard<std::mutex> lk (lock);
    answer.text = scripted_text (script, clip, call->request_index, req.prompt);
    latency = script.latency_ms + script.latency_per_media_second_ms * seconds;
    chars_per_second = script.output_chars_per_second;
  }
  if (call->fault) {
    latency += call->fault_delay_ms ();
    apply_fault (*call->fault, answer);
  }
  send_answer (call, answer, latency, chars_per_second);
}

void
Server::send_answer (const CallPtr &call, const Answer &answer, double latency,
    double chars_per_second)
{
  const std::optional<Fault> &f = call->fault;
  Usage usage = usage_of (call->req, call->model);
  usage.cached += call->req.cached_tokens;
  usage.candidates = g_utf8_strlen (answer.text.c_str (), -1) / 4;
  std::string response_id = random_id (20);
  /* Paced output streams in events of about 100 characters, as the service
   * sends a few dozen tokens at a time. */
  const glong answer_chars = g_utf8_strlen (answer.text.c_str (), -1);
  const int pieces = !call->stream ? 1 : chars_per_second > 0
      ? (int) std::max<glong> (3, answer_chars / 100) : 3;
  auto chunks = response_chunks (answer, usage, call->model, response_id, pieces);
  if (chars_per_second > 0 && call->stream && call->sse && !f) {
    respond_paced (call, chunks, latency, answer_chars / chars_per_second * 1000.0);
    return;
  }
  if (chars_per_second > 0)
    latency += answer_chars / chars_per_second * 1000.0;

  std::string body;
  const char *content_type = "application/json; charset=UTF-8";
  const bool mid_stream_error = f && f->type == "http" && f->mid_stream;
  if (call->stream) {
    const std::string error = mid_stream_error ?
        fault_error (*f, call->model).body () : "";
    body = stream_body (chunks, call->sse, mid_stream_error ? &error : nullptr);
    if (call->sse)
      content_type = "text/event-stream";
  } else if (mid_stream_error) {
    respond_error (call, fault_error (*f, call->model));
    return;
  } else {
    body = chunks.front ();
  }
  defer (call, latency, [this, call, body, content_type] {
        respond (call, 200, body, content_type);
      });
}

/* models.get: a Model resource (model.proto) for the models the script knows. */
void
Server::handle_model_get (const CallPtr &call)
{
  gint64 input = kDefaultInputTokenLimit, output = kDefaultOutputTokenLimit;
  bool known;
  {
    std::lock_guard<std::mutex> lk (lock);
    known = script.knows_model (call->model);
    if (auto it = script.model_limits.find (call->model); it != script.model_limits.end ())
      std::tie (input, output) = it->second;
  }
  if (!known) {
    respond_error (call, ApiError::make (404, "NOT_FOUND", "models/" + call->model
            + " is not found for API version v1beta, or is not supported for "
            "generateContent."));
    return;
  }
  GPtr<JsonObject> root (json_object_new ());
  const std::string name = "models/" + call->model;
  json_object_set_string_member (root.get (), "name", name.c_str ());
  json_object_set_string_member (root.get (), "baseModelId", call->model.c_str ());
  json_object_set_string_member (root.get (), "version", "001");
  json_object_set_string_member (root.get (), "displayName", call->model.c_str ());
  json_object_set_int_member (root.get (), "inputTokenLimit", input);
  json_object_set_int_member (root.get (), "outputTokenLimit", output);
  JsonArray *methods = json_array_new ();
  for (const char *m : { "generateContent", "countTokens", "createCachedContent",
           "batchGenerateContent" })
    json_array_add_string_element (methods, m);
  json_object_set_array_member (root.get (), "supportedGenerationMethods", methods);
  respond (call, 200, to_json_string (root.get ()));
}

}  // namespace gemini::test::emu
