#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The longest functions of the sources, by clang-tidy's own count
# (readability-function-size: lines including whitespace and comments),
# and the size of each file, as the refactoring issues measure them:
#
#   tests/tools/longest-functions.sh BUILD_DIR [N]
#
# BUILD_DIR is a configured meson build of the same tree (its
# compile_commands.json). Prints "lines function file", longest first.
set -euo pipefail

build=${1:?usage: longest-functions.sh BUILD_DIR [N]}
top=${2:-10}
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"

files=$(git ls-files --cached --others --exclude-standard 'gst/*.cpp' 'plugin/*.cpp' 'examples/*.cpp' 'tests/emulator/*.cpp' \
  | grep -v '/test_')

echo "== file sizes (lines)"
# shellcheck disable=SC2086
wc -l $files | sort -rn | head -n $((top + 1))

echo "== the $top longest functions"
# shellcheck disable=SC2086
for f in $files; do
  clang-tidy -p "$build" --quiet -checks='-*,readability-function-size' \
    -config='{CheckOptions: [{key: readability-function-size.LineThreshold, value: 40}]}' \
    "$f" 2>/dev/null || true
done | awk -v root="$src/" '
  / warning: function / { match($0, /function .[^ ]+. exceeds/); name = substr($0, RSTART + 10, RLENGTH - 19);
                          file = $1; sub(/:[0-9]+:[0-9]+:$/, "", file); sub(/^(\.\.\/)+/, "", file); sub(root, "", file) }
  / note: [0-9]+ lines including/ { match($0, /note: [0-9]+ lines/); n = substr($0, RSTART + 6, RLENGTH - 12);
                                    print n, name, file }' \
  | sort -rn | head -n "$top"
