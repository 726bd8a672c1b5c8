/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audio_envelope.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gemini {

namespace {

constexpr std::string_view MAGIC = "gemini-envelope-1\n";
constexpr double CENTIBELS = 100.0;

float
db_of (double sum, guint64 count)
{
  if (count == 0 || !(sum > 0.0))
    return AudioEnvelope::SILENCE_DB;
  return std::max (AudioEnvelope::SILENCE_DB,
      static_cast<float> (10.0 * std::log10 (sum / double (count))));
}

void
put_u64 (std::string &out, guint64 v)
{
  v = GUINT64_TO_LE (v);
  out.append (reinterpret_cast<const char *> (&v), sizeof v);
}

guint64
get_u64 (const char *p)
{
  guint64 v;
  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

}  // namespace

double
AudioLevels::rms_db () const
{
  double sum = 0.0;
  guint64 count = 0;
  for (size_t i = 0; i < sums.size (); i++) {
    sum += sums[i];
    count += counts[i];
  }
  return db_of (sum, count);
}

void
AudioEnvelope::close_open_frame ()
{
  if (!open_)
    return;
  db_.push_back (db_of (open_sum_, open_count_));
  open_ = false;
  open_sum_ = 0.0;
  open_count_ = 0;
}

/* Frames come in time order; one that goes back behind the filling frame
 * (overlapping buffers) is dropped, a jump forward is silence. */
void
AudioEnvelope::append_frame (guint64 index, double sum, guint32 count)
{
  if (empty ())
    first_ = index;
  const guint64 filling = first_ + db_.size ();
  if (index < filling)
    return;
  if (index > filling) {
    close_open_frame ();
    db_.resize (index - first_, SILENCE_DB);
  }
  open_ = true;
  open_sum_ += sum;
  open_count_ += count;
}

void
AudioEnvelope::add (const AudioLevels &levels)
{
  for (size_t i = 0; i < levels.sums.size (); i++)
    append_frame (levels.first_frame + i, levels.sums[i], levels.counts[i]);
}

void
AudioEnvelope::add_silence (GstClockTime pts, GstClockTime duration)
{
  if (!GST_CLOCK_TIME_IS_VALID (pts) || !GST_CLOCK_TIME_IS_VALID (duration) || duration == 0)
    return;
  const guint64 last = (pts + duration - 1) / FRAME;
  for (guint64 k = pts / FRAME; k <= last; k++)
    append_frame (k, 0.0, 0);
}

float
AudioEnvelope::level (size_t i) const
{
  if (i < db_.size ())
    return db_[i];
  return open_ && i == db_.size () ? db_of (open_sum_, open_count_) : SILENCE_DB;
}

size_t
AudioEnvelope::frame_at (GstClockTime t) const
{
  if (empty () || t <= start ())
    return 0;
  return std::min<size_t> ((t - start ()) / FRAME, size () - 1);
}

std::string
AudioEnvelope::serialize () const
{
  std::string out (MAGIC);
  put_u64 (out, first_);
  put_u64 (out, size ());
  for (size_t i = 0; i < size (); i++) {
    const double cb = std::clamp (std::round (level (i) * CENTIBELS), -32768.0, 32767.0);
    const guint16 v = GUINT16_TO_LE (static_cast<guint16> (static_cast<gint16> (cb)));
    out.append (reinterpret_cast<const char *> (&v), sizeof v);
  }
  return out;
}

std::optional<AudioEnvelope>
AudioEnvelope::parse (std::string_view bytes)
{
  const size_t header = MAGIC.size () + 2 * sizeof (guint64);
  if (bytes.size () < header || bytes.substr (0, MAGIC.size ()) != MAGIC)
    return std::nullopt;
  const guint64 first = get_u64 (bytes.data () + MAGIC.size ());
  const guint64 n = get_u64 (bytes.data () + MAGIC.size () + sizeof (guint64));
  if (n != (bytes.size () - header) / 2 || (bytes.size () - header) % 2 != 0
      || first > G_MAXUINT64 / FRAME - n)
    return std::nullopt;
  AudioEnvelope env;
  env.first_ = first;
  env.db_.reserve (n);
  for (guint64 i = 0; i < n; i++) {
    guint16 v;
    memcpy (&v, bytes.data () + header + 2 * i, sizeof v);
    env.db_.push_back (static_cast<float> (static_cast<gint16> (GUINT16_FROM_LE (v))
            / CENTIBELS));
  }
  return env;
}

}  // namespace gemini
