/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Response parsing, google.rpc error bodies and Error classification. */
#include <gst/gst.h>

#include "assert_str.h"
#include "response.h"

using namespace gemini;

namespace {

void
test_thought_parts_are_skipped ()
{
  auto r = parse_generate_response (R"({
    "candidates": [{"content": {"role": "model", "parts": [
        {"text": "thinking about it", "thought": true},
        {"text": "{\"a\": "},
        {"text": "1}"}]},
      "finishReason": "STOP"}],
    "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"})");
  g_assert_true (r.ok ());
  g_assert_true (r->has_candidate);
  g_assert_cmpstr (r->text.c_str (), ==, "{\"a\": 1}");
  g_assert_cmpstr (r->finish_reason.c_str (), ==, "STOP");
  g_assert_cmpstr (r->model_version.c_str (), ==, "gemini-2.5-flash");
  g_assert_cmpstr (r->response_id.c_str (), ==, "resp-1");
  g_assert_false (r->blocked ());
  g_assert_false (r->truncated ());
}

void
test_usage_details_numbers_or_strings ()
{
  auto r = parse_generate_response (R"({
    "candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "MAX_TOKENS"}],
    "usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": "34",
      "totalTokenCount": 1300, "thoughtsTokenCount": 66, "cachedContentTokenCount": "500",
      "promptTokensDetails": [{"modality": "VIDEO", "tokenCount": 900},
        {"modality": "AUDIO", "tokenCount": "280"}, {"modality": "TEXT", "tokenCount": 20}],
      "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 34}],
      "cacheTokensDetails": [{"modality": "VIDEO", "tokenCount": 500}]}})");
  g_assert_true (r.ok ());
  const UsageMetadata &u = r->usage;
  g_assert_cmpint (u.prompt_tokens, ==, 1200);
  g_assert_cmpint (u.candidates_tokens, ==, 34);
  g_assert_cmpint (u.total_tokens, ==, 1300);
  g_assert_cmpint (u.thoughts_tokens, ==, 66);
  g_assert_cmpint (u.cached_tokens, ==, 500);
  g_assert_cmpuint (u.prompt_details.size (), ==, 3);
  g_assert_cmpint (u.prompt_tokens_for ("VIDEO"), ==, 900);
  g_assert_cmpint (u.prompt_tokens_for ("AUDIO"), ==, 280);
  g_assert_cmpint (u.prompt_tokens_for ("IMAGE"), ==, 0);
  g_assert_cmpuint (u.candidates_details.size (), ==, 1);
  g_assert_cmpint (u.cache_details.at (0).tokens, ==, 500);

  /* Found by the fuzzer: an absurd count is not a conversion out of range. */
  auto huge = parse_generate_response (R"({"candidates": [],
    "usageMetadata": {"promptTokenCount": 4e+29, "totalTokenCount": 12.0}})");
  g_assert_true (huge.ok ());
  g_assert_cmpint (huge->usage.prompt_tokens, ==, 0);
  g_assert_cmpint (huge->usage.total_tokens, ==, 12);
  g_assert_true (r->truncated ());
}

void
test_blocked_reasons ()
{
  for (const char *reason : {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
           "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT"}) {
    std::string json = std::string (R"({"candidates": [{"finishReason": ")") + reason + "\"}]}";
    auto r = parse_generate_response (json);
    g_assert_true (r.ok ());
    g_assert_true (r->blocked ());
  }
  for (const char *reason : {"STOP", "MAX_TOKENS", "LANGUAGE", "OTHER", "SOMETHING_NEW"}) {
    std::string json = std::string (R"({"candidates": [{"finishReason": ")") + reason + "\"}]}";
    auto r = parse_generate_response (json);
    g_assert_true (r.ok ());
    g_assert_false (r->blocked ());
  }

  auto prompt = parse_generate_response (R"({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
    "usageMetadata": {"promptTokenCount": 10, "totalTokenCount": 10}})");
  g_assert_true (prompt.ok ());
  g_assert_false (prompt->has_candidate);
  g_assert_cmpstr (prompt->block_reason.c_str (), ==, "PROHIBITED_CONTENT");
  g_assert_true (prompt->blocked ());
}

void
test_error_in_200_body ()
{
  auto r = parse_generate_response (R"({"error": {"code": 503, "status": "UNAVAILABLE",
    "message": "The model is overloaded."}})");
  g_assert_false (r.ok ());
  g_assert_true (r.error ().kind == Error::Kind::Http);
  g_assert_cmpuint (r.error ().http_status, ==, 503);
  g_assert_cmpstr (r.error ().status.c_str (), ==, "UNAVAILABLE");
  g_assert_true (r.error ().retryable ());

  auto bad = parse_generate_response ("{\"candidates\": [");
  g_assert_false (bad.ok ());
  g_assert_true (bad.error ().kind == Error::Kind::Protocol);
}

void
test_retry_info_delay ()
{
  struct { const char *wire; GstClockTime expected; } cases[] = {
    {"37s", 37 * GST_SECOND},
    {"0.5s", 500 * GST_MSECOND},
    {"45.837906927s", 45 * GST_SECOND + 837906927},
  };
  for (const auto &c : cases) {
    std::string body = std::string (R"({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
      "message": "Quota exceeded", "details": [
        {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": ")")
        + c.wire + "\"}]}}";
    Error e = parse_error_body (429, body);
    g_assert_true (e.kind == Error::Kind::Http);
    g_assert_cmpuint (e.http_status, ==, 429);
    g_assert_true (e.retry_delay.has_value ());
    g_assert_cmpuint (*e.retry_delay, ==, c.expected);
    g_assert_true (e.retryable ());
    g_assert_false (e.fatal ());
  }

  Error e = parse_error_body (429, R"({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
    "message": "Quota exceeded", "details": [
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.3s"}]}})");
  assert_str_eq (e.describe (), "HTTP 429 RESOURCE_EXHAUSTED: Quota exceeded (retry in 0.3 s)");
}

void
test_per_day_quota_not_retryable ()
{
  Error e = parse_error_body (429, R"({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
    "message": "You exceeded your current quota", "details": [
      {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
        {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
         "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "20s"}]}})");
  g_assert_true (e.per_day_quota);
  g_assert_false (e.retryable ());

  Error minute = parse_error_body (429, R"({"error": {"code": 429, "details": [
      {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
        {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]}]}})");
  g_assert_false (minute.per_day_quota);
  g_assert_true (minute.retryable ());
  /* No message in the body: the reason phrase stands in. */
  g_assert_false (minute.message.empty ());
}

void
test_non_json_body ()
{
  Error e = parse_error_body (502, "<html><body>Bad Gateway</body></html>\n");
  g_assert_cmpstr (e.message.c_str (), ==, "<html><body>Bad Gateway</body></html>");
  g_assert_true (e.retryable ());

  std::string long_body (2000, 'x');
  Error l = parse_error_body (500, long_body);
  g_assert_cmpuint (l.message.size (), <=, 503);
  g_assert_true (g_str_has_prefix (l.message.c_str (), "xxxx"));

  Error empty = parse_error_body (503, "");
  g_assert_cmpstr (empty.message.c_str (), ==, "Service Unavailable");
  assert_str_eq (empty.describe (), "HTTP 503: Service Unavailable");
}

void
test_classification ()
{
  auto http = [] (guint status) {
    Error e;
    e.kind = Error::Kind::Http;
    e.http_status = status;
    return e;
  };
  for (guint s : {408u, 429u, 500u, 502u, 503u, 504u})
    g_assert_true (http (s).retryable ());
  for (guint s : {400u, 401u, 403u, 404u, 409u, 501u})
    g_assert_false (http (s).retryable ());

  g_assert_true (Error::make (Error::Kind::Transport, "reset").retryable ());
  g_assert_true (Error::make (Error::Kind::Timeout, "slow").retryable ());
  g_assert_false (Error::make (Error::Kind::Cancelled, "").retryable ());
  g_assert_false (Error::make (Error::Kind::Protocol, "").retryable ());

  g_assert_true (http (401).fatal ());
  g_assert_true (http (403).fatal ());
  g_assert_false (http (400).fatal ());
  g_assert_false (http (404).fatal ());
  Error model = http (404);
  model.model_call = true;
  g_assert_true (model.fatal ());

  Error key = parse_error_body (400, R"({"error": {"code": 400, "status": "INVALID_ARGUMENT",
    "message": "API key not valid. Please pass a valid API key.", "details": [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
     "domain": "googleapis.com"}]}})");
  g_assert_cmpstr (key.reason.c_str (), ==, "API_KEY_INVALID");
  g_assert_true (key.fatal ());
  g_assert_false (key.retryable ());

  Error by_message = parse_error_body (400, R"({"error": {"code": 400,
    "message": "API key not valid. Please pass a valid API key."}})");
  g_assert_true (by_message.fatal ());

  assert_str_eq (Error::make (Error::Kind::Timeout, "no answer within 0.500 s").describe (), "timeout: no answer within 0.500 s");
  Error multi = Error::make (Error::Kind::Protocol, "line one\nline two");
  g_assert_null (strchr (multi.describe ().c_str (), '\n'));
}

void
test_merge_chunk ()
{
  GenerateResponse agg;
  auto a = parse_generate_response (R"({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}],
    "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}, "modelVersion": "m1"})");
  auto b = parse_generate_response (R"({"candidates": [{"content": {"parts": [{"text": "lo"}]},
    "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2,
    "totalTokenCount": 7}, "responseId": "r9"})");
  g_assert_true (a.ok () && b.ok ());
  agg.merge_chunk (a.value ());
  agg.merge_chunk (b.value ());
  g_assert_cmpstr (agg.text.c_str (), ==, "Hello");
  g_assert_cmpstr (agg.finish_reason.c_str (), ==, "STOP");
  g_assert_cmpint (agg.usage.total_tokens, ==, 7);
  g_assert_cmpint (agg.usage.candidates_tokens, ==, 2);
  g_assert_cmpstr (agg.model_version.c_str (), ==, "m1");
  g_assert_cmpstr (agg.response_id.c_str (), ==, "r9");
  g_assert_true (agg.has_candidate);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/response/thought-parts-are-skipped", test_thought_parts_are_skipped);
  g_test_add_func ("/response/usage-details-accept-numbers-and-strings",
      test_usage_details_numbers_or_strings);
  g_test_add_func ("/response/blocked-covers-safety-reasons-not-language",
      test_blocked_reasons);
  g_test_add_func ("/response/error-in-200-body-is-an-error", test_error_in_200_body);
  g_test_add_func ("/response/retry-info-delay-parsed-to-nanoseconds", test_retry_info_delay);
  g_test_add_func ("/response/per-day-quota-is-not-retryable", test_per_day_quota_not_retryable);
  g_test_add_func ("/response/non-json-error-body-uses-raw-text-or-reason",
      test_non_json_body);
  g_test_add_func ("/response/error-classification-retryable-and-fatal", test_classification);
  g_test_add_func ("/response/merge-chunk-appends-text-keeps-last-usage", test_merge_chunk);

  return g_test_run ();
}
