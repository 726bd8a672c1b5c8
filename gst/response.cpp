/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GenerateContentResponse parsing, google.rpc error bodies and SSE framing. */
#include "response.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <libsoup/soup.h>

#include "glib_ptr.h"
#include "json_doc.h"

namespace gemini {

namespace {

constexpr gsize MAX_RAW_MESSAGE = 500;

std::vector<ModalityTokens>
parse_details (JsonObject *usage, const char *name)
{
  std::vector<ModalityTokens> out;
  JsonArray *arr = member_array (usage, name);
  if (!arr)
    return out;
  for (guint i = 0; i < json_array_get_length (arr); i++) {
    JsonNode *node = json_array_get_element (arr, i);
    if (!JSON_NODE_HOLDS_OBJECT (node))
      continue;
    JsonObject *o = json_node_get_object (node);
    out.push_back ({member_string (o, "modality"), member_int (o, "tokenCount")});
  }
  return out;
}

/* Parses the text as JSON; a top-level array (the non-SSE stream form) yields
 * its first element. */
GPtr<JsonNode>
parse_json (std::string_view text, GError **error)
{
  GPtr<JsonNode> root = parse_json_document (text, error);
  if (root && JSON_NODE_HOLDS_ARRAY (root.get ())) {
    JsonArray *arr = json_node_get_array (root.get ());
    return ref_ptr (json_array_get_length (arr) > 0 ? json_array_get_element (arr, 0) : nullptr);
  }
  return root;
}

/* "37s", "0.5s", "45.837906927s" */
std::optional<GstClockTime>
parse_wire_duration (std::string_view s)
{
  if (s.empty () || s.back () != 's')
    return std::nullopt;
  s.remove_suffix (1);

  /* Saturates at some 31 years, far past any wait we honour, so that
   * "18446744074s" cannot wrap round to a short one. */
  constexpr guint64 MAX_SECS = 1000000000;
  guint64 secs = 0;
  gsize i = 0;
  for (; i < s.size () && g_ascii_isdigit (s[i]); i++)
    secs = std::min<guint64> (secs * 10 + (s[i] - '0'), MAX_SECS);
  if (i == 0)
    return std::nullopt;

  guint64 nanos = 0;
  if (i < s.size () && s[i] == '.') {
    guint64 scale = GST_SECOND / 10;
    for (i++; i < s.size () && g_ascii_isdigit (s[i]); i++) {
      nanos += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i != s.size ())
    return std::nullopt;
  return secs * GST_SECOND + nanos;
}

std::string
truncate_utf8 (std::string_view text, gsize max)
{
  if (text.size () <= max)
    return std::string (text);
  gsize cut = max;
  while (cut > 0 && (static_cast<guchar> (text[cut]) & 0xC0) == 0x80)
    cut--;
  return std::string (text.substr (0, cut)) + "...";
}

Error
error_from_object (guint http_status, JsonObject *err)
{
  Error e;
  e.kind = Error::Kind::Http;
  const gint64 code = member_int (err, "code");
  e.http_status = http_status != 0 ? http_status : static_cast<guint> (code);
  e.status = member_string (err, "status");
  e.message = member_string (err, "message");

  if (JsonArray *details = member_array (err, "details")) {
    for (guint i = 0; i < json_array_get_length (details); i++) {
      JsonNode *node = json_array_get_element (details, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *d = json_node_get_object (node);
      const std::string type = member_string (d, "@type");

      if (g_str_has_suffix (type.c_str (), "google.rpc.RetryInfo")) {
        e.retry_delay = parse_wire_duration (member_string (d, "retryDelay"));
      } else if (g_str_has_suffix (type.c_str (), "google.rpc.ErrorInfo")) {
        e.reason = member_string (d, "reason");
      } else if (g_str_has_suffix (type.c_str (), "google.rpc.QuotaFailure")) {
        JsonArray *violations = member_array (d, "violations");
        for (guint j = 0; violations && j < json_array_get_length (violations); j++) {
          JsonNode *v = json_array_get_element (violations, j);
          if (JSON_NODE_HOLDS_OBJECT (v)
              && member_string (json_node_get_object (v), "quotaId").find ("PerDay")
                  != std::string::npos)
            e.per_day_quota = true;
        }
      }
    }
  }

  if (e.message.empty () && e.http_status != 0)
    e.message = soup_status_get_phrase (e.http_status);
  return e;
}

}  // namespace

gint64
UsageMetadata::prompt_tokens_for (std::string_view modality) const
{
  gint64 total = 0;
  for (const ModalityTokens &m : prompt_details)
    if (m.modality == modality)
      total += m.tokens;
  return total;
}

bool
GenerateResponse::blocked () const
{
  if (!block_reason.empty ())
    return true;

  static constexpr std::array<const char *, 5> blocking = {
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
  };
  for (const char *reason : blocking)
    if (finish_reason == reason)
      return true;
  return g_str_has_prefix (finish_reason.c_str (), "IMAGE_");
}

void
GenerateResponse::merge_chunk (const GenerateResponse &chunk)
{
  has_candidate = has_candidate || chunk.has_candidate;
  text += chunk.text;
  if (!chunk.finish_reason.empty ())
    finish_reason = chunk.finish_reason;
  if (!chunk.block_reason.empty ())
    block_reason = chunk.block_reason;
  /* Usage is cumulative on the wire: the latest report is the total. */
  if (chunk.usage.total_tokens != 0 || chunk.usage.prompt_tokens != 0)
    usage = chunk.usage;
  if (!chunk.model_version.empty ())
    model_version = chunk.model_version;
  if (!chunk.response_id.empty ())
    response_id = chunk.response_id;
}

Result<GenerateResponse>
parse_generate_response (std::string_view json)
{
  GError *raw_error = nullptr;
  GPtr<JsonNode> root = parse_json (json, &raw_error);
  GPtr<GError> error (raw_error);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return Error::make (Error::Kind::Protocol, std::string ("response is not a JSON object")
        + (error ? std::string (": ") + error->message : std::string ()));

  JsonObject *obj = json_node_get_object (root.get ());
  if (JsonObject *err = member_object (obj, "error"))
    return error_from_object (0, err);

  GenerateResponse r;
  if (JsonArray *cands = member_array (obj, "candidates");
      cands && json_array_get_length (cands) > 0) {
    JsonNode *first = json_array_get_element (cands, 0);
    if (JSON_NODE_HOLDS_OBJECT (first)) {
      JsonObject *cand = json_node_get_object (first);
      r.has_candidate = true;
      r.finish_reason = member_string (cand, "finishReason");
      JsonArray *parts = member_array (member_object (cand, "content"), "parts");
      for (guint i = 0; parts && i < json_array_get_length (parts); i++) {
        JsonNode *pn = json_array_get_element (parts, i);
        if (!JSON_NODE_HOLDS_OBJECT (pn))
          continue;
        JsonObject *part = json_node_get_object (pn);
        if (member_bool (part, "thought"))
          continue;
        r.text += member_string (part, "text");
      }
    }
  }

  r.block_reason = member_string (member_object (obj, "promptFeedback"), "blockReason");

  if (JsonObject *u = member_object (obj, "usageMetadata")) {
    r.usage.prompt_tokens = member_int (u, "promptTokenCount");
    r.usage.candidates_tokens = member_int (u, "candidatesTokenCount");
    r.usage.total_tokens = member_int (u, "totalTokenCount");
    r.usage.thoughts_tokens = member_int (u, "thoughtsTokenCount");
    r.usage.cached_tokens = member_int (u, "cachedContentTokenCount");
    r.usage.prompt_details = parse_details (u, "promptTokensDetails");
    r.usage.candidates_details = parse_details (u, "candidatesTokensDetails");
    r.usage.cache_details = parse_details (u, "cacheTokensDetails");
  }

  r.model_version = member_string (obj, "modelVersion");
  r.response_id = member_string (obj, "responseId");
  return r;
}

Error
parse_error_body (guint http_status, std::string_view body)
{
  GPtr<JsonNode> root = parse_json (body, nullptr);
  if (root && JSON_NODE_HOLDS_OBJECT (root.get ())) {
    if (JsonObject *err = member_object (json_node_get_object (root.get ()), "error"))
      return error_from_object (http_status, err);
  }

  Error e;
  e.kind = Error::Kind::Http;
  e.http_status = http_status;

  std::string_view trimmed = body;
  while (!trimmed.empty () && g_ascii_isspace (trimmed.back ()))
    trimmed.remove_suffix (1);
  while (!trimmed.empty () && g_ascii_isspace (trimmed.front ()))
    trimmed.remove_prefix (1);

  if (!trimmed.empty ())
    e.message = truncate_utf8 (trimmed, MAX_RAW_MESSAGE);
  else if (http_status != 0)
    e.message = soup_status_get_phrase (http_status);
  return e;
}

void
SseDecoder::push (std::string_view bytes, const EventCallback &on_event)
{
  buffer_.append (bytes);
  process (on_event, false);
}

bool
SseDecoder::finish (const EventCallback &on_event)
{
  process (on_event, true);
  const bool complete = buffer_.empty () && !has_data_ && raw_depth_ == 0;
  buffer_.clear ();
  scanned_ = 0;
  data_.clear ();
  raw_.clear ();
  has_data_ = false;
  raw_depth_ = 0;
  raw_in_string_ = false;
  raw_escape_ = false;
  return complete;
}

void
SseDecoder::process (const EventCallback &on_event, bool at_end)
{
  gsize pos = 0;

  /* Only the bytes not searched before are searched: a line that never
   * ends costs each byte once, not once per push. */
  while (pos < buffer_.size ()) {
    const gsize eol = buffer_.find_first_of ("\r\n", std::max (pos, scanned_));
    if (eol == std::string::npos)
      break;

    gsize next = eol + 1;
    if (buffer_[eol] == '\r') {
      /* A CR at the end of what we have may be the first half of a CRLF. */
      if (next == buffer_.size () && !at_end)
        break;
      if (next < buffer_.size () && buffer_[next] == '\n')
        next++;
    }

    std::string_view line (buffer_.data () + pos, eol - pos);
    pos = next;
    process_line (line, on_event);
  }

  buffer_.erase (0, pos);
  /* A lone CR at the end is looked at again with the next bytes. */
  scanned_ = !buffer_.empty () && buffer_.back () == '\r' ? buffer_.size () - 1
      : buffer_.size ();
}

void
SseDecoder::process_line (std::string_view line, const EventCallback &on_event)
{
  if (raw_depth_ > 0) {
    feed_raw (line, on_event);
    return;
  }

  if (line.empty ()) {
    if (has_data_) {
      std::string data = std::move (data_);
      data_.clear ();
      has_data_ = false;
      on_event (data);
    }
    return;
  }

  if (line.front () == ':')
    return;

  /* An error mid-stream comes as bare, possibly multi-line, JSON. */
  if (line.front () == '{' && !has_data_) {
    feed_raw (line, on_event);
    return;
  }

  const gsize colon = line.find (':');
  std::string_view field = line.substr (0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr (colon + 1);
    if (!value.empty () && value.front () == ' ')
      value.remove_prefix (1);
  }

  if (field == "data") {
    if (has_data_)
      data_ += '\n';
    data_.append (value);
    has_data_ = true;
  }
}

void
SseDecoder::feed_raw (std::string_view line, const EventCallback &on_event)
{
  for (char c : line) {
    if (raw_in_string_) {
      if (raw_escape_)
        raw_escape_ = false;
      else if (c == '\\')
        raw_escape_ = true;
      else if (c == '"')
        raw_in_string_ = false;
    } else if (c == '"') {
      raw_in_string_ = true;
    } else if (c == '{') {
      raw_depth_++;
    } else if (c == '}') {
      raw_depth_--;
    }
  }
  raw_ += line;
  raw_ += '\n';

  if (raw_depth_ <= 0) {
    std::string raw = std::move (raw_);
    raw_.clear ();
    raw_depth_ = 0;
    raw_in_string_ = false;
    raw_escape_ = false;
    on_event (raw);
  }
}

}  // namespace gemini
