#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The benchmark suite of docs/performance.md: every figure, its target and
# PASS/FAIL in one table, against the bundled Gemini emulator.
#
#   bash tests/bench/run.sh BUILD_DIR [--smoke] [--latency-ms MS]
#        [--latency-per-media-second-ms MS] [--output-chars-per-second N]
#
# The latency flags set the emulator's model of a request for the
# throughput and live figures: MS + share of the media duration, then the
# answer generated at N characters per second. --smoke runs every figure on a
# few seconds of media (what CI runs): the table is printed but not judged,
# only a figure that cannot be measured fails. The 10-minute 1080p30 clip of
# the CPU figure is generated once into BUILD_DIR/bench-cache/.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { sed -n 5,7p "$0" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
smoke=0
latency_ms=2000
latency_per_s=40
chars_per_s=300
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) smoke=1 ;;
    --latency-ms) latency_ms=$2; shift ;;
    --latency-per-media-second-ms) latency_per_s=$2; shift ;;
    --output-chars-per-second) chars_per_s=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ $smoke = 1 ]; then
  clip_s=10 upload_s=10 hour_s=60 live_s=12 mem_short_s=5 mem_mid_s=8 mem_long_s=10 token_s=4
  cpu_pairs=1
  segment_opt=(segment-duration=10000)
else
  clip_s=600 upload_s=180 hour_s=3600 live_s=60 mem_short_s=60 mem_mid_s=600 mem_long_s=1800
  token_s=30 cpu_pairs=7
  segment_opt=()
fi

work=$(mktemp -d)
emulator_pid=
cleanup () {
  [ -z "$emulator_pid" ] || kill "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export GST_PLUGIN_PATH=$build/plugin GST_PLUGIN_PATH_1_0=$build/plugin
export GST_REGISTRY_1_0=${GST_REGISTRY_1_0:-$work/registry.bin}
results=$work/results.tsv
: > "$results"
url=

emulator_start () {   # $1 = script file, $2 = log file
  : > "$work/emulator.out"
  "$build/tests/emulator/gemini-emulator" --port 0 --script "$1" --log "$2" \
    > "$work/emulator.out" &
  emulator_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on //p' "$work/emulator.out")
  [ -n "$url" ] || { echo "the emulator did not start" >&2; exit 1; }
}

emulator_stop () {
  kill -INT "$emulator_pid"
  wait "$emulator_pid" || true
  emulator_pid=
}

# figure, measured, target, verdict (PASS/FAIL/info)
record () { printf '%s\t%s\t%s\t%s\n' "$@" >> "$results"; }

elapsed () { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$@"; }

echo '{}' > "$work/instant.json"
transcriber=(geminitranscriber name=t api-key=test-key)

# --- 1 + 2. CPU overhead (and upload size of the same clip) -----------------
cache=$build/bench-cache
mkdir -p "$cache"
clip=$cache/av-1080p30-${clip_s}s.mp4
if [ ! -f "$clip" ]; then
  echo "generating $clip (once)..." >&2
  gst-launch-1.0 -q videotestsrc num-buffers=$((clip_s * 30)) pattern=smpte \
      '!' video/x-raw,width=1920,height=1080,framerate=30/1 '!' timeoverlay font-desc="Sans 48" \
      '!' videoconvert '!' video/x-raw,format=I420 \
      '!' x264enc speed-preset=ultrafast tune=zerolatency bitrate=4000 key-int-max=60 \
      '!' video/x-h264,profile=constrained-baseline '!' h264parse '!' mp4mux name=m \
      '!' filesink location="$clip.tmp" \
    audiotestsrc num-buffers=$((clip_s * 48000 / 1024)) wave=pink-noise volume=0.2 \
      '!' audio/x-raw,rate=48000,channels=2 '!' audioconvert '!' opusenc '!' m.
  mv "$clip.tmp" "$clip"
fi

# Pairs run back to back, the ratio taken within each pair and the median
# of the pairs kept: on a shared machine the CPU time of the same pipeline
# moves by 20 % within minutes (other tenants' load on caches and memory),
# far more than between the two pipelines of one pair.
decode=(uridecodebin uri="file://$clip" name=d)
for run in $(seq "$cpu_pairs"); do
  /usr/bin/time -f '%U %S' -a -o "$work/cpu-base" gst-launch-1.0 -q "${decode[@]}" \
    d. '!' queue '!' audioconvert '!' fakesink d. '!' queue '!' videoconvert '!' fakesink
  emulator_start "$work/instant.json" "$work/cpu-log-$run.json"
  /usr/bin/time -f '%U %S' -a -o "$work/cpu-element" gst-launch-1.0 -q "${decode[@]}" \
    d. '!' queue '!' audioconvert '!' t.audio_sink d. '!' queue '!' videoconvert '!' t.video_sink \
    "${transcriber[@]}" api-endpoint="$url" '!' fakesink
  /usr/bin/time -f '%U %S' -a -o "$work/cpu-element-model" gst-launch-1.0 -q "${decode[@]}" \
    d. '!' queue '!' audioconvert '!' t.audio_sink d. '!' queue '!' videoconvert '!' t.video_sink \
    "${transcriber[@]}" api-endpoint="$url" timing=model '!' fakesink
  emulator_stop
done
python3 - "$work/cpu-base" "$work/cpu-element" "$work/cpu-log-1.json" "$clip" "$clip_s" \
    >> "$results" <<'PY'
import json, os, statistics, sys
base, elem, log, clip, seconds = sys.argv[1:]
cpu = lambda p: [float(u) + float(s) for u, s in (l.split() for l in open(p) if l.strip())]
b, e = cpu(base), cpu(elem)
ratios = sorted(x / y for x, y in zip(e, b))
ratio = statistics.median(ratios)
spread = f", pairs {ratios[0]:.3f} to {ratios[-1]:.3f}" if len(ratios) > 1 else ""
length = f"{int(seconds) // 60}-min" if int(seconds) >= 60 else f"{seconds}-s"
print(f"CPU time decode->element / decode->fakesink ({length} 1080p30 clip), "
      f"median of {len(ratios)} pairs\t{ratio:.3f} ({statistics.median(e):.1f} s / "
      f"{statistics.median(b):.1f} s{spread})\t<= 1.10\t{'PASS' if ratio <= 1.10 else 'FAIL'}")
media = [m for r in json.load(open(log))["requests"] if r.get("kind") in ("generate", "stream")
         for m in r.get("media", [])]
sent = sum(m["bytes"] for m in media) / float(seconds) * 60
source = os.path.getsize(clip) / float(seconds) * 60
print(f"Upload per media minute, the same clip\t{sent / 1e6:.2f} MB\t<= 1.5 MB\t"
      f"{'PASS' if sent <= 1.5e6 else 'FAIL'}")
print(f"Source file (= naive upload as is) per media minute\t{source / 1e6:.2f} MB "
      f"({source / max(sent, 1):.0f}x ours)\t-\tinfo")
PY
python3 - "$work/cpu-element" "$work/cpu-element-model" "$clip_s" >> "$results" <<'PY'
import statistics, sys
audio, model, seconds = sys.argv[1:]
cpu = lambda p: [float(u) + float(s) for u, s in (l.split() for l in open(p) if l.strip())]
a, m = cpu(audio), cpu(model)
ratios = sorted(x / y for x, y in zip(a, m))
ratio = statistics.median(ratios)
spread = f", pairs {ratios[0]:.3f} to {ratios[-1]:.3f}" if len(ratios) > 1 else ""
# What timing=audio adds is far below the noise between two runs: judged by
# the figure of section 7, shown here for a real pipeline.
print(f"CPU time decode->element timing=audio / timing=model, the same clip, median of "
      f"{len(a)} pairs\t{ratio:.3f} ({statistics.median(a):.1f} s / {statistics.median(m):.1f} s"
      f"{spread})\t-\tinfo")
PY

# --- 1. Upload size at defaults, generated A/V and audio only ----------------
bash "$src/tests/bench/upload-per-minute.sh" "$build" "$upload_s" > "$work/upload.txt"
python3 - "$work/upload.txt" >> "$results" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)\s+requests=.*bytes=\s*(\d+).*per-minute=\s*([\d.]+) KiB", line)
    if not m:
        continue
    label, per_min = m.group(1), float(m.group(3)) * 1024
    limit = 1.5e6 if label == "av" else 200e3
    name = "1080p30 A/V, generated" if label == "av" else "audio only, generated"
    print(f"Upload per media minute, {name}\t{per_min / 1e3:.0f} KB\t<= {limit / 1e3:.0f} KB\t"
          f"{'PASS' if per_min <= limit else 'FAIL'}")
PY

# --- 3. Throughput: an hour of audio at 1, 2, 4, 8 requests in flight --------
printf '{"latency_ms": %s, "latency_per_media_second_ms": %s}\n' "$latency_ms" "$latency_per_s" \
  > "$work/slow.json"
for n in 1 2 4 8; do
  emulator_start "$work/slow.json" "$work/tp-$n.json"
  start=$(date +%s.%N)
  gst-launch-1.0 -q audiotestsrc num-buffers=$((hour_s * 16000 / 1024)) wave=pink-noise volume=0.2 \
      '!' audio/x-raw,rate=16000,channels=1 '!' "${transcriber[@]}" api-endpoint="$url" \
      mode=streaming max-concurrent-requests=$n "${segment_opt[@]}" '!' fakesink
  end=$(date +%s.%N)
  emulator_stop
  echo "$n $(elapsed "$start" "$end")" >> "$work/throughput.txt"
done
# Whole mode (the default for files): the same hour, uploaded while it is
# read, then one request covering all of it.
emulator_start "$work/slow.json" "$work/tp-whole.json"
start=$(date +%s.%N)
gst-launch-1.0 -q audiotestsrc num-buffers=$((hour_s * 16000 / 1024)) wave=pink-noise volume=0.2 \
    '!' audio/x-raw,rate=16000,channels=1 '!' "${transcriber[@]}" api-endpoint="$url" \
    mode=whole '!' fakesink
end=$(date +%s.%N)
emulator_stop
echo "whole $(elapsed "$start" "$end")" >> "$work/throughput-whole.txt"
python3 - "$work/throughput.txt" "$hour_s" >> "$results" <<'PY'
import sys
walls = dict((int(n), float(t)) for n, t in (l.split() for l in open(sys.argv[1])))
hour = float(sys.argv[2])
for n in (1, 2, 4, 8):
    w = walls[n]
    if n == 1:
        print(f"Throughput, {hour / 60:.0f} min of audio, max-concurrent-requests=1\t{w:.0f} s\t-\tinfo")
    elif n <= 4:
        ok = walls[1] / w >= 0.8 * n
        print(f"Throughput, max-concurrent-requests={n}: speed-up vs 1\t{walls[1] / w:.2f}x ({w:.0f} s)\t"
              f">= {0.8 * n:.1f}x (~{n}x)\t{'PASS' if ok else 'FAIL'}")
    else:
        print(f"Throughput, max-concurrent-requests={n}: speed-up vs 1\t{walls[1] / w:.2f}x ({w:.0f} s)\t-\tinfo")
per_hour = walls[4] * 3600 / hour
print(f"1 hour of media, streaming at the default (4 in flight)\t{per_hour:.0f} s\t< 240 s\t"
      f"{'PASS' if per_hour < 240 else 'FAIL'}")
PY
python3 - "$work/throughput-whole.txt" "$hour_s" "$work/tp-whole.json" >> "$results" <<'PY'
import json, sys
wall = float(open(sys.argv[1]).read().split()[1])
per_hour = wall * 3600 / float(sys.argv[2])
# A clip sent twice was retried: its first attempt failed (the emulator logs
# the answer it meant to give, not whether the client waited for it).
calls = [r for r in json.load(open(sys.argv[3]))["requests"] if r.get("kind") == "generate"]
clips = [json.dumps(r.get("clip"), sort_keys=True) for r in calls]
answered = len(set(clips)) == len(clips)
print(f"1 hour of media, whole mode (the default for files: one request)\t{per_hour:.0f} s "
      f"({len(calls)} generateContent{'' if answered else ', some sent again'})\t"
      f"< 240 s, each sent once\t{'PASS' if per_hour < 240 and answered else 'FAIL'}")
PY

# --- 4. Live latency, segment-duration 10 s, with and without stream-cues ----
python3 - "$live_s" "$latency_ms" "$chars_per_s" > "$work/live.json" <<'PY'
import json, sys
seconds, latency, cps = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
words = "we measured how long each answer takes to reach the screen today"
utterances = [{"start": t + 0.3, "end": t + 1.8, "speaker": "ann" if (t // 2) % 2 else "bob",
               "text": f"Line {t // 2}: {words}."} for t in range(0, seconds + 30, 2)]
print(json.dumps({"latency_ms": latency, "latency_per_media_second_ms": 50,
                  "output_chars_per_second": cps,
                  "transcript": {"speakers": [{"id": "ann", "name": "Ann Lee"},
                                              {"id": "bob", "name": "Bob Stone"}],
                                 "utterances": utterances}}))
PY
for streaming in 0 1; do
  emulator_start "$work/live.json" "$work/live-$streaming-log.json"
  "$build/tests/bench/bench-live-latency" "$url" "$live_s" 10000 "$streaming" \
    > "$work/live-$streaming.txt"
  emulator_stop
done
python3 - "$work/live-0.txt" "$work/live-1.txt" "$latency_ms" "$chars_per_s" >> "$results" <<'PY'
import json, sys
off, on = (dict(kv.split("=") for kv in open(p).read().split()) for p in sys.argv[1:3])
latency, cps = float(sys.argv[3]), float(sys.argv[4])
# What the emulator takes for one 10 s segment: fixed part, share of the
# media, then the answer (5 rows and 2 speakers, about 620 characters).
row = {"start": "00:02", "end": "00:04", "voice": 1,
       "text": "Line 10: we measured how long each answer takes to reach the screen today."}
answer = 20 + 5 * (len(json.dumps(row, separators=(",", ":"))) + 1) + 200
emulator = (latency + 50 * 10) / 1000 + answer / cps
target = 10 + emulator + 0.5
for label, r in (("generateContent", off), ("stream-cues", on)):
    for p in ("p50", "p95"):
        v = float(r[p])
        print(f"Live latency speech->cue {p}, {label} (segments {float(r['mean_segment']):.1f} s)\t"
              f"{v:.2f} s\t<= {target:.1f} s\t{'PASS' if v <= target else 'FAIL'}")
    print(f"Live time to first cue, {label}\t{float(r['first_cue']):.2f} s\t-\tinfo")
PY

# --- 5. Tokens per media hour at each media-resolution and fps ---------------
for res in low medium high; do
  for fps in 0.5 1 2; do
    emulator_start "$work/instant.json" "$work/tok-$res-$fps.json"
    gst-launch-1.0 -m videotestsrc num-buffers=$((token_s * 30)) \
        '!' video/x-raw,width=320,height=240,framerate=30/1 '!' queue '!' t.video_sink \
      audiotestsrc num-buffers=$((token_s * 10)) samplesperbuffer=1600 volume=0.3 \
        '!' audio/x-raw,rate=16000,channels=1 '!' queue '!' t.audio_sink \
      "${transcriber[@]}" api-endpoint="$url" media-resolution=$res fps=$fps \
        segment-duration=$(((token_s + 10) * 1000)) '!' fakesink > "$work/tok-$res-$fps.txt"
    emulator_stop
  done
done
python3 - "$work" "$token_s" >> "$results" <<'PY'
import json, math, re, sys
work = sys.argv[1]
model = "gemini-3.8-flash"                     # the element's default
frame = {"low": 70, "medium": 70, "high": 280}  # Gemini 3.x, reference section 6
def text_chars(body):
    n = 0
    for c in body.get("contents", []) + [body.get("systemInstruction") or {"parts": []}]:
        for p in c.get("parts", []):
            n += len(p.get("text", ""))
    return n
text_tokens = None
for res in ("low", "medium", "high"):
    for fps in ("0.5", "1", "2"):
        out = "\n".join(l for l in open(f"{work}/tok-{res}-{fps}.txt") if "gemini-segment" in l)
        prompt = sum(int(x) for x in re.findall(r"prompt-tokens=\(gint64\)(\d+)", out))
        reqs = [r for r in json.load(open(f"{work}/tok-{res}-{fps}.json"))["requests"]
                if r.get("kind") == "generate"]
        text = sum(text_chars(r["body"]) // 4 for r in reqs)
        text_tokens = text_tokens or text // max(len(reqs), 1)
        seconds = sum(int(x) for x in re.findall(r"duration=\(guint64\)(\d+)", out)) / 1e9
        measured = (prompt - text) / seconds * 3600
        documented = 3600 * (float(fps) * frame[res] + 32)
        ok = abs(measured - documented) <= 0.02 * documented
        print(f"Input tokens per media hour, media-resolution={res} fps={fps}\t"
              f"{measured / 1e3:.0f} k (emulator)\t{documented / 1e3:.0f} k documented (+-2%)\t"
              f"{'PASS' if ok else 'FAIL'}")
segments = 3600 / 120                          # segment-duration auto for a file
media = 3600 * (1 * frame["medium"] + 32)
print(f"Tokens per hour at defaults: segments of 120 s vs one request\t"
      f"{(media + segments * text_tokens) / 1e3:.0f} k vs {(media + text_tokens) / 1e3:.0f} k\t-\tinfo")
PY

# --- 6. Peak RSS, 1080p30 input, short vs long, in both modes ------------
# I420, as a decoder hands it over (videotestsrc would otherwise pick a
# format the element also prefers, see docs/element.md). The element leaves
# the allocator to the application: streaming is measured as gst-launch-1.0
# runs it (glibc's defaults) and with the two malloc arenas gemini-transcribe
# sets for itself (examples/memory.cpp).
for run in whole streaming streaming-2-arenas; do
  mode=${run%-2-arenas}
  arenas=
  [ "$run" = streaming-2-arenas ] && arenas=2
  for s in "$mem_short_s" "$mem_mid_s" "$mem_long_s"; do
    emulator_start "$work/instant.json" "$work/mem-$run-$s.json"
    env ${arenas:+MALLOC_ARENA_MAX=$arenas} \
      /usr/bin/time -f '%M' -o "$work/rss-$run-$s" gst-launch-1.0 -q \
      videotestsrc num-buffers=$((s * 30)) pattern=smpte \
        '!' video/x-raw,format=I420,width=1920,height=1080,framerate=30/1 '!' queue '!' t.video_sink \
      audiotestsrc num-buffers=$((s * 48000 / 1024)) wave=pink-noise volume=0.2 \
        '!' audio/x-raw,rate=48000,channels=2 '!' queue '!' t.audio_sink \
      "${transcriber[@]}" api-endpoint="$url" mode=$mode '!' fakesink
    emulator_stop
  done
done
python3 - "$work" "$mem_short_s" "$mem_mid_s" "$mem_long_s" >> "$results" <<'PY'
import sys
work, durations = sys.argv[1], sys.argv[2:]
label = lambda x: f"{int(x) // 60} min" if int(x) >= 60 else f"{x} s"
for run in ("whole", "streaming", "streaming-2-arenas"):
    what = "mode=streaming, MALLOC_ARENA_MAX=2" if run.endswith("arenas") else f"mode={run}"
    rss = [int(open(f"{work}/rss-{run}-{d}").read().split()[-1]) / 1024 for d in durations]
    for d, v in zip(durations, rss):
        print(f"Peak RSS, {label(d)} of 1080p30 A/V, {what}\t{v:.0f} MB\t<= 150 MB\t"
              f"{'PASS' if v <= 150 else 'FAIL'}")
    for i in (1, 0):
        print(f"Peak RSS, {label(durations[2])} vs {label(durations[i])}, {what}\t"
              f"{rss[2] - rss[i]:+.1f} MB\t-\tinfo")
PY

# --- 7. Cue timing: CPU per media hour of timing=audio, generated speech -----
"$build/tests/bench/bench-cue-timer" "$hour_s" > "$work/cue-timer.tsv"
python3 - "$work/cue-timer.tsv" >> "$results" <<'PY'
import sys
f = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip())
level = float(f["level measurement (both timings)"])
added = float(f["envelope (timing=audio)"]) + float(f["assembly, timing=audio, whole"]) \
    - float(f["assembly, timing=model, whole"])
print(f"CPU per media hour added by timing=audio (envelope + cue timer, 48 kHz stereo)\t"
      f"{added:.2f} s ({added / level:.2f}x the level measurement both timings do, "
      f"{level:.2f} s)\t< 1 s\t{'PASS' if added < 1 else 'FAIL'}")
print(f"Envelope memory per media hour (in memory; half on disk for --batch)\t{int(f['envelope bytes per hour']) / 1e6:.2f} MB"
      f"\t-\tinfo")
print(f"Start error p95 on {f['rows']} generated rows, model vs audio\t"
      f"{float(f['start error p95, model']):.3f} s vs {float(f['start error p95, audio']):.3f} s"
      f"\t-\tinfo")
PY

# --- the table ----------------------------------------------------------------
python3 - "$results" "$smoke" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
smoke = sys.argv[2] == "1"
head = ("figure", "measured", "target", "result")
widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
print(line(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print(line(r))
failed = sum(r[3] == "FAIL" for r in rows)
print(f"\n{len(rows)} figures, {failed} FAIL" + (" (smoke run: not judged)" if smoke else ""))
sys.exit(0 if smoke or failed == 0 else 1)
PY
