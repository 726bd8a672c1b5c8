#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The main job for a newcomer on Debian 12: install the dependencies, build,
# install the plugin, and transcribe a media file to subtitles and an HTML
# report with gemini-transcribe.
#
#   bash examples/quickstart.sh [INPUT] [OUTPUT.srt]
#
# With GEMINI_API_KEY (or GOOGLE_API_KEY) set, INPUT is sent to Gemini.
# Without a key, a sample clip is generated and transcribed by the bundled
# Gemini emulator, offline: a dry run of the whole pipeline, not a real
# transcript (examples/sample-run.sh).
#
# It prints one line a step; what the tools print goes to build/quickstart.log,
# shown when a step fails.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

input=${1:-}
output=${2:-}
if [ -n "${GEMINI_API_KEY:-}${GOOGLE_API_KEY:-}" ] && [ -z "$input" ]; then
  echo "usage: $0 INPUT [OUTPUT.srt]   (GEMINI_API_KEY is set: give a file to transcribe)" >&2
  exit 2
fi

mkdir -p "$build"
log=$build/quickstart.log
: >"$log"
step() {
  local what=$1
  shift
  echo "$what"
  if ! "$@" >>"$log" 2>&1; then
    echo "error: that step failed; the last lines of $log:" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
}

step "Installing the Debian packages (tests/deps/packages.txt)..." \
  bash "$src/tests/install-deps.sh"
if [ -f "$build/build.ninja" ]; then
  step "Configuring the build in $build..." meson setup --reconfigure "$build" "$src"
else
  step "Configuring the build in $build..." meson setup "$build" "$src"
fi
step "Building..." meson compile -C "$build"
step "Installing the plugin and gemini-transcribe..." "${sudo[@]}" meson install -C "$build"
"${sudo[@]}" ldconfig 2>/dev/null || true

if [ -z "${GEMINI_API_KEY:-}${GOOGLE_API_KEY:-}" ]; then
  GEMINI_TRANSCRIBE=$build/examples/gemini-transcribe \
    exec bash "$src/examples/sample-run.sh" "${output:-$PWD/sample.srt}"
fi

output=${output:-${input%.*}.srt}
report=${output%.*}.html
"$build/examples/gemini-transcribe" "$input" -o "$output" -o "$report"
echo "Subtitles written to $output, report to $report"
