/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string>

#include <gst/gst.h>

#include "timecode.h"

using gemini::format_timecode;
using gemini::parse_timecode;

static void
assert_parses (const char *text, GstClockTime expected)
{
  auto t = parse_timecode (text);
  if (!t)
    g_error ("\"%s\" did not parse", text);
  if (*t != expected)
    g_error ("\"%s\" parsed as %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT,
        text, GST_TIME_ARGS (*t), GST_TIME_ARGS (expected));
}

static void
assert_rejects (const char *text)
{
  auto t = parse_timecode (text);
  if (t)
    g_error ("\"%s\" parsed as %" GST_TIME_FORMAT ", expected rejection", text,
        GST_TIME_ARGS (*t));
}

static void
test_minutes_seconds (void)
{
  assert_parses ("00:00", 0);
  assert_parses ("01:15", 75 * GST_SECOND);
  assert_parses ("1:05", 65 * GST_SECOND);
  assert_parses ("75:30", (75 * 60 + 30) * GST_SECOND);
}

static void
test_hours (void)
{
  assert_parses ("1:02:03", 3723 * GST_SECOND);
  assert_parses ("01:02:03", 3723 * GST_SECOND);
  assert_parses ("0:00:07", 7 * GST_SECOND);
}

static void
test_seconds_only (void)
{
  assert_parses ("42", 42 * GST_SECOND);
  assert_parses ("12.5", 12500 * GST_MSECOND);
  assert_parses ("12.5s", 12500 * GST_MSECOND);
  assert_parses ("3 s", 3 * GST_SECOND);
}

static void
test_fractions (void)
{
  assert_parses ("01:15.250", 75250 * GST_MSECOND);
  assert_parses ("01:15,250", 75250 * GST_MSECOND);
  assert_parses ("1:02:03.5", 3723500 * GST_MSECOND);
  assert_parses ("00:01.123456789", GST_SECOND + 123456789);
  assert_rejects ("00:01.1234567891");
  assert_rejects ("00:01.");
}

static void
test_decorations (void)
{
  assert_parses ("  [00:12] ", 12 * GST_SECOND);
  assert_parses ("(01:00)", 60 * GST_SECOND);
  assert_parses ("<0:05>", 5 * GST_SECOND);
}

static void
test_rejects_garbage (void)
{
  assert_rejects ("");
  assert_rejects ("   ");
  assert_rejects ("[]");
  assert_rejects ("abc");
  assert_rejects ("-00:05");
  assert_rejects ("00:-5");
  assert_rejects ("1:2:3:4");
  assert_rejects ("12:");
  assert_rejects (":12");
  assert_rejects ("00:05 to 00:09");
  assert_rejects ("99999999999:00");
}

/* Fields after the first must be < 60: "01:75" and "00:05:500" (frames or
 * milliseconds written as a field) are not guessed at. */
static void
test_rejects_field_overflow (void)
{
  assert_rejects ("01:75");
  assert_rejects ("00:05:500");
  assert_rejects ("1:60:00");
  assert_parses ("59:59", 3599 * GST_SECOND);
}

static void
assert_formats (GstClockTime t, bool millis, const char *expected)
{
  std::string s = format_timecode (t, millis);
  g_assert_cmpstr (s.c_str (), ==, expected);
}

static void
test_format (void)
{
  assert_formats (0, false, "00:00");
  assert_formats (75 * GST_SECOND, false, "01:15");
  assert_formats (3599 * GST_SECOND, false, "59:59");
  assert_formats (3723 * GST_SECOND, false, "1:02:03");
  assert_formats (75250 * GST_MSECOND, true, "01:15.250");
  assert_formats (3723005 * GST_MSECOND, true, "1:02:03.005");
  assert_formats (GST_CLOCK_TIME_NONE, false, "");
}

static void
test_format_round_trips (void)
{
  for (GstClockTime ms = 0; ms < 2 * 3600 * 1000; ms += 7919) {
    GstClockTime t = ms * GST_MSECOND;
    auto back = parse_timecode (format_timecode (t, true));
    g_assert_true (back.has_value ());
    g_assert_cmpuint (*back, ==, t);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/timecode/parses-minutes-seconds", test_minutes_seconds);
  g_test_add_func ("/timecode/parses-hours", test_hours);
  g_test_add_func ("/timecode/parses-bare-seconds-with-suffix", test_seconds_only);
  g_test_add_func ("/timecode/parses-fractions-dot-or-comma", test_fractions);
  g_test_add_func ("/timecode/strips-brackets-and-spaces", test_decorations);
  g_test_add_func ("/timecode/rejects-garbage-negative-empty", test_rejects_garbage);
  g_test_add_func ("/timecode/rejects-non-leading-field-over-59", test_rejects_field_overflow);
  g_test_add_func ("/timecode/formats-mm-ss-and-h-mm-ss", test_format);
  g_test_add_func ("/timecode/format-parse-round-trip", test_format_round_trips);
  return g_test_run ();
}
