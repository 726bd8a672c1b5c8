#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How close the element's Opus encoding stays to the source speech, and what
# it costs, for each Opus mode and complexity: the evidence behind the
# encoder's audio settings (docs/performance.md, "Opus mode").
#
#   bash tests/bench/audio-fidelity.sh
#
# Speech is espeak-ng (five voices), clean and with pink noise at about
# 15 dB SNR, resampled to the element's 16 kHz mono. Each setting encodes
# it at the element's bitrate and frame size; the decoded audio is compared
# with the source as an 80-band log-mel spectrogram (25 ms windows, 10 ms
# hop: the features speech models are built on), in dB RMS over the bands
# within 40 dB of each frame's loudest. Lower is closer. CPU is opusenc's
# user time for 10 minutes of the same speech.
# Needs espeak-ng and Debian's python3-numpy.
set -euo pipefail

python=/usr/bin/python3
"$python" -c 'import numpy' 2>/dev/null ||
  { echo "needs numpy: apt-get install python3-numpy" >&2; exit 2; }
command -v espeak-ng >/dev/null || { echo "needs espeak-ng" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

text="Good evening and welcome to the program. My name is Margaret Okonkwo, \
and I lead research at Finch and Partners in Rotterdam. Tonight we talk about \
tidal energy, the Kuramoto model, and why seventeen turbines failed in \
nineteen ninety eight. Joining me is doctor Sven Hallgrimsson from the \
University of Reykjavik."
to16k=('!' audioconvert '!' audioresample '!' audio/x-raw,format=S16LE,rate=16000,channels=1)

i=0
for voice in en-us en-gb+f3 en+m3 de fr; do
  i=$((i + 1))
  espeak-ng -v "$voice" -s 165 -w "$work/voice$i.wav" "$text"
  gst-launch-1.0 -q filesrc location="$work/voice$i.wav" '!' wavparse "${to16k[@]}" \
    '!' wavenc '!' filesink location="$work/clean$i.wav"
  gst-launch-1.0 -q audiomixer name=mix "${to16k[@]}" '!' wavenc \
      '!' filesink location="$work/noisy$i.wav" \
    filesrc location="$work/clean$i.wav" '!' wavparse '!' mix. \
    audiotestsrc wave=pink-noise volume=0.03 num-buffers=300 \
      '!' audio/x-raw,rate=16000,channels=1 '!' mix.
done

settings=("voice 1" "voice 0" "generic 0" "generic 1" "generic 3" "voice 10")
for s in "${settings[@]}"; do
  read -r type complexity <<< "$s"
  for src in "$work"/clean*.wav "$work"/noisy*.wav; do
    gst-launch-1.0 -q filesrc location="$src" '!' wavparse '!' audioconvert \
      '!' opusenc bitrate=24000 frame-size=60 bandwidth=wideband audio-type="$type" \
          complexity="$complexity" \
      '!' oggmux '!' oggdemux '!' opusdec "${to16k[@]}" '!' wavenc \
      '!' filesink location="$src.$type-$complexity.out" 2>/dev/null
  done
done

"$python" - "$work" > "$work/long.raw" <<'PY'
import glob, sys, wave
speech = b"".join(wave.open(p).readframes(10**9) for p in sorted(glob.glob(sys.argv[1] + "/clean*.wav")))
need = 600 * 16000 * 2
sys.stdout.buffer.write((speech * (need // len(speech) + 1))[:need])
PY
for s in "${settings[@]}"; do
  read -r type complexity <<< "$s"
  /usr/bin/time -f "%U" -a -o "$work/cpu.$type-$complexity" gst-launch-1.0 -q \
    filesrc location="$work/long.raw" \
    '!' rawaudioparse format=pcm pcm-format=s16le sample-rate=16000 num-channels=1 \
    '!' opusenc bitrate=24000 frame-size=60 bandwidth=wideband audio-type="$type" \
        complexity="$complexity" '!' fakesink
done

"$python" - "$work" "${settings[@]}" <<'PY'
import glob, sys, wave
import numpy as np

work, settings = sys.argv[1], [s.replace(" ", "-") for s in sys.argv[2:]]
RATE, WINDOW, HOP, BANDS = 16000, 400, 160, 80

def load(path):
    w = wave.open(path)
    return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16) / 32768.0

def mel_filters():
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    edges = np.floor((WINDOW + 1) * hz(np.linspace(0, mel(RATE / 2), BANDS + 2)) / RATE).astype(int)
    fb = np.zeros((BANDS, WINDOW // 2 + 1))
    for b in range(BANDS):
        lo, mid, hi = edges[b:b + 3]
        fb[b, lo:mid] = (np.arange(lo, mid) - lo) / max(mid - lo, 1)
        fb[b, mid:hi] = (hi - np.arange(mid, hi)) / max(hi - mid, 1)
    return fb

FILTERS = mel_filters()

def log_mel(a):
    n = 1 + (len(a) - WINDOW) // HOP
    frames = np.stack([a[i * HOP:i * HOP + WINDOW] for i in range(n)]) * np.hanning(WINDOW)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return 10 * np.log10(np.maximum(power @ FILTERS.T, 1e-10))

def distance(src, out):
    # The decoder's delay, found by cross-correlation over the first seconds.
    lag = int(np.argmax(np.correlate(out[:3 * RATE], src[:2 * RATE], mode="valid")))
    out = out[lag:]
    s, o = log_mel(src), log_mel(out[:len(src)])
    n = min(len(s), len(o))
    s, o = s[:n], o[:n]
    voiced = s.max(axis=1) > s.max() - 50
    s, o = s[voiced], o[voiced]
    strong = s > s.max(axis=1, keepdims=True) - 40
    return float(np.mean(np.sqrt(((o - s) ** 2 * strong).sum(axis=1) / strong.sum(axis=1))))

print("Opus setting (24 kbit/s, 60 ms, wideband)\tclean speech dB\tnoisy speech dB\tCPU s / 10 min")
for setting in settings:
    row = []
    for kind in ("clean", "noisy"):
        pairs = [(p, p + "." + setting + ".out") for p in sorted(glob.glob(f"{work}/{kind}*.wav"))]
        row.append(np.mean([distance(load(a), load(b)) for a, b in pairs]))
    cpu = float(open(f"{work}/cpu.{setting}").read().split()[-1])
    mode = setting.replace("-", ", complexity ").replace("voice", "voice (SILK)").replace("generic", "generic (CELT)")
    print(f"{mode}\t{row[0]:.2f}\t{row[1]:.2f}\t{cpu:.2f}")
PY
