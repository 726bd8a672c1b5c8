/* What issue 6 asks for and the element does not do yet: each test states
 * the behaviour. Run by hand; once one passes, move it to test_faults.cpp. */
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "contract.h"

using namespace gemini::test;
using gemini::GPtr;

static void
test_connection_dropped_mid_upload_is_retried ()
{
  RunResult r = run_with (R"("file_processing_polls": 0, "faults": [{"match": "upload_chunk",
      "nth": 1, "count": 1, "type": "drop"}])", "max-inline-bytes=0 max-retries=1");
  check_contract (r, {});
  for (guint64 i = 0; i < r.segments.size (); i++) {
    gboolean uploaded = FALSE;
    gst_structure_get_boolean (r.segment (i), "uploaded", &uploaded);
    g_assert_true (uploaded || r.status (i) == "silent");
  }
  g_assert_cmpuint (count_kind (r, "upload_chunk", 0), ==, 1);
  g_assert_cmpuint (r.generate_count (), ==, n_sent (r));
}


int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/faults/connection-dropped-mid-upload-is-retried",
      test_connection_dropped_mid_upload_is_retried);
  return g_test_run ();
}
