#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Whole-file mode against streaming mode on the same generated panel: a
# 640x360 A/V file whose three speakers' names are on screen during the
# first minute only (one of them speaks only from half way), transcribed
# by gemini-transcribe against the bundled emulator. Prints, per mode:
# HTTP requests, generateContent requests (and how many used the context
# cache), bytes uploaded, prompt tokens (and how many of them were cache
# hits), wall time, and how many script lines came out with the right
# speaker name. The emulator
# answers each request after LATENCY_MS plus MS_PER_MEDIA_SECOND for every
# second of media it covers (defaults 2000 and 10: a few seconds a request,
# longer for more media).
#
#   bash tests/bench/whole-vs-streaming.sh [BUILD_DIR] [MINUTES]
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
minutes=${2:-20}
seconds=$((minutes * 60))
latency_ms=${LATENCY_MS:-2000}
per_second_ms=${MS_PER_MEDIA_SECOND:-10}
work=$(mktemp -d)
emulator_pid=
cleanup () { [ -z "$emulator_pid" ] || kill "$emulator_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export GST_PLUGIN_PATH=$build/plugin

# The script (what the emulator "hears" and "sees") and a WAV whose tone
# bursts are its lines, so quiet points fall where the script is silent.
python3 - "$seconds" "$work" "$latency_ms" "$per_second_ms" <<'PY'
import json, math, struct, sys, wave
seconds, work = int(sys.argv[1]), sys.argv[2]
people = [("alice", "Alice Martin", "Acme Media"), ("bob", "Bob Chen", "Globex"),
          ("carol", "Carol Diaz", "Initech")]
lines = []
t, i = 2.0, 0
while t + 2.5 < seconds - 1:
    n = 2 if t < seconds / 2 else 3
    lines.append({"start": t, "end": t + 2.5, "speaker": people[i % n][0],
                  "text": f"Panel line {i + 1}."})
    t += 5.0
    i += 1
script = {"latency_ms": float(sys.argv[3]), "latency_per_media_second_ms": float(sys.argv[4]),
          "transcript": {"shuffle_voices": True, "utterances": lines, "speakers": [
    {"id": p, "name": name, "company": co, "position": "?", "role_in_video": "panelist",
     "visible_from": 0, "visible_until": 60} for p, name, co in people]}}
json.dump(script, open(f"{work}/script.json", "w"))
rate = 16000
tone = [int(8000 * math.sin(2 * math.pi * 440 * k / rate)) for k in range(rate)]
with wave.open(f"{work}/speech.wav", "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    for s in range(seconds):
        speaking = [(lambda x: x >= 2 and (x - 2) % 5 < 2.5 and x < seconds - 1)(s + k / rate)
                    for k in range(0, rate, 1600)]
        block = bytearray()
        for j, on in enumerate(speaking):
            chunk = tone[j * 1600:(j + 1) * 1600] if on else [0] * 1600
            block += struct.pack(f"<{len(chunk)}h", *chunk)
        w.writeframes(bytes(block))
PY

first=$((60 * 25)); rest=$(((seconds - 60) * 25))
gst-launch-1.0 -q \
  filesrc location="$work/speech.wav" '!' wavparse '!' audioconvert '!' opusenc '!' queue '!' m. \
  videotestsrc num-buffers="$first" pattern=smpte '!' video/x-raw,width=640,height=360,framerate=25/1 \
    '!' textoverlay text="Alice Martin, Acme Media - Bob Chen, Globex - Carol Diaz, Initech" '!' c. \
  videotestsrc num-buffers="$rest" pattern=ball '!' video/x-raw,width=640,height=360,framerate=25/1 '!' c. \
  concat name=c '!' videoconvert '!' vp8enc deadline=1 cpu-used=16 '!' queue '!' m. \
  webmmux name=m '!' filesink location="$work/panel.webm"
echo "panel: ${minutes} min, 640x360 25 fps VP8 + Opus, $(stat -c %s "$work/panel.webm") bytes"

run () {   # $1 = label, $2... = gemini-transcribe options
  "$build/tests/emulator/gemini-emulator" --port 0 --script "$work/script.json" \
    --log "$work/$1.log.json" > "$work/$1.out" &
  emulator_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/$1.out" 2>/dev/null && break; sleep 0.1; done
  local url start end
  url=$(sed -n 's/.*listening on //p' "$work/$1.out")
  start=$(date +%s.%N)
  GOOGLE_GEMINI_BASE_URL=$url GEMINI_API_KEY=test-key GOOGLE_API_KEY= \
    "$build/examples/gemini-transcribe" --quiet "${@:2}" -o "$work/$1.json" "$work/panel.webm"
  end=$(date +%s.%N)
  kill -INT "$emulator_pid"; wait "$emulator_pid" || true; emulator_pid=
  python3 - "$work" "$1" "$start" "$end" <<'PY'
import json, sys
work, mode, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
log = json.load(open(f"{work}/{mode}.log.json"))["requests"]
http = [r for r in log if r["kind"] != "control"]
generate = [r for r in http if r["kind"] in ("generate", "stream")]
cached = sum(1 for r in generate if r["body"].get("cachedContent"))
uploaded = sum((r.get("upload") or {}).get("chunk_bytes", 0) for r in http if r["kind"] == "upload_chunk")
inline = sum(m.get("bytes", 0) for r in generate if not r["body"].get("cachedContent")
             for m in r.get("media", []) if "fileData" not in json.dumps(r["body"]))
script = json.load(open(f"{work}/script.json"))["transcript"]
names = {s["id"]: s["name"] for s in script["speakers"]}
out = json.load(open(f"{work}/{mode}.json"))
who = {s["id"]: s["name"] for s in out["speakers"]}
said = {u["text"]: who.get(u["speaker"], "") for u in out["transcripts"]}
lines = script["utterances"]
named = sum(1 for l in lines if said.get(l["text"]) == names[l["speaker"]])
print(f"{mode:14s} http={len(http):3d} generate={len(generate):3d} "
      f"uploaded={(uploaded + inline) / 1048576:6.2f} MiB wall={end - start:6.1f}s "
      f"cached={cached:2d} prompt-tokens={out['usage']['prompt_tokens']:8d} "
      f"of-them-cached={out['usage']['cached_tokens']:8d} named={named}/{len(lines)}")
PY
}

echo "emulator latency: ${latency_ms} ms + ${per_second_ms} ms per media second, per request"
run whole --mode whole
run whole-window5m --mode whole --window 300
run streaming --mode streaming
