/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SseDecoder: framing, byte-by-byte delivery, bare JSON errors, leftovers. */
#include <gst/gst.h>

#include <string>
#include <vector>

#include "response.h"

using namespace gemini;

namespace {

struct Collected {
  std::vector<std::string> events;
  bool complete = false;
};

/* Feeds input cut at `cut` (and, when step > 0, in step-sized pieces after). */
Collected
decode (const std::string &input, gsize cut, gsize step = 0)
{
  Collected c;
  SseDecoder d;
  auto on_event = [&c] (std::string_view data) { c.events.emplace_back (data); };
  d.push (std::string_view (input).substr (0, cut), on_event);
  if (step == 0) {
    d.push (std::string_view (input).substr (cut), on_event);
  } else {
    for (gsize pos = cut; pos < input.size (); pos += step)
      d.push (std::string_view (input).substr (pos, step), on_event);
  }
  c.complete = d.finish (on_event);
  return c;
}

void
assert_events (const Collected &c, const std::vector<std::string> &expected, bool complete)
{
  g_assert_cmpuint (c.events.size (), ==, expected.size ());
  for (gsize i = 0; i < expected.size (); i++)
    g_assert_cmpstr (c.events[i].c_str (), ==, expected[i].c_str ());
  g_assert_true (c.complete == complete);
}

void
test_every_byte_boundary ()
{
  const std::string input =
      "data: {\"a\":1}\n\n"
      "data: {\"b\":2}\r\n\r\n"
      "data:{\"c\":3}\r\r"
      ": keep-alive comment\n\n"
      "event: message\nid: 7\nretry: 100\ndata: {\"d\":4}\n\n";
  const std::vector<std::string> expected = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"};

  for (gsize cut = 0; cut <= input.size (); cut++)
    assert_events (decode (input, cut), expected, true);
  assert_events (decode (input, 0, 1), expected, true);
}

void
test_multi_line_data_joined ()
{
  const std::string input = "data: {\"text\":\ndata:  \"two\"}\r\n\r\n";
  for (gsize cut = 0; cut <= input.size (); cut++)
    /* One optional space is stripped, the second stays. */
    assert_events (decode (input, cut), {"{\"text\":\n \"two\"}"}, true);
}

void
test_bare_json_error ()
{
  const std::string input =
      "data: {\"candidates\":[]}\n\n"
      "{\n"
      "  \"error\": {\n"
      "    \"code\": 500,\n"
      "    \"message\": \"brace } in a string {\",\n"
      "    \"status\": \"INTERNAL\"\n"
      "  }\n"
      "}\n";
  for (gsize cut = 0; cut <= input.size (); cut++) {
    Collected c = decode (input, cut);
    g_assert_cmpuint (c.events.size (), ==, 2);
    g_assert_true (c.complete);
    auto parsed = parse_generate_response (c.events[1]);
    g_assert_false (parsed.ok ());
    g_assert_cmpuint (parsed.error ().http_status, ==, 500);
    g_assert_cmpstr (parsed.error ().message.c_str (), ==, "brace } in a string {");
  }
}

void
test_leftover_is_incomplete ()
{
  assert_events (decode ("data: {\"a\":1}\n\ndata: {\"b\"", 5), {"{\"a\":1}"}, false);
  assert_events (decode ("data: {\"a\":1}\n", 3), {}, false);
  assert_events (decode ("{\"error\": {\"code\": 1", 3), {}, false);
  assert_events (decode ("", 0), {}, true);
  /* A trailing CR at the end of the body still ends the line. */
  assert_events (decode ("data: x\r\r", 8), {"x"}, true);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/sse/events-survive-a-split-at-every-byte", test_every_byte_boundary);
  g_test_add_func ("/sse/multi-line-data-joined-with-newline", test_multi_line_data_joined);
  g_test_add_func ("/sse/bare-json-error-object-is-an-event", test_bare_json_error);
  g_test_add_func ("/sse/leftover-bytes-make-finish-false", test_leftover_is_incomplete);

  return g_test_run ();
}
