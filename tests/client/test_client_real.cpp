/* One tiny generateContent against the public Gemini API. Skipped (exit 77)
 * without a key or when GEMINI_TESTS_OFFLINE=1, which the test environment
 * sets by default. */
#include <gst/gst.h>

#include "client.h"

using namespace gemini;

namespace {

void
test_real_generate ()
{
  ClientConfig c;
  c.request_timeout = 60 * GST_SECOND;
  c.retry.max_attempts = 3;
  Client client (c);

  GenerateRequest req;
  req.parts.push_back (Part::text ("Reply with the single word: pong"));
  req.config.max_output_tokens = 64;
  req.config.thinking = ThinkingConfig{0, std::nullopt, false};

  auto r = client.generate_content_sync ("gemini-2.5-flash", req, nullptr);
  if (!r.ok ())
    g_error ("%s", r.error ().describe ().c_str ());
  g_assert_true (r->has_candidate);
  g_assert_false (r->text.empty ());
  g_assert_cmpint (r->usage.total_tokens, >, 0);
  g_test_message ("answer: %s (model %s)", r->text.c_str (), r->model_version.c_str ());
}

}  // namespace

int
main (int argc, char **argv)
{
  const char *offline = g_getenv ("GEMINI_TESTS_OFFLINE");
  const char *google = g_getenv ("GOOGLE_API_KEY");
  const char *gemini = g_getenv ("GEMINI_API_KEY");
  const bool has_key = (google && *google) || (gemini && *gemini);
  if ((offline && g_str_equal (offline, "1")) || !has_key)
    return 77;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/client/real/generate-content-text-only", test_real_generate);
  return g_test_run ();
}
