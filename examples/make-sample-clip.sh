#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Generates a short interview clip (espeak-ng voices, names on screen with
# textoverlay) and the matching Gemini emulator script, for offline runs.
#
#   bash examples/make-sample-clip.sh OUT.mkv SCRIPT.json [MINUTES]
#
# With MINUTES, the 25-second interview repeats until the clip is that long
# (for timing long runs end to end); each repeat says its number, since a
# transcript that repeats itself word for word looks like a looping model.
set -euo pipefail

out=$1
script=$2
minutes=${3:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$script" "$minutes" <<'PY'
import json, math, subprocess, sys, wave

work, script, minutes = sys.argv[1], sys.argv[2], float(sys.argv[3])
lines = [
    (1.0, "alice", "en-us+f3", "Welcome to the show. Today we talk about open source video."),
    (6.0, "bob", "en-us+m3", "Thanks for having me. I build streaming pipelines."),
    (11.0, "alice", "en-us+f3", "What is the hardest part of live captions?"),
    (15.0, "bob", "en-us+m3", "Keeping the timing right while the network is slow."),
    (21.0, "alice", "en-us+f3", "Thank you, that is all for today."),
]
cycle = 25.0
repeats = max(1, math.ceil(minutes * 60 / cycle))
rate = 22050
frames = bytearray()
utterances = []
def say(voice, text):
    path = f"{work}/say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", path, text], check=True)
    with wave.open(path) as w:
        assert w.getframerate() == rate and w.getsampwidth() == 2
        return w.readframes(w.getnframes())

for k in range(repeats):
    for start, who, voice, text in lines:
        start += k * cycle
        if k > 0:
            text = f"{text} Take {k + 1}."
        pad = int(start * rate) * 2 - len(frames)
        frames += bytes(max(pad, 0)) + say(voice, text)
        end = len(frames) / 2 / rate
        utterances.append({"start": start, "end": round(end, 2), "speaker": who, "text": text})
frames += bytes(int(2.0 * rate) * 2)
with wave.open(f"{work}/speech.wav", "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(frames))

json.dump({
    "transcript": {
        "speakers": [
            {"id": "alice", "name": "Alice Martin", "company": "Acme Media",
             "position": "Editor in chief", "role_in_video": "host"},
            {"id": "bob", "name": "Bob Chen", "company": "Globex",
             "position": "Streaming engineer", "role_in_video": "guest"},
        ],
        "utterances": utterances,
        "shuffle_voices": True,
    }
}, open(script, "w"), indent=2)
PY

seconds=$(python3 -c "import wave; w = wave.open('$work/speech.wav'); print(w.getnframes() / w.getframerate())")
frames=$(python3 -c "import math; print(math.ceil($seconds * 25))")
gst-launch-1.0 -q \
  filesrc location="$work/speech.wav" ! wavparse ! audioconvert ! audioresample ! \
    opusenc ! queue ! mux.audio_0 \
  videotestsrc num-buffers="$frames" pattern=smpte ! \
    video/x-raw,width=640,height=360,framerate=25/1 ! \
    textoverlay text="Alice Martin (Acme Media) - Bob Chen (Globex)" valignment=bottom \
      font-desc="Sans 20" ! \
    videoconvert ! vp8enc deadline=1 ! queue ! mux.video_0 \
  matroskamux name=mux ! filesink location="$out"
