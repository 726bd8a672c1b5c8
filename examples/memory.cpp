/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "memory.h"

#include <string_view>

#include <glib.h>

#include "config.h"

#if defined (HAVE_MALLOC_TRIM) || defined (HAVE_M_ARENA_MAX)
#include <malloc.h>
#endif

namespace transcribe {

/* glibc gives threads their own malloc arenas, up to eight per core. Each
 * streaming segment runs its encoder on new threads, and the memory they
 * free stays in whichever arena it came from: RSS grew by about 4 MB per
 * segment, to 175 MB after 30 minutes of 1080p, and to 80 MB with two
 * arenas. A fixed mmap threshold bounded it as well, but made every
 * upstream that allocates a frame per buffer map and fault in each frame
 * (44 s of system time per 10 minutes of 1080p). AddressSanitizer replaces
 * malloc: neither call would reach an allocator it set up. */
void
limit_malloc_arenas ()
{
#if defined (HAVE_M_ARENA_MAX) && !defined (__SANITIZE_ADDRESS__)
  const gchar *env = g_getenv ("GLIBC_TUNABLES");
  const std::string_view tunables = env != nullptr ? env : "";
  if (g_getenv ("MALLOC_ARENA_MAX") == nullptr
      && tunables.find ("glibc.malloc.arena_max") == std::string_view::npos)
    mallopt (M_ARENA_MAX, 2);
#endif
}

void
release_freed_memory ()
{
#if defined (HAVE_MALLOC_TRIM) && !defined (__SANITIZE_ADDRESS__)
  malloc_trim (0);
#endif
}

}  // namespace transcribe
