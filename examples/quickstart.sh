#!/usr/bin/env bash
# The main job for a newcomer on Debian 12: install the dependencies, build,
# install the plugin, and transcribe a media file to subtitles and an HTML
# report with gemini-transcribe.
#
#   bash examples/quickstart.sh [INPUT] [OUTPUT.srt]
#
# With GEMINI_API_KEY (or GOOGLE_API_KEY) set, INPUT is sent to Gemini.
# Without a key, a sample clip is generated and transcribed by the bundled
# Gemini emulator, offline: a dry run of the whole pipeline, not a real
# transcript.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

bash "$src/tests/install-deps.sh"
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "$src" >/dev/null
else
  meson setup "$build" "$src"
fi
meson compile -C "$build"
"${sudo[@]}" meson install -C "$build" --quiet
"${sudo[@]}" ldconfig 2>/dev/null || true

input=${1:-}
output=${2:-}
args=()

if [ -z "${GEMINI_API_KEY:-}${GOOGLE_API_KEY:-}" ]; then
  echo "No GEMINI_API_KEY set: running OFFLINE against the bundled Gemini emulator" \
       "on a generated sample clip. The captions are the emulator's script, not a" \
       "real transcript. Set GEMINI_API_KEY to transcribe for real."
  workdir=$(mktemp -d)
  trap 'rm -rf "$workdir"' EXIT
  input="$workdir/sample.mkv"
  output=${output:-$PWD/sample.srt}
  bash "$src/examples/make-sample-clip.sh" "$input" "$workdir/script.json"
  args=(--emulator-script "$workdir/script.json" --segment-duration 10000)
else
  [ -n "$input" ] || { echo "usage: $0 INPUT [OUTPUT.srt]" >&2; exit 2; }
  output=${output:-${input%.*}.srt}
fi

report=${output%.*}.html
"$build/examples/gemini-transcribe" "$input" -o "$output" -o "$report" "${args[@]}"
echo "Subtitles written to $output, report to $report"
