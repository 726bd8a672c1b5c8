#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Test media for the cue-timing measurement, with the truth known.

  timing_media.py [--out DIR] [--seed N] [--no-mkv] [SCENARIO...]

Scenarios (16 kHz mono S16, seeded, the standard library only):

  speech   16 utterances from two espeak-ng voices, pauses of 0.4-3.0 s; three of them are
           two sentences joined by a 0.6 s pause, long enough (> 90 characters) for the cue
           builder to split them into two cues at the sentence boundary
  tones    440/660 Hz sine bursts of 0.5-3 s (10 ms raised-cosine ramps), words as text
  music    the speech scenario over a chord of 3 sines changing every 0.5 s, for the whole
           file, 18 dB below the speech RMS
  silence  speech with two silences of 16-18 s; one extra script row (a hallucination) in the
           middle of the first, >= 5 s from any sound

For each scenario: SCENARIO.wav, SCENARIO.mkv (testsrc 320x240 at 25 fps + the audio, made by
ffmpeg), SCENARIO.script.json (the emulator's timeline, docs/emulator.md) and
SCENARIO.truth.json. The truth is measured on the samples of each placed clip alone (before the
music bed is mixed in): onset = start of the first 5 ms window whose RMS exceeds -45 dBFS,
offset = end of the last one. The model's times are the truth plus uniform(-1, 1) s each
(the emulator then rounds them to whole seconds).
"""
import argparse
import array
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import wave

RATE = 16000
WINDOW = RATE * 5 // 1000                    # 5 ms
THRESHOLD = 32768 * 10 ** (-45 / 20)         # -45 dBFS, in sample units
JOIN_PAUSE = 0.6                             # between the two sentences of one utterance
MARGIN = 0.05                                # of espeak's own near-silence kept around a clip

SPEAKERS = [
    {"id": "alice", "name": "Alice Martin", "company": "Acme Media",
     "position": "Editor in chief", "role_in_video": "host"},
    {"id": "bob", "name": "Bob Chen", "company": "Globex",
     "position": "Archivist", "role_in_video": "guest"},
]
VOICES = {"alice": "en+f3", "bob": "en+m3"}

# One sentence each: 2-3.5 s at 165 words per minute, no commas (espeak pauses at them).
SINGLES = [
    "Welcome back to the archive show on a rainy Sunday.",
    "Thanks for having me on the programme again.",
    "We spent the whole winter sorting through old tapes.",
    "How many boxes are still waiting in the basement?",
    "About forty boxes from the early eighties are left.",
    "Some of the labels on them are completely faded.",
    "Can you still play those old cassettes at home?",
    "Only on the big machine in the back room.",
    "That sounds like it takes a great deal of patience.",
    "It is slow work but the results are worth it.",
    "Let us listen to the very first recording now.",
    "The sound quality is much better than we expected.",
    "Who recorded this particular interview back then?",
    "Nobody really knows for sure who held the microphone.",
]
# Two sentences, one utterance, > 90 characters: two cues, cut at the full stop.
PAIRS = [
    ("The oldest reel we found dates from nineteen sixty two.",
     "It holds an interview with the first station manager."),
    ("We digitise every tape at twice the real speed now.",
     "The software then corrects the pitch without any loss."),
    ("Listeners keep sending us recordings from their attics.",
     "Last month alone we received more than two hundred."),
]
TONE_WORDS = ["Ding.", "Dong.", "Beep.", "Boop.", "Ping.", "Pong.", "Chime.", "Buzz.",
              "Tick.", "Tock.", "Bell.", "Gong.", "Click.", "Clack."]
HALLUCINATION = "Thank you for watching."


# ---- samples -------------------------------------------------------------------------------

def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        rate = w.getframerate()
        data = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return rate, data


def write_wav(path, samples):
    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


def resample(data, rate):
    """Linear interpolation from `rate` to RATE."""
    if rate == RATE:
        return [float(x) for x in data]
    n = int(len(data) * RATE / rate)
    out = [0.0] * n
    step = rate / RATE
    last = len(data) - 1
    for i in range(n):
        x = i * step
        j = int(x)
        f = x - j
        a = data[j]
        b = data[j + 1] if j < last else a
        out[i] = a + (b - a) * f
    return out


def active_windows(samples):
    """Indices of the 5 ms windows whose RMS exceeds -45 dBFS."""
    limit = THRESHOLD * THRESHOLD * WINDOW
    found = []
    for k in range(len(samples) // WINDOW):
        s = 0.0
        for x in samples[k * WINDOW:(k + 1) * WINDOW]:
            s += x * x
        if s > limit:
            found.append(k)
    return found


def onset_offset(samples):
    """(onset, offset) in seconds within `samples`, measured on the samples alone."""
    w = active_windows(samples)
    if not w:
        raise ValueError("a clip without sound")
    return w[0] * WINDOW / RATE, (w[-1] + 1) * WINDOW / RATE


def rms(samples):
    return math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))


def espeak(cache, voice, text):
    """The sentence at RATE, trimmed to its sound plus MARGIN (cached by voice and text)."""
    key = voice + "-" + hashlib.sha1(text.encode()).hexdigest()[:12]
    path = os.path.join(cache, key + ".wav")
    if not os.path.exists(path):
        raw = os.path.join(cache, key + ".raw.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", raw, text], check=True)
        rate, data = read_wav(raw)
        os.remove(raw)
        samples = resample(data, rate)
        on, off = onset_offset(samples)
        a = max(0, int((on - MARGIN) * RATE))
        b = min(len(samples), int((off + MARGIN) * RATE))
        write_wav(path, [int(round(x)) for x in samples[a:b]])
    return [float(x) for x in read_wav(path)[1]]


def tone(freq, seconds, amplitude=0.3):
    n = int(seconds * RATE)
    ramp = RATE // 100                        # 10 ms raised cosine
    out = [0.0] * n
    for i in range(n):
        g = 1.0
        if i < ramp:
            g = 0.5 - 0.5 * math.cos(math.pi * i / ramp)
        elif i >= n - ramp:
            g = 0.5 - 0.5 * math.cos(math.pi * (n - 1 - i) / ramp)
        out[i] = 32767 * amplitude * g * math.sin(2 * math.pi * freq * i / RATE)
    return out


def music_bed(n, level):
    """Three sines, notes changing every 0.5 s (phase-continuous, so no clicks), each sine at
    the same amplitude; the sum's RMS is `level`."""
    chords = [(261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63),
              (196.00, 246.94, 293.66), (246.94, 311.13, 369.99), (164.81, 207.65, 246.94)]
    amp = level * math.sqrt(2 / 3)            # 3 sines of RMS amp/sqrt(2) each
    out = [0.0] * n
    phase = [0.0, 0.0, 0.0]
    step = RATE // 2
    for start in range(0, n, step):
        freqs = chords[(start // step) % len(chords)]
        incs = [2 * math.pi * f / RATE for f in freqs]
        for i in range(start, min(n, start + step)):
            out[i] = amp * (math.sin(phase[0]) + math.sin(phase[1]) + math.sin(phase[2]))
            phase[0] += incs[0]
            phase[1] += incs[1]
            phase[2] += incs[2]
        phase = [p % (2 * math.pi) for p in phase]
    return out


# ---- layouts --------------------------------------------------------------------------------

class Timeline:
    def __init__(self):
        self.samples = []
        self.rows = []                        # truth rows

    def place(self, t, clip):
        """Puts `clip` at t seconds (mixing), returns its (onset, offset) in the stream."""
        a = int(round(t * RATE))
        need = a + len(clip)
        if len(self.samples) < need:
            self.samples.extend([0.0] * (need - len(self.samples)))
        for i, x in enumerate(clip):
            self.samples[a + i] += x
        on, off = onset_offset(clip)
        return round(a / RATE + on, 4), round(a / RATE + off, 4)

    def pad_to(self, seconds):
        n = int(round(seconds * RATE))
        if len(self.samples) < n:
            self.samples.extend([0.0] * (n - len(self.samples)))

    @property
    def duration(self):
        return len(self.samples) / RATE


def speech_plan(rng, n_singles, pair_slots):
    """Rows of (speaker, [sentences]); the pairs at `pair_slots`."""
    singles = SINGLES[:]
    rng.shuffle(singles)
    singles = singles[:n_singles]
    rows = []
    speaker = "alice"
    pairs = iter(PAIRS)
    for k in range(n_singles + len(pair_slots)):
        sentences = list(next(pairs)) if k in pair_slots else [singles.pop()]
        rows.append((speaker, sentences))
        if rng.random() < 0.75:
            speaker = "bob" if speaker == "alice" else "alice"
    return rows


def say_row(tl, cache, t, speaker, sentences):
    """Places the row's sentences from t (0.6 s between them, onset to onset after the first's
    offset); returns the truth row."""
    parts = []
    for s in sentences:
        clip = espeak(cache, VOICES[speaker], s)
        on_in, _ = onset_offset(clip)
        on, off = tl.place(t - on_in, clip)
        parts.append({"text": s, "onset": on, "offset": off})
        t = off + JOIN_PAUSE
    return {"speaker": speaker, "text": " ".join(sentences), "onset": parts[0]["onset"],
            "offset": parts[-1]["offset"], "parts": parts}


def build_speech(rng, cache):
    tl = Timeline()
    t = rng.uniform(1.0, 2.0)
    for speaker, sentences in speech_plan(rng, 13, {2, 7, 12}):
        row = say_row(tl, cache, t, speaker, sentences)
        tl.rows.append(row)
        t = row["offset"] + rng.uniform(0.4, 3.0)
    tl.pad_to(t + 1.5)
    return tl


def build_tones(rng, cache):
    tl = Timeline()
    t = rng.uniform(1.0, 2.0)
    for k, word in enumerate(TONE_WORDS):
        speaker = "alice" if k % 2 == 0 else "bob"
        freq = 440.0 if speaker == "alice" else 660.0
        on, off = tl.place(t, tone(freq, rng.uniform(0.5, 3.0)))
        tl.rows.append({"speaker": speaker, "text": word, "onset": on, "offset": off,
                        "parts": [{"text": word, "onset": on, "offset": off}]})
        t = off + rng.uniform(0.4, 3.0)
    tl.pad_to(t + 1.5)
    return tl


def build_silence(rng, cache):
    tl = Timeline()
    t = rng.uniform(1.0, 2.0)
    plan = speech_plan(rng, 9, {5})
    hallucination = None
    for k, (speaker, sentences) in enumerate(plan):
        row = say_row(tl, cache, t, speaker, sentences)
        tl.rows.append(row)
        t = row["offset"] + rng.uniform(0.4, 3.0)
        if k in (2, 6):
            gap = rng.uniform(16.0, 18.0)
            if k == 2:
                # the hallucination: 2.5 s in the middle of the silence (>= 6.5 s from sound)
                mid = row["offset"] + gap / 2
                hallucination = {"speaker": "bob" if speaker == "alice" else "alice",
                                 "text": HALLUCINATION, "start": mid - 1.25, "end": mid + 1.25}
            t = row["offset"] + gap
    tl.pad_to(t + 1.5)
    tl.hallucination = hallucination
    return tl


def not_half(x):
    """Keeps a time off x.5 s, where whole-second rounding is a coin toss."""
    f = x - math.floor(x)
    if abs(f - 0.5) < 0.02:
        x += 0.03
    return x


def model_rows(rng, tl):
    """The model's rows: truth + uniform(-1, 1) s at each end, in order, start < end."""
    rows = []
    prev_start = 0.0
    for r in tl.rows:
        start = max(0.0, prev_start, r["onset"] + rng.uniform(-1.0, 1.0))
        end = min(tl.duration, r["offset"] + rng.uniform(-1.0, 1.0))
        end = max(end, start + 0.6)
        start, end = not_half(start), not_half(end)
        r["model_start"], r["model_end"] = round(start, 3), round(end, 3)
        rows.append({"start": r["model_start"], "end": r["model_end"],
                     "speaker": r["speaker"], "text": r["text"]})
        prev_start = start
    h = getattr(tl, "hallucination", None)
    if h:
        start, end = not_half(h["start"]), not_half(h["end"])
        row = {"start": round(start, 3), "end": round(end, 3), "speaker": h["speaker"],
               "text": h["text"]}
        rows.append(row)
        rows.sort(key=lambda x: x["start"])
        tl.hallucination = dict(h, model_start=row["start"], model_end=row["end"])
    return rows


def make_mkv(wav, mkv):
    """testsrc at 25 fps + the WAV; H.264 when GStreamer can decode it, else MJPEG."""
    h264 = subprocess.run(["gst-inspect-1.0", "avdec_h264"], capture_output=True).returncode == 0
    video = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] if h264 \
        else ["-c:v", "mjpeg", "-q:v", "8"]
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=25", "-i", wav, *video, "-c:a", "flac",
                    "-shortest", mkv], check=True)


BUILDERS = {"speech": build_speech, "tones": build_tones, "music": build_speech,
            "silence": build_silence}
SCENARIOS = list(BUILDERS)


def generate(scenario, out, seed=1, mkv=True):
    """Writes the scenario's files into `out` (skipped when they are there for this seed);
    returns the truth."""
    truth_path = os.path.join(out, scenario + ".truth.json")
    if os.path.exists(truth_path):
        truth = json.load(open(truth_path))
        if truth["seed"] == seed and (not mkv or os.path.exists(truth["mkv"])):
            return truth
    cache = os.path.join(out, "espeak-cache")
    os.makedirs(cache, exist_ok=True)
    # music shares speech's layout and model errors: the bed is the only difference
    layout = "speech" if scenario == "music" else scenario
    rng = random.Random(f"{seed}-{layout}")
    tl = BUILDERS[scenario](rng, cache)
    rows = model_rows(rng, tl)
    samples = tl.samples
    info = {}
    if scenario == "music":
        speech_rms = rms([x for r in tl.rows for p in r["parts"]
                          for x in samples[int(p["onset"] * RATE):int(p["offset"] * RATE)]])
        bed = music_bed(len(samples), speech_rms * 10 ** (-18 / 20))
        samples = [x + y for x, y in zip(samples, bed)]
        info = {"speech_rms_dbfs": round(20 * math.log10(speech_rms / 32768), 1),
                "bed_rms_dbfs": round(20 * math.log10(rms(bed) / 32768), 1)}
    peak = max(abs(x) for x in samples)
    if peak > 32767:
        raise RuntimeError(f"{scenario}: clipping ({peak:.0f})")
    wav = os.path.join(out, scenario + ".wav")
    write_wav(wav, [int(round(x)) for x in samples])
    mkv_path = os.path.join(out, scenario + ".mkv")
    if mkv:
        make_mkv(wav, mkv_path)
    script = {"file_processing_polls": 0, "timecode_format": "mm:ss",
              "batch": {"pending_ms": 100, "running_ms": 100},
              "transcript": {"speakers": SPEAKERS, "utterances": rows}}
    script_path = os.path.join(out, scenario + ".script.json")
    json.dump(script, open(script_path, "w"), indent=1)
    truth = {"scenario": scenario, "seed": seed, "duration": round(tl.duration, 3),
             "wav": wav, "mkv": mkv_path, "script": script_path, "rows": tl.rows,
             "hallucination": getattr(tl, "hallucination", None), **info}
    json.dump(truth, open(truth_path, "w"), indent=1)
    return truth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=" ".join(SCENARIOS))
    ap.add_argument("--out", default="timing-media")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-mkv", action="store_true")
    a = ap.parse_args()
    for s in a.scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s}: {' '.join(SCENARIOS)}")
    os.makedirs(a.out, exist_ok=True)
    for s in a.scenarios or SCENARIOS:
        t = generate(s, a.out, a.seed, not a.no_mkv)
        extra = {k: t[k] for k in ("speech_rms_dbfs", "bed_rms_dbfs") if k in t}
        print(f"{s}: {t['duration']:.1f} s, {len(t['rows'])} rows "
              f"({sum(len(r['parts']) > 1 for r in t['rows'])} of two sentences)"
              + (f", hallucination at {t['hallucination']['model_start']} s"
                 if t["hallucination"] else "") + (f", {extra}" if extra else ""))


if __name__ == "__main__":
    main()
