#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Soak: streams MEDIA_MINUTES of generated A/V (faster than real time) through
# geminitranscriber against the bundled emulator, which injects a deterministic
# spread of faults, and checks that the process neither grows nor leaks fds.
#
#   bash tests/soak/soak.sh [MEDIA_MINUTES] [BUILD_DIR]
#
# Keeps samples.csv (wall_s,media_s,rss_kb,fds), the gst-launch output and the
# emulator log in $SOAK_OUT_DIR if set. Exits non-zero if gst-launch fails, RSS
# at the end exceeds RSS at a quarter of the media (past the warm-up: encoders,
# requests in flight and allocator arenas reach their steady state) by more
# than 30 MB, or the floor of open fds rose by more than 5.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
minutes=${1:-120}
build=${2:-$src/build}
work=$(mktemp -d)
emulator_pid=
gst_pid=
cleanup () {
  [ -z "$gst_pid" ] || kill "$gst_pid" 2>/dev/null || true
  [ -z "$emulator_pid" ] || kill "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

out=${SOAK_OUT_DIR:-$work}
mkdir -p "$out"
export GST_PLUGIN_PATH=$build/plugin GST_PLUGIN_PATH_1_0=$build/plugin
export GST_REGISTRY_1_0=${GST_REGISTRY_1_0:-$work/registry.bin}

# One utterance every 5 s from two speakers, and about one fault per four
# generate requests (30 s segments, so two per media minute), placed by a
# seeded generator so every run sees the same sequence.
python3 - "$minutes" > "$work/script.json" <<'PY'
import json, random, sys
minutes = int(sys.argv[1])
seconds = minutes * 60
speakers = [
    {"id": "alice", "name": "Alice Martin", "company": "Acme", "position": "CEO",
     "role_in_video": "host", "visible_from": 0},
    {"id": "bob", "name": "Bob Chen", "company": "Initech", "position": "CTO",
     "role_in_video": "guest", "visible_from": 0},
]
utterances = [
    {"start": t + 0.5, "end": t + 4.0, "speaker": speakers[(t // 5) % 2]["id"],
     "text": f"Line {t // 5} of the soak, about topic {(t // 60) % 7}."}
    for t in range(0, seconds, 5)
]
kinds = [
    {"type": "http", "status": 429, "retry_delay": "0.1s", "message": "Quota exceeded",
     "quota_id": "GenerateRequestsPerMinutePerProject"},
    {"type": "http", "status": 500, "message": "Internal error"},
    {"type": "http", "status": 503, "message": "The model is overloaded", "count": 3},
    {"type": "delay", "ms": 500},
    {"type": "max_tokens", "keep_fraction": 0.5},
    {"type": "safety"},
    {"type": "empty"},
    {"type": "stall"},
    {"type": "drop"},
]
requests = max(2 * minutes, len(kinds))
rng = random.Random(6)
slots = sorted(rng.sample(range(1, requests + 1), max(len(kinds), requests // 4)))
faults = []
for i, nth in enumerate(slots):
    fault = {"match": "generate", "nth": nth, "count": 1}
    fault.update(kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds))
    faults.append(fault)
json.dump({"api_key": "test-key",
           "transcript": {"speakers": speakers, "utterances": utterances,
                          "shuffle_voices": True},
           "faults": faults}, sys.stdout)
PY

"$build/tests/emulator/gemini-emulator" --port 0 --script "$work/script.json" \
  --log "$out/log.json" > "$work/emulator.out" &
emulator_pid=$!
for _ in $(seq 100); do grep -q listening "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$work/emulator.out")
[ -n "$url" ] || { echo "soak: the emulator did not start" >&2; exit 1; }

# 16 kHz mono in 100 ms buffers, 320x240 at 10 fps; progressreport prints the
# media position (line-buffered) so the samples can be placed on the media
# timeline. Two malloc arenas, as an application that streams for hours
# chooses (docs/element.md, "Memory"): the element leaves the allocator alone.
buffers=$((minutes * 600))
start=$(date +%s.%N)
MALLOC_ARENA_MAX=2 stdbuf -oL gst-launch-1.0 \
  audiotestsrc num-buffers="$buffers" samplesperbuffer=1600 wave=sine freq=220 volume=0.3 \
    '!' audio/x-raw,rate=16000,channels=1 '!' progressreport update-freq=1 \
    '!' queue '!' t.audio_sink \
  videotestsrc num-buffers="$buffers" pattern=ball \
    '!' video/x-raw,width=320,height=240,framerate=10/1 '!' timeoverlay '!' queue '!' t.video_sink \
  geminitranscriber name=t api-key=test-key api-endpoint="$url" mode=streaming segment-duration=30000 \
    request-timeout=2000 max-retries=2 '!' fakesink \
  > "$out/gst.out" 2> "$out/gst.err" &
gst_pid=$!

echo "wall_s,media_s,rss_kb,fds" > "$out/samples.csv"
while kill -0 "$gst_pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gst_pid/status" 2>/dev/null || true)
  fds=$(ls "/proc/$gst_pid/fd" 2>/dev/null | wc -l)
  media=$(sed -n 's/^progressreport[^)]*): *\([0-9]*\) .*/\1/p' "$out/gst.out" | tail -n 1)
  [ -z "$rss" ] || echo "$(date +%s.%N | awk -v s="$start" '{ printf "%.1f", $1 - s }'),${media:-0},$rss,$fds" \
    >> "$out/samples.csv"
  [ -z "${SOAK_FD_TRACE:-}" ] || ls -l "/proc/$gst_pid/fd" >> "$out/fds.txt" 2>/dev/null || true
  sleep 1
done
gst_rc=0
wait "$gst_pid" || gst_rc=$?
gst_pid=
end=$(date +%s.%N)
kill -INT "$emulator_pid"; wait "$emulator_pid" || true; emulator_pid=

warnings=$(grep -c '^WARNING' "$out/gst.out" || true)
python3 - "$out/samples.csv" "$out/log.json" "$minutes" "$start" "$end" "$gst_rc" "$warnings" <<'PY'
import csv, json, sys
samples_path, log_path, minutes, start, end, gst_rc, warnings = sys.argv[1:]
samples = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(open(samples_path))]
requests = json.load(open(log_path))["requests"]
generate = [r for r in requests if r.get("kind") in ("generate", "stream")]
faulted = [r for r in generate if r.get("fault")]
failed = []
if int(gst_rc) != 0:
    failed.append(f"gst-launch exited with {gst_rc}")
print(f"media minutes: {minutes} ({int(minutes) / 60:.2f} h)")
print(f"wall time: {float(end) - float(start):.1f} s")
print(f"requests seen by the emulator: {len(requests)} "
      f"({len(generate)} generate, {len(faulted)} answered with a fault)")
print(f"segment warnings: {warnings}")
if not samples:
    failed.append("no samples")
else:
    total = float(minutes) * 60
    first = next((s for s in samples if s["media_s"] >= total / 4), samples[0])
    last = samples[-1]
    # Connections and encoder threads come and go with the requests in flight;
    # a leak raises the floor, so both figures are floors: over the second
    # quarter of the media, and over the last one.
    middle = [s["fds"] for s in samples if total / 4 <= s["media_s"] < total / 2]
    tail = [s["fds"] for s in samples if s["media_s"] >= total * 3 / 4]
    fds_start = min(middle) if middle else first["fds"]
    fds_end = min(tail) if tail else last["fds"]
    rss_max = max(s["rss_kb"] for s in samples)
    print(f"RSS start/max/end: {first['rss_kb'] / 1024:.1f} / {rss_max / 1024:.1f} / "
          f"{last['rss_kb'] / 1024:.1f} MB (start at {first['media_s']:.0f} s of media)")
    # A floor needs enough samples to be one: a short run (the CI form lasts
    # a few seconds) has a handful per quarter, taken with requests in flight.
    judged = len(middle) >= 10 and len(tail) >= 10
    print(f"fds start/end: {fds_start:.0f} / {fds_end:.0f}"
          + ("" if judged else " (too few samples to judge; run longer)"))
    # Memory reaches its plateau after about 30 minutes of media (the
    # requests in flight, the encoders, the allocator's arenas): a shorter
    # run only proves the pipeline survives the faults.
    if total >= 60 * 60 and last["rss_kb"] - first["rss_kb"] > 30 * 1024:
        failed.append("RSS grew by more than 30 MB")
    elif total < 60 * 60:
        print("RSS: too short to judge growth; run 60 media minutes or more")
    if judged and fds_end - fds_start > 5:
        failed.append("open fds grew by more than 5")
for reason in failed:
    print(f"soak FAILED: {reason}")
sys.exit(1 if failed else 0)
PY
