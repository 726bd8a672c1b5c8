#!/usr/bin/env bash
# The main job for a newcomer on Debian 12: install the dependencies, build,
# install the plugin, and transcribe a media file to subtitles.
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
emulator_pid=
cleanup () { [ -z "$emulator_pid" ] || kill "$emulator_pid" 2>/dev/null || true; }
trap cleanup EXIT

if [ -z "${GEMINI_API_KEY:-}${GOOGLE_API_KEY:-}" ]; then
  echo "No GEMINI_API_KEY set: running OFFLINE against the bundled Gemini emulator" \
       "on a generated sample clip. The captions are the emulator's script, not a" \
       "real transcript. Set GEMINI_API_KEY to transcribe for real."
  workdir=$(mktemp -d)
  input="$workdir/sample.mkv"
  output=${output:-$PWD/sample.srt}
  bash "$src/examples/make-sample-clip.sh" "$input" "$workdir/script.json"
  "$build/tests/emulator/gemini-emulator" --port 0 --script "$workdir/script.json" \
    > "$workdir/emulator.out" &
  emulator_pid=$!
  for _ in $(seq 50); do
    grep -q listening "$workdir/emulator.out" 2>/dev/null && break
    sleep 0.1
  done
  url=$(sed -n 's/.*listening on //p' "$workdir/emulator.out")
  export GOOGLE_GEMINI_BASE_URL=$url GEMINI_API_KEY=test-key
  extra=(segment-duration=10000)
else
  [ -n "$input" ] || { echo "usage: $0 INPUT [OUTPUT.srt]" >&2; exit 2; }
  output=${output:-${input%.*}.srt}
  extra=()
fi

uri=$(python3 -c 'import pathlib,sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$input")
gst-launch-1.0 -q \
  uridecodebin uri="$uri" name=d \
  d. ! queue max-size-time=0 max-size-bytes=0 ! audioconvert ! audioresample ! t.audio_sink \
  d. ! queue max-size-time=0 max-size-bytes=0 ! videoconvert ! t.video_sink \
  geminitranscriber name=t "${extra[@]}" ! srtenc ! filesink location="$output"
echo "Subtitles written to $output"
