#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A full pipeline under valgrind memcheck: audio and video through the
# element, requests answered by the emulator, EOS drained; fails on any
# definite leak or memory error outside the one suppressed GLib constructor
# block (gst-gemini.supp).
#
#   bash tests/memcheck/memcheck.sh BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: memcheck.sh BUILD_DIR}
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }

work=$(mktemp -d)
emulator_pid=
cleanup () { [ -z "$emulator_pid" ] || kill "$emulator_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$build/tests/emulator/gemini-emulator" --port 0 --log "$work/emulator.json" > "$work/emulator.out" &
emulator_pid=$!
for _ in $(seq 100); do grep -q listening "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$work/emulator.out")

# GLib's libproxy module throws C++ exceptions internally, which valgrind
# reports as errors in libunwind; the tests never use a proxy.
export GIO_USE_PROXY_RESOLVER=dummy G_SLICE=always-malloc G_DEBUG=gc-friendly
export GST_PLUGIN_PATH=$build/plugin GST_REGISTRY=$work/registry.bin
gst-inspect-1.0 geminitranscriber > /dev/null

status=0
valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --suppressions="$here/gst-gemini.supp" --error-exitcode=99 --num-callers=40 \
  --log-file="$work/valgrind.log" \
  gst-launch-1.0 -q \
    audiotestsrc num-buffers=100 wave=sine '!' audio/x-raw,rate=16000,channels=1 '!' t.audio_sink \
    videotestsrc num-buffers=60 '!' video/x-raw,width=320,height=240,framerate=10/1 '!' t.video_sink \
    geminitranscriber name=t api-key=test-key api-endpoint="$url" mode=streaming segment-duration=2000 \
      max-concurrent-requests=2 '!' fakesink || status=$?

kill -INT "$emulator_pid"; wait "$emulator_pid" || true; emulator_pid=
requests=$(python3 -c "import json,sys; print(sum(r.get('kind') == 'generate' for r in json.load(open(sys.argv[1]))['requests']))" "$work/emulator.json")
grep -E "definitely lost|ERROR SUMMARY" "$work/valgrind.log" | sed 's/^==[0-9]*== *//'
echo "generate requests: $requests"
if [ "$status" -ne 0 ] || [ "$requests" -lt 2 ]; then
  cat "$work/valgrind.log"
  exit 1
fi
