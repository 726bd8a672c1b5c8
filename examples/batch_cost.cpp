/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_cost.h"

#include "glib_ptr.h"

using gemini::GPtr;

namespace transcribe {

namespace {

/* USD per million tokens for interactive requests (prompts up to 200k
 * tokens), from ai.google.dev/gemini-api/docs/pricing as quoted on the day
 * in `taken` (this program cannot check them). Batch requests cost
 * BATCH_DISCOUNT of these. A price that holds only until a date has
 * `until` set and the next price in the row after it. No price was
 * published for 3.6 and 3.7 Flash while they were current. */
struct Price {
  const char *model;
  double input;                       /* text, image and video */
  double audio_input;
  double output;                      /* thinking tokens included */
  const char *taken;
  const char *until = nullptr;        /* last day (UTC) it holds, YYYY-MM-DD */
};
constexpr Price PRICES[] = {
  { "gemini-2.5-pro", 1.25, 1.25, 10.00, "2026-03" },
  { "gemini-2.5-flash", 0.30, 1.00, 2.50, "2026-03" },
  { "gemini-2.5-flash-lite", 0.10, 0.30, 0.40, "2026-03" },
  { "gemini-3-flash-preview", 0.50, 1.00, 3.00, "2026-07-04" },
  { "gemini-3.5-flash", 1.50, 1.50, 9.00, "2026-10-07" },
  { "gemini-3.8-flash", 0.75, 0.75, 3.75, "2026-10-07", "2026-12-31" },
  { "gemini-3.8-flash", 1.50, 1.50, 7.50, "2026-10-07" },
};
constexpr double BATCH_DISCOUNT = 0.5;

/* The price of `model` on `today` (UTC, YYYY-MM-DD). */
const Price *
price_of (const std::string &model, const std::string &today)
{
  for (const auto &p : PRICES)
    if (model == p.model && (!p.until || today <= p.until))
      return &p;
  return nullptr;
}

std::string
utc_today ()
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  GPtr<gchar> day (g_date_time_format (now, "%Y-%m-%d"));
  return day.get ();
}

}  // namespace

std::string
cost_line (const std::string &model, gint64 tokens_in, gint64 audio_in, gint64 tokens_out)
{
  const Price *price = price_of (model, utc_today ());
  if (!price)
    return "cost: no price known for " + model + " (docs/batch.md lists the prices "
        "this program knows)";
  const double interactive = ((tokens_in - audio_in) * price->input +
      audio_in * price->audio_input + tokens_out * price->output) / 1e6;
  char line[256];
  g_snprintf (line, sizeof line, "cost: batch $%.4f, interactive $%.4f (%s prices of %s, "
      "batch at %.0f%%)", interactive * BATCH_DISCOUNT, interactive, model.c_str (),
      price->taken, BATCH_DISCOUNT * 100);
  return line;
}

}  // namespace transcribe
