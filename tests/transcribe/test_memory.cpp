/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe's allocator settings (examples/memory.cpp): two malloc
 * arenas, unless the user chose a limit. Each case runs in a process of its
 * own, where nothing else made arenas first. */
#include "malloc_arenas.h"
#include "memory.h"

namespace {

void
test_arenas_capped_at_two ()
{
  if (g_test_subprocess ()) {
    transcribe::limit_malloc_arenas ();
    const guint n = gemini::test::malloc_arenas_with_busy_threads ();
    g_test_message ("%u arenas", n);
    g_assert_cmpuint (n, <=, 2);
    return;
  }
  g_test_trap_subprocess (nullptr, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

void
test_the_users_limit_is_kept ()
{
  if (g_test_subprocess ()) {
    transcribe::limit_malloc_arenas ();
    const guint n = gemini::test::malloc_arenas_with_busy_threads ();
    g_test_message ("%u arenas", n);
    g_assert_cmpuint (n, >, 2);
    return;
  }
  /* glibc reads it when the child starts. */
  g_setenv ("MALLOC_ARENA_MAX", "16", TRUE);
  g_test_trap_subprocess (nullptr, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("MALLOC_ARENA_MAX");
  g_test_trap_assert_passed ();
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
#if defined (__SANITIZE_ADDRESS__)
  /* AddressSanitizer's allocator has no glibc arenas to limit. */
  return 77;
#endif
  g_test_add_func ("/memory/arenas-capped-at-two", test_arenas_capped_at_two);
  g_test_add_func ("/memory/the-users-limit-is-kept", test_the_users_limit_is_kept);
  return g_test_run ();
}
