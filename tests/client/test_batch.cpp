/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch job module (gst/batch.h) against the in-process emulator:
 * inline and JSONL jobs, polling, per-request errors kept with their key,
 * failed jobs, and requests built like the element's. */
#include <string>
#include <vector>

#include <gst/gst.h>

#include "assert_str.h"
#include "batch.h"
#include "emulator.h"

using namespace gemini;
using gemini::test::Emulator;

namespace {

const char *kScript = R"({"batch": {"pending_ms": 20, "running_ms": 40},
    "transcript": {"speakers": [{"id": "a", "name": "Alice Martin"}],
      "utterances": [{"start": 1.0, "end": 2.0, "speaker": "a", "text": "One."},
                     {"start": 4.0, "end": 5.0, "speaker": "a", "text": "Two."}]},
    "faults": [{"match": "batch_request", "nth": 2, "type": "http", "status": 503,
      "message": "Backend overloaded"}]})";

ClientConfig
config_for (const Emulator &emu)
{
  ClientConfig c;
  c.endpoint = emu.url ();
  c.api_key = "test-key";
  c.retry.initial_delay = 10 * GST_MSECOND;
  c.file_poll_interval = 10 * GST_MSECOND;
  c.resolve_from_environment ();
  return c;
}

BatchPollOptions
fast_polls (std::vector<std::string> *states = nullptr)
{
  BatchPollOptions p;
  p.initial_interval = 10 * GST_MSECOND;
  p.max_interval = 40 * GST_MSECOND;
  if (states)
    p.on_poll = [states] (const BatchJob &j) {
      if (states->empty () || states->back () != batch_state_name (j.state))
        states->emplace_back (batch_state_name (j.state));
    };
  return p;
}

std::vector<BatchRequest>
text_requests (guint n)
{
  std::vector<BatchRequest> out;
  for (guint i = 0; i < n; i++) {
    BatchRequest r;
    r.key = "clip-" + std::to_string (i);
    r.request.parts.push_back (Part::text ("This clip covers 0:00:00.000 to 0:00:03.000 of "
            "the stream."));
    out.push_back (std::move (r));
  }
  return out;
}

guint
count_kind (const Emulator &emu, const char *kind)
{
  GPtr<JsonNode> log = emu.log ();
  return (guint) gemini::test::log_entries (log.get (), kind).size ();
}

void
check_results (const std::vector<BatchResult> &results)
{
  g_assert_cmpuint (results.size (), ==, 3);
  for (guint i = 0; i < 3; i++) {
    const std::string key = "clip-" + std::to_string (i);
    assert_str_eq (results[i].key, key.c_str ());
    g_assert_cmpint (results[i].error.has_value (), ==, i == 1);
  }
  assert_str_eq (results[1].error->status, "UNAVAILABLE");
  g_assert_cmpuint (results[1].error->http_status, ==, 503);
  assert_str_eq (results[1].error->message, "Backend overloaded");
  g_assert_nonnull (strstr (results[0].response->text.c_str (), "One."));
}

void
test_inline_job ()
{
  Emulator emu (kScript);
  Client client (config_for (emu));
  auto sub = submit_batch (client, "gemini-2.5-flash", text_requests (3), {}, nullptr);
  g_assert_true (sub.ok ());
  g_assert_true (sub->input_file.empty ());
  std::vector<std::string> states;
  auto job = wait_for_batch (client, sub->name, fast_polls (&states), nullptr);
  g_assert_true (job.ok ());
  g_assert_true (job->state == BatchState::Succeeded);
  g_assert_cmpint (job->request_count, ==, 3);
  g_assert_cmpint (job->failed, ==, 1);
  assert_str_eq (states.back (), "SUCCEEDED");
  g_assert_cmpuint (states.size (), >=, 2);
  auto results = fetch_batch_results (client, job.value (), {}, nullptr);
  g_assert_true (results.ok ());
  check_results (results.value ());
  g_assert_cmpuint (count_kind (emu, "batch_create"), ==, 1);
  g_assert_cmpuint (count_kind (emu, "upload_start"), ==, 0);
  g_assert_true (client.delete_batch_sync (sub->name, nullptr).ok ());
  g_assert_cmpuint (client.get_batch_sync (sub->name, nullptr).error ().http_status, ==, 404);
}

void
test_jsonl_job_when_over_the_inline_limit ()
{
  Emulator emu (kScript);
  Client client (config_for (emu));
  BatchSubmitOptions opts;
  opts.inline_limit = 100;
  std::string remembered;
  opts.on_input_uploaded = [&] (const FileInfo &f) { remembered = f.name; };
  auto sub = submit_batch (client, "gemini-2.5-flash", text_requests (3), opts, nullptr);
  g_assert_true (sub.ok ());
  g_assert_true (g_str_has_prefix (sub->input_file.c_str (), "files/"));
  assert_str_eq (remembered, sub->input_file.c_str ());
  auto job = wait_for_batch (client, sub->name, fast_polls (), nullptr);
  g_assert_true (job.ok ());
  g_assert_true (g_str_has_prefix (job->responses_file.c_str (), "files/"));
  auto results = fetch_batch_results (client, job.value (), {}, nullptr);
  g_assert_true (results.ok ());
  check_results (results.value ());
  g_assert_cmpuint (count_kind (emu, "upload_start"), ==, 1);
  g_assert_cmpuint (count_kind (emu, "file_download"), ==, 1);

  auto listed = client.list_batches_sync (10, "", nullptr);
  g_assert_true (listed.ok ());
  JsonArray *ops = json_object_get_array_member (json_node_get_object (listed->get ()),
      "operations");
  g_assert_cmpuint (json_array_get_length (ops), ==, 1);
}

void
test_failed_job_and_cancel ()
{
  Emulator emu (R"({"batch": {"pending_ms": 10, "running_ms": 10,
      "outcomes": [{"nth": 1, "state": "FAILED", "message": "Batch failed: overloaded"}]}})");
  Client client (config_for (emu));
  auto sub = submit_batch (client, "gemini-2.5-flash", text_requests (1), {}, nullptr);
  auto job = wait_for_batch (client, sub->name, fast_polls (), nullptr);
  g_assert_true (job->state == BatchState::Failed);
  assert_str_eq (job->error->message, "Batch failed: overloaded");
  g_assert_false (fetch_batch_results (client, job.value (), {}, nullptr).ok ());

  emu.set_script (R"({"batch": {"pending_ms": 60000}})");
  auto slow = submit_batch (client, "gemini-2.5-flash", text_requests (1), {}, nullptr);
  g_assert_true (client.cancel_batch_sync (slow->name, nullptr).ok ());
  auto cancelled = wait_for_batch (client, slow->name, fast_polls (), nullptr);
  g_assert_true (cancelled->state == BatchState::Cancelled);

  GPtr<GCancellable> stop (g_cancellable_new ());
  auto pending = submit_batch (client, "gemini-2.5-flash", text_requests (1), {}, nullptr);
  g_cancellable_cancel (stop.get ());
  g_assert_true (wait_for_batch (client, pending->name, fast_polls (), stop.get ())
      .error ().cancelled ());
}

void
test_windows_and_requests_like_the_element ()
{
  BatchMedia media;
  media.file_uri = "http://127.0.0.1/v1beta/files/abc";
  media.mime_type = "video/webm";
  media.duration = 25 * 60 * GST_SECOND;
  media.has_video = true;
  BatchTranscriptionSettings s;
  s.model = "gemini-2.5-flash";
  s.context = "Interview with Alice Martin";
  s.fps = 0.5;
  g_assert_cmpuint (batch_windows (media, s).size (), ==, 1);
  s.window = 10 * 60 * GST_SECOND;
  auto windows = batch_windows (media, s);
  g_assert_cmpuint (windows.size (), ==, 3);
  g_assert_cmpuint (windows[0].end, ==, windows[1].start);
  g_assert_cmpuint (windows[2].end, ==, media.duration);

  auto req = batch_transcription_request (media, windows[1], s);
  GPtr<gchar> json (json_to_string (request_to_json (req).get (), FALSE));
  const std::string body = json.get ();
  const std::string offset = "\"startOffset\":\"" + std::to_string (windows[1].start /
      GST_SECOND) + "s\"";
  g_assert_nonnull (strstr (body.c_str (), offset.c_str ()));
  g_assert_nonnull (strstr (body.c_str (), "\"fps\":0.5"));
  g_assert_nonnull (strstr (body.c_str (), "MEDIA_RESOLUTION_LOW"));
  g_assert_nonnull (strstr (body.c_str (), "This clip covers 0:08:20.000"));
  g_assert_nonnull (strstr (body.c_str (), "Interview with Alice Martin"));
  g_assert_nonnull (strstr (body.c_str (), "responseSchema"));

  /* the whole file in one request needs no offsets */
  GPtr<gchar> whole (json_to_string (request_to_json (batch_transcription_request (media,
                  Window{ 0, media.duration }, s)).get (), FALSE));
  g_assert_null (strstr (whole.get (), "startOffset"));
  g_assert_nonnull (strstr (whole.get (), "\"temperature\":0"));
  g_assert_nonnull (strstr (whole.get (), "\"topP\":0"));
}

/* Offsets apply to video only: a window of audio is asked for in words
 * over the whole file, its timecodes are the file's, and the rows that
 * start outside it are its neighbours'. */
void
test_audio_windows_in_words ()
{
  BatchMedia media;
  media.file_uri = "http://127.0.0.1/v1beta/files/abc";
  media.mime_type = "audio/ogg";
  media.duration = 25 * 60 * GST_SECOND;
  BatchTranscriptionSettings s;
  s.model = "gemini-3.8-flash";
  s.window = 10 * 60 * GST_SECOND;
  auto windows = batch_windows (media, s);
  g_assert_cmpuint (windows.size (), ==, 3);
  GPtr<gchar> json (json_to_string (request_to_json (batch_transcription_request (media,
                  windows[1], s)).get (), FALSE));
  g_assert_null (strstr (json.get (), "startOffset"));
  g_assert_null (strstr (json.get (), "videoMetadata"));
  g_assert_null (strstr (json.get (), "temperature"));
  g_assert_null (strstr (json.get (), "topP"));
  g_assert_nonnull (strstr (json.get (), "This clip covers 0:00:00.000 to 0:25:00.000"));
  g_assert_nonnull (strstr (json.get (), "Transcribe only the speech from 08:20 to 16:40"));

  const BatchWindowReading r = batch_window_reading (media, windows[1]);
  g_assert_true (r.in_words);
  g_assert_cmpuint (r.origin, ==, 0);
  g_assert_cmpuint (r.parse.duration, ==, media.duration);
  g_assert_false (r.keeps (windows[1].start - GST_SECOND, windows[1], media.duration));
  g_assert_true (r.keeps (windows[1].start, windows[1], media.duration));
  g_assert_false (r.keeps (windows[1].end, windows[1], media.duration));

  media.mime_type = "video/webm";
  media.has_video = true;
  const BatchWindowReading v = batch_window_reading (media, windows[1]);
  g_assert_false (v.in_words);
  g_assert_cmpuint (v.origin, ==, windows[1].start);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/batch/inline-job-results-and-per-request-error", test_inline_job);
  g_test_add_func ("/batch/jsonl-job-when-over-the-inline-limit",
      test_jsonl_job_when_over_the_inline_limit);
  g_test_add_func ("/batch/failed-job-cancel-and-cancellable", test_failed_job_and_cancel);
  g_test_add_func ("/batch/audio-windows-in-words", test_audio_windows_in_words);
  g_test_add_func ("/batch/windows-and-requests-like-the-element",
      test_windows_and_requests_like_the_element);
  return g_test_run ();
}
