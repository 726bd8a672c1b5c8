#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets with clang (ASan + UBSan) straight from the
# engine sources and runs each for SECONDS (default 30) from the seed corpus
# in corpus/<target>/. Prints executions and crashes per target; exits
# non-zero when a target crashed (its input is kept and named).
#
#   tests/fuzz/run.sh [SECONDS]
#
# Needs clang++ with libFuzzer (Debian: clang) and the -dev packages the
# project builds with. The meson build (gcc) does not use this script.
set -eu

SECONDS_PER_TARGET=${1:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CXX=${CXX_FUZZ:-clang++}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gemini-fuzz.XXXXXX")
trap 'rm -rf "$WORK/obj" "$WORK/corpus"' EXIT

command -v "$CXX" >/dev/null || { echo "run.sh: $CXX not found" >&2; exit 2; }
PKGS="gstreamer-1.0 json-glib-1.0 gio-2.0 libsoup-3.0"
CFLAGS=$(pkg-config --cflags $PKGS)
LIBS=$(pkg-config --libs $PKGS)
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
FLAGS="-std=c++20 -g -O1 -I$SRC/gst -I$WORK $CFLAGS"

# The engine sources expect meson's config.h; these are all they read.
cat > "$WORK/config.h" <<'H'
#pragma once
#define PACKAGE "gst-gemini"
#define PACKAGE_VERSION "fuzz"
#define GST_PACKAGE_NAME "gst-gemini"
#define GST_PACKAGE_ORIGIN "fuzz"
#define GST_LICENSE "LGPL"
H

mkdir -p "$WORK/obj"
# Engine objects: instrumented for coverage and the sanitizers, no main.
for f in result json_doc response timecode transcript_parser; do
  $CXX $FLAGS -fsanitize=fuzzer-no-link,address,undefined -include "$WORK/config.h" \
    -c "$SRC/gst/$f.cpp" -o "$WORK/obj/$f.o"
done

status=0
echo "target        seconds  executions  crashes"
for target in transcript timecode response sse; do
  exe="$WORK/fuzz_$target"
  $CXX $FLAGS $SAN "$HERE/fuzz_$target.cpp" "$WORK"/obj/*.o $LIBS -o "$exe"
  mkdir -p "$WORK/corpus/$target"
  cp "$HERE/corpus/$target"/* "$WORK/corpus/$target/"
  mkdir -p "$WORK/crashes/$target"
  log="$WORK/$target.log"
  set +e
  # Several short jobs would hide the totals; one process, bounded time.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$exe" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$WORK/crashes/$target/" \
      "$WORK/corpus/$target" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  crashes=$(find "$WORK/crashes/$target" -type f | wc -l)
  printf '%-12s %8s %11s %8s\n' "$target" "$SECONDS_PER_TARGET" "${execs:-?}" "$crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    echo "  $target failed (exit $rc); log: $log"
    grep -m 5 -E 'ERROR|SUMMARY|runtime error' "$log" | sed 's/^/    /'
    for c in "$WORK/crashes/$target"/*; do
      [ -f "$c" ] && echo "  input: $c"
    done
  fi
done
[ "$status" -eq 0 ] && rm -rf "$WORK"
exit "$status"
