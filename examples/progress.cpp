/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "progress.h"

#include <clocale>
#include <cstdio>
#include <unistd.h>

#include "glib_ptr.h"
#include "run_transcript.h"

namespace transcribe {

using gemini::GPtr;

namespace {

constexpr gint64 TTY_INTERVAL_US = 200 * G_TIME_SPAN_MILLISECOND;
constexpr gint64 PLAIN_INTERVAL_US = 5 * G_TIME_SPAN_SECOND;

int
percent (GstClockTime part, GstClockTime whole)
{
  if (!GST_CLOCK_TIME_IS_VALID (whole) || whole == 0)
    return 0;
  return (int) MIN (100, part * 100 / whole);
}

void
print_transliterated (const gchar *text)
{
  GPtr<gchar> ascii (g_str_to_ascii (text, nullptr));
  fputs (ascii.get (), stderr);
}

}  // namespace

void
use_locale_charset ()
{
  setlocale (LC_CTYPE, "");
  if (!g_get_charset (nullptr))
    g_set_printerr_handler (print_transliterated);
}

std::string
format_clock (GstClockTime t)
{
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return "--:--";
  const guint64 s = t / GST_SECOND;
  gchar *text = s >= 3600 ?
      g_strdup_printf ("%u:%02u:%02u", (guint) (s / 3600), (guint) (s / 60 % 60), (guint) (s % 60)) :
      g_strdup_printf ("%u:%02u", (guint) (s / 60), (guint) (s % 60));
  std::string r (text);
  g_free (text);
  return r;
}

Progress::Progress (bool quiet)
  : quiet_ (quiet), tty_ (isatty (STDERR_FILENO)), start_us_ (g_get_monotonic_time ())
{
}

bool
Progress::due ()
{
  const gint64 now = g_get_monotonic_time ();
  if (now - last_us_ < (tty_ ? TTY_INTERVAL_US : PLAIN_INTERVAL_US))
    return false;
  last_us_ = now;
  return true;
}

void
Progress::show (const std::string &line)
{
  if (tty_) {
    /* Pad with spaces so a shorter line hides the end of the previous one. */
    std::string padded = line;
    if (padded.size () < live_width_)
      padded.append (live_width_ - padded.size (), ' ');
    live_width_ = line.size ();
    g_printerr ("\r%s", padded.c_str ());
  } else {
    g_printerr ("%s\n", line.c_str ());
  }
  fflush (stderr);
}

void
Progress::transcription (const ProgressSnapshot &s, bool last)
{
  if (quiet_ || !(due () || last))
    return;
  const GstClockTime elapsed = (g_get_monotonic_time () - start_us_) * GST_USECOND;
  const int done = percent (s.transcribed, s.duration);
  std::string eta = "--:--";
  if (s.transcribed > 0 && GST_CLOCK_TIME_IS_VALID (s.duration) && s.duration > s.transcribed)
    eta = format_clock (gst_util_uint64_scale (elapsed, s.duration - s.transcribed, s.transcribed));
  else if (done == 100)
    eta = "0:00";
  gchar *line = g_strdup_printf ("sent %3d%%  transcribed %3d%%  in flight %u  "
      "tokens %" G_GINT64_FORMAT "  elapsed %s  ETA %s", percent (s.sent, s.duration),
      done, s.in_flight, s.tokens, format_clock (elapsed).c_str (), eta.c_str ());
  show (line);
  g_free (line);
}

void
Progress::rendering (const std::string &output, GstClockTime position, GstClockTime duration)
{
  if (quiet_ || !due ())
    return;
  gchar *line = g_strdup_printf ("writing %s: %d%%", output.c_str (),
      percent (position, duration));
  show (line);
  g_free (line);
}

void
Progress::finish_line ()
{
  if (tty_ && live_width_ > 0) {
    g_printerr ("\n");
    live_width_ = 0;
  }
  last_us_ = 0;
}

void
Progress::message (const std::string &line)
{
  if (quiet_)
    return;
  finish_line ();
  g_printerr ("%s\n", line.c_str ());
}

void
Progress::speaker_summary (const Transcript &t)
{
  if (quiet_)
    return;
  finish_line ();
  if (t.speakers.empty ()) {
    g_printerr ("No speakers found.\n");
    return;
  }
  g_printerr ("%-4s %-24s %-20s %-24s %9s %6s\n", "id", "name", "company",
      "position", "talk time", "lines");
  for (const auto &sp : t.speakers) {
    guint lines = 0;
    for (const auto &u : t.utterances)
      lines += u.speaker_id == sp.id;
    g_printerr ("%-4s %-24s %-20s %-24s %9s %6u\n", sp.id.c_str (),
        sp.info.name.c_str (), sp.info.company.c_str (), sp.info.position.c_str (),
        format_clock ((GstClockTime) (t.talk_seconds (sp.id) * GST_SECOND)).c_str (),
        lines);
  }
}

void
Progress::repairs (const Transcript &t)
{
  /* Each repair is already one line per kind and segment (a million bad
   * rows give one); past this many segments' worth, a count. */
  constexpr gsize SHOWN = 20;
  if (quiet_)
    return;
  finish_line ();
  gsize n = 0;
  for (const auto &s : t.segments) {
    for (const auto &r : s.repairs) {
      if (n++ < SHOWN)
        g_printerr ("note: segment %" G_GUINT64_FORMAT ": %s\n", s.index, r.c_str ());
    }
  }
  if (n > SHOWN)
    g_printerr ("note: %" G_GSIZE_FORMAT " more repairs (the JSON output lists them)\n",
        n - SHOWN);
}

}  // namespace transcribe
