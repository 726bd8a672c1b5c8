/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Progress on stderr: one live line on a terminal, a plain line every few
 * seconds otherwise, nothing with -q. */
#pragma once

#include <string>

#include <gst/gst.h>

namespace transcribe {

struct Transcript;

struct ProgressSnapshot {
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  GstClockTime sent = 0;              /* media handed to the element */
  GstClockTime transcribed = 0;       /* media whose segment was answered */
  guint in_flight = 0;
  gint64 tokens = 0;
};

/* Takes the terminal's character set from the locale (LC_CTYPE only:
 * numbers keep their C form everywhere) and prints g_printerr text in it,
 * transliterated where it cannot show a character: GLib alone prints '?'
 * for the curly quotes of its own messages in a C locale. First in main. */
void use_locale_charset ();

class Progress {
public:
  explicit Progress (bool quiet);

  /* `last` shows the final state even when a line went out just before. */
  void transcription (const ProgressSnapshot &s, bool last = false);
  void rendering (const std::string &output, GstClockTime position, GstClockTime duration);
  /* Ends the live line so that the next message starts on its own line. */
  void finish_line ();
  void message (const std::string &line);
  void speaker_summary (const Transcript &t);
  /* What was repaired in the model's answers, a line per repair. */
  void repairs (const Transcript &t);

private:
  bool due ();
  void show (const std::string &line);

  bool quiet_;
  bool tty_;
  gint64 start_us_;
  gint64 last_us_ = 0;
  size_t live_width_ = 0;
};

/* "1:02:03" or "2:03". */
std::string format_clock (GstClockTime t);

}  // namespace transcribe
