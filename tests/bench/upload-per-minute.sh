#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bytes the element sends to Gemini per minute of media, at default
# settings, for a generated 1080p30 A/V clip and for the same audio alone,
# against the bundled emulator (which decodes and measures every upload).
#
#   bash tests/bench/upload-per-minute.sh [BUILD_DIR] [SECONDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
seconds=${2:-180}
work=$(mktemp -d)
emulator_pid=
cleanup () { [ -z "$emulator_pid" ] || kill "$emulator_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export GST_PLUGIN_PATH=$build/plugin
frames=$((seconds * 30))
audio_buffers=$((seconds * 48000 / 1024 + 1))

run () {   # $1 = label, $2 = "av" | "audio"
  "$build/tests/emulator/gemini-emulator" --port 0 \
    --log "$work/$1.json" > "$work/$1.out" &
  emulator_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/$1.out" 2>/dev/null && break; sleep 0.1; done
  local url
  url=$(sed -n 's/.*listening on //p' "$work/$1.out")
  local video=()
  if [ "$2" = av ]; then
    video=(videotestsrc num-buffers="$frames" pattern=smpte
           '!' video/x-raw,width=1920,height=1080,framerate=30/1
           '!' timeoverlay font-desc="Sans 48" '!' queue '!' t.video_sink)
  fi
  local start end
  start=$(date +%s.%N)
  gst-launch-1.0 -q \
    audiotestsrc num-buffers="$audio_buffers" wave=pink-noise volume=0.2 \
      '!' audio/x-raw,rate=48000,channels=2 '!' queue '!' t.audio_sink \
    "${video[@]}" \
    geminitranscriber name=t api-key=test-key api-endpoint="$url" '!' fakesink
  end=$(date +%s.%N)
  kill -INT "$emulator_pid"; wait "$emulator_pid" || true; emulator_pid=
  python3 - "$work/$1.json" "$1" "$seconds" "$start" "$end" <<'PY'
import json, sys
path, label, seconds, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
log = json.load(open(path))
media = [m for r in log["requests"] if r.get("kind") in ("generate", "stream")
         for m in r.get("media", [])]
sent = sum(m["bytes"] for m in media)
covered = sum(m["duration_s"] for m in media)
print(f"{label:6s} requests={len(media):3d} media={covered:7.1f}s bytes={sent:9d} "
      f"per-minute={sent / seconds * 60 / 1024:8.1f} KiB wall={end - start:6.1f}s")
PY
}

echo "generated clip: ${seconds}s, 1080p30 + 48 kHz stereo; defaults (segment-duration auto, fps 1, max-video-side 768)"
run av av
run audio audio
