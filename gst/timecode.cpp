/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "timecode.h"

#include <array>

namespace gemini {

namespace {

bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

std::string_view
trim (std::string_view s)
{
  while (!s.empty () && is_space (s.front ()))
    s.remove_prefix (1);
  while (!s.empty () && is_space (s.back ()))
    s.remove_suffix (1);
  return s;
}

/* Brackets the model sometimes copies from "[00:12]" style transcripts. */
std::string_view
strip_decoration (std::string_view s)
{
  s = trim (s);
  while (s.size () >= 2) {
    char open = s.front (), close = s.back ();
    if ((open == '[' && close == ']') || (open == '(' && close == ')')
        || (open == '<' && close == '>') || (open == '{' && close == '}')) {
      s = trim (s.substr (1, s.size () - 2));
    } else {
      break;
    }
  }
  if (!s.empty () && (s.back () == 's' || s.back () == 'S'))
    s = trim (s.substr (0, s.size () - 1));
  return s;
}

/* Digits only; bounded so that no field can overflow. */
std::optional<guint64>
parse_field (std::string_view s)
{
  if (s.empty () || s.size () > 9)
    return std::nullopt;
  guint64 v = 0;
  for (char c : s) {
    if (!is_digit (c))
      return std::nullopt;
    v = v * 10 + static_cast<guint64> (c - '0');
  }
  return v;
}

/* ".5" -> 500 ms, ",250" -> 250 ms; up to nanosecond precision. */
std::optional<GstClockTime>
parse_fraction (std::string_view s)
{
  if (s.empty () || s.size () > 9)
    return std::nullopt;
  GstClockTime ns = 0, scale = GST_SECOND;
  for (char c : s) {
    if (!is_digit (c))
      return std::nullopt;
    scale /= 10;
    ns += static_cast<GstClockTime> (c - '0') * scale;
  }
  return ns;
}

}  // namespace

/* A field after the leading one that is >= 60 ("01:75", "00:05:500") is
 * rejected rather than carried over: it is not a timecode the model was asked
 * for (often frames or milliseconds written as a field) and guessing would
 * misplace the row; the parser interpolates such rows from their
 * neighbours instead. The leading field may be any size ("75:30"). */
std::optional<GstClockTime>
parse_timecode (std::string_view text)
{
  std::string_view s = strip_decoration (text);
  if (s.empty ())
    return std::nullopt;

  std::string_view fraction;
  auto dot = s.find_first_of (".,");
  if (dot != std::string_view::npos) {
    fraction = s.substr (dot + 1);
    s = s.substr (0, dot);
    if (fraction.empty ())
      return std::nullopt;
  }

  std::array<guint64, 3> fields{};
  gsize n = 0;
  while (true) {
    auto colon = s.find (':');
    if (n == fields.size ())
      return std::nullopt;
    auto v = parse_field (s.substr (0, colon));
    if (!v)
      return std::nullopt;
    fields[n++] = *v;
    if (colon == std::string_view::npos)
      break;
    s = s.substr (colon + 1);
  }

  for (gsize i = 1; i < n; i++) {
    if (fields[i] >= 60)
      return std::nullopt;
  }

  guint64 seconds = 0;
  for (gsize i = 0; i < n; i++)
    seconds = seconds * 60 + fields[i];

  GstClockTime t = seconds * GST_SECOND;
  if (!fraction.empty ()) {
    auto ns = parse_fraction (fraction);
    if (!ns)
      return std::nullopt;
    t += *ns;
  }
  return t;
}

std::string
format_timecode (GstClockTime t, bool millis)
{
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return {};

  guint64 total_ms = t / GST_MSECOND;
  guint64 ms = total_ms % 1000;
  guint64 s = (total_ms / 1000) % 60;
  guint64 m = (total_ms / 60000) % 60;
  guint64 h = total_ms / 3600000;

  char buf[64];
  if (h > 0) {
    g_snprintf (buf, sizeof (buf), "%" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT
        ":%02" G_GUINT64_FORMAT, h, m, s);
  } else {
    g_snprintf (buf, sizeof (buf), "%02" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT, m, s);
  }
  std::string out = buf;
  if (millis) {
    g_snprintf (buf, sizeof (buf), ".%03" G_GUINT64_FORMAT, ms);
    out += buf;
  }
  return out;
}

}  // namespace gemini
