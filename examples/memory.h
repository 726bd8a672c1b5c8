/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocator settings gemini-transcribe makes for its own process. They
 * are process-wide, so the element, a library loaded into someone else's
 * application, leaves them to that application; docs/performance.md has
 * the figures behind them. */
#pragma once

namespace transcribe {

/* At most two glibc malloc arenas, unless the user chose a limit
 * (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in GLIBC_TUNABLES). */
void limit_malloc_arenas ();

/* Hands the pages freed since the last call back to the system: called
 * after each segment, whose encoder threads freed theirs. */
void release_freed_memory ();

}  // namespace transcribe
