/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counts glibc's malloc arenas, for the tests that check who chooses the
 * allocator's settings (the application, never the element). */
#pragma once

#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <malloc.h>

#include <glib.h>

namespace gemini::test {

/* glibc's malloc arenas, one `<heap>` each in malloc_info's report. */
inline guint
malloc_arenas ()
{
  char *text = nullptr;
  size_t size = 0;
  FILE *report = open_memstream (&text, &size);
  malloc_info (0, report);
  fclose (report);
  guint n = 0;
  for (const char *p = text; (p = strstr (p, "<heap nr=")) != nullptr; p++)
    n++;
  free (text);
  return n;
}

/* Arenas once eight threads allocate at the same time, each with no
 * arena of its own yet: glibc gives each a new one, up to its limit. */
inline guint
malloc_arenas_with_busy_threads ()
{
  constexpr int kThreads = 8;
  std::barrier all_allocated (kThreads + 1);
  std::barrier counted (kThreads + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++)
    threads.emplace_back ([&] {
          /* volatile: a compiler may otherwise drop an unused malloc/free
           * pair, and the thread would never ask for an arena. */
          void *volatile block = malloc (4096);
          all_allocated.arrive_and_wait ();
          counted.arrive_and_wait ();
          free (block);
        });
  all_allocated.arrive_and_wait ();
  const guint n = malloc_arenas ();
  counted.arrive_and_wait ();
  for (auto &t : threads)
    t.join ();
  return n;
}

}  // namespace gemini::test
