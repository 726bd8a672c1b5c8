#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gemini-transcribe --batch end to end against the gemini-emulator program.

  test_batch_cli.py clips     12 generated clips of 1-4 minutes in one job (inline, then a
                              JSONL file forced with --inline-limit): outputs, speaker names,
                              cue times within 0.5 s of the script; prints the figures
  test_batch_cli.py kills     SIGINT and SIGKILL once in each phase, then the same command
                              again: no duplicate upload, no second job, identical outputs
  test_batch_cli.py failures  one request failing in the job and one unreadable input, then
                              --retry-failed with a new job of one request
  test_batch_cli.py par       an anamorphic input (720x576, pixels 16:15, made by ffmpeg): the
                              pictures uploaded have square pixels, 768x576, as the element sends

Needs GEMINI_TRANSCRIBE and GEMINI_EMULATOR (set by meson); espeak-ng makes the speech.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from emulator_program import EmulatorProgram  # noqa: E402

TRANSCRIBE = os.environ["GEMINI_TRANSCRIBE"]
EMULATOR = os.environ["GEMINI_EMULATOR"]
RATE = 16000
SPEAKERS = [
    {"id": "alice", "name": "Alice Martin", "company": "Acme Media",
     "position": "Editor in chief", "role_in_video": "host"},
    {"id": "bob", "name": "Bob Chen", "company": "Globex",
     "position": "Streaming engineer", "role_in_video": "guest"},
]
LINES = [
    ("alice", "en-us+f3", "Welcome back to the archive show."),
    ("bob", "en-us+m3", "Thanks. Today we digitise old tapes."),
    ("alice", "en-us+f3", "How many hours are left to do?"),
    ("bob", "en-us+m3", "About two thousand, mostly interviews."),
]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def say(work, voice, text):
    path = os.path.join(work, "say.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "170", "-w", path, text], check=True)
    with wave.open(path) as w:
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    # espeak speaks at 22050 Hz: nearest-sample resampling is enough for a test signal
    samples = len(frames) // 2
    out = bytearray()
    for i in range(int(samples * RATE / rate)):
        j = int(i * rate / RATE) * 2
        out += frames[j:j + 2]
    return bytes(out)


def make_speech(work, seconds):
    """One timeline of `seconds` with a line every 6 s; returns (pcm, utterances)."""
    cache = {}
    pcm = bytearray()
    utterances = []
    t, k = 1.0, 0
    while t + 5 < seconds:
        who, voice, text = LINES[k % len(LINES)]
        text = f"{text} Part {k + 1}."
        if text not in cache:
            cache[text] = say(work, voice, text)
        pcm += bytes(int(t * RATE) * 2 - len(pcm)) + cache[text]
        utterances.append({"start": t, "end": round(len(pcm) / 2 / RATE, 3),
                           "speaker": who, "text": text})
        t += 6.0
        k += 1
    pcm += bytes(int(seconds * RATE) * 2 - len(pcm))
    return bytes(pcm), utterances


def write_clip(path, pcm, seconds):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm[:int(seconds * RATE) * 2])


def command(inputs, out, extra=()):
    return [TRANSCRIBE, "--batch", *inputs, "--model", "gemini-2.5-flash",
            "-o", out + "/{stem}.srt", "-o", out + "/{stem}.json",
            "--poll-interval", "100", *extra]


def env_for(emu):
    env = dict(os.environ, GOOGLE_GEMINI_BASE_URL=emu.url, GEMINI_API_KEY="test-key")
    env.pop("GOOGLE_API_KEY", None)
    return env


def run(emu, cmd, expect=0):
    r = subprocess.run(cmd, env=env_for(emu), capture_output=True, text=True, timeout=300)
    if r.returncode != expect:
        print(r.stderr)
        fail(f"{' '.join(cmd)} exited {r.returncode}, expected {expect}")
    return r.stderr


def kinds(log, kind):
    return [e for e in log if e["kind"] == kind]


def srt_cues(path):
    cues = []
    for block in open(path, encoding="utf-8").read().strip().split("\n\n"):
        lines = block.splitlines()
        h, m, s = lines[1].split(" --> ")[0].replace(",", ".").split(":")
        cues.append((int(h) * 3600 + int(m) * 60 + float(s), " ".join(lines[2:])))
    return cues


def check_outputs(out, clips, utterances):
    for path, seconds in clips:
        stem = os.path.splitext(os.path.basename(path))[0]
        cues = srt_cues(os.path.join(out, stem + ".srt"))
        data = json.load(open(os.path.join(out, stem + ".json"), encoding="utf-8"))
        names = sorted(s["name"] for s in data["speakers"])
        check(names == ["Alice Martin", "Bob Chen"], f"{stem}: speakers {names}")
        heard = [u for u in utterances if u["start"] < seconds]
        for u in heard:
            near = [c for c in cues if u["text"] in c[1]]
            check(near, f"{stem}: no cue holds {u['text']!r}")
            check(abs(near[0][0] - u["start"]) <= 0.5,
                  f"{stem}: {u['text']!r} at {near[0][0]} s, script {u['start']} s")
        by_id = {s["id"]: s["name"] for s in data["speakers"]}
        who = {u["text"]: u["speaker"] for u in heard}
        for row in data["transcripts"]:
            want = "Alice Martin" if who[row["text"]] == "alice" else "Bob Chen"
            check(by_id[row["speaker"]] == want, f"{stem}: {row['text']!r} given to "
                  f"{by_id[row['speaker']]}")


def media(work, count, shortest, longest):
    pcm, utterances = make_speech(work, longest)
    clips = []
    for i in range(count):
        seconds = shortest + (longest - shortest) * i / max(1, count - 1)
        path = os.path.join(work, f"clip{i + 1:02d}.wav")
        write_clip(path, pcm, seconds)
        clips.append((path, seconds))
    return clips, utterances


def script(utterances, **extra):
    s = {"timecode_format": "mm:ss.mmm", "file_processing_polls": 0,
         "batch": {"pending_ms": 200, "running_ms": 300},
         "transcript": {"speakers": SPEAKERS, "utterances": utterances,
                        "shuffle_voices": True}}
    s.update(extra)
    return s


def test_clips(work, emu):
    clips, utterances = media(work, 12, 60, 240)
    inputs = [p for p, _ in clips]
    emu.setup(script(utterances))
    out = os.path.join(work, "inline")
    os.mkdir(out)
    started = time.monotonic()
    report = run(emu, command(inputs, out))
    wall = time.monotonic() - started
    log = emu.log()
    creates = kinds(log, "batch_create")
    check(len(creates) == 1, f"{len(creates)} jobs")
    requests = creates[0]["body"]["batch"]["inputConfig"]["requests"]["requests"]
    check(len(requests) == 12, f"{len(requests)} requests in the job")
    check(len(kinds(log, "batch_request")) == 12, "the emulator did not answer 12 requests")
    check_outputs(out, clips, utterances)
    uploaded = sum(e["upload"]["chunk_bytes"] for e in kinds(log, "upload_chunk"))
    cost = [l for l in report.splitlines() if l.startswith("cost:")]
    total = [l for l in report.splitlines() if l.startswith("total:")]
    media_minutes = sum(s for _, s in clips) / 60
    print(f"12 clips, {media_minutes:.1f} min of audio: 1 job, {len(requests)} requests, "
          f"{uploaded} bytes uploaded, {wall:.1f} s wall")
    print(total[0])
    print(cost[0])

    # the same work as a JSONL file: same outputs
    emu.setup(script(utterances))
    jsonl = os.path.join(work, "jsonl")
    os.mkdir(jsonl)
    run(emu, command(inputs, jsonl, ["--inline-limit", "1000"]))
    log = emu.log()
    check(len(kinds(log, "batch_create")) == 1, "the JSONL run made several jobs")
    check(kinds(log, "batch_create")[0]["body"]["batch"]["inputConfig"]["fileName"]
          .startswith("files/"), "no JSONL input file")
    check(len(kinds(log, "file_download")) == 1, "the result file was not downloaded")
    for name in sorted(os.listdir(out)):
        if name.endswith(".srt"):
            check(open(os.path.join(out, name)).read() ==
                  open(os.path.join(jsonl, name)).read(), f"{name} differs inline vs JSONL")
    print("ok: 12 clips inline and as a JSONL file")


def files_by_name(emu):
    names = []
    token = ""
    while True:
        page = emu.get("/v1beta/files?pageSize=100" + (f"&pageToken={token}" if token else ""))
        names += [f.get("displayName", "") for f in page.get("files", [])]
        token = page.get("nextPageToken")
        if not token:
            return names


def test_kills(work, emu):
    clips, utterances = media(work, 3, 40, 60)
    inputs = [p for p, _ in clips]
    slow = script(utterances, faults=[
        {"match": "upload_chunk", "type": "delay", "ms": 400},
        {"match": "batch_create", "type": "delay", "ms": 600},
    ])
    slow["batch"] = {"pending_ms": 1200, "running_ms": 600}
    emu.setup(slow)
    reference = os.path.join(work, "reference")
    os.mkdir(reference)
    run(emu, command(inputs, reference))

    for phase in ["encode", "upload", "submit", "wait", "write"]:
        for sig in [signal.SIGINT, signal.SIGKILL]:
            emu.setup(slow)
            out = os.path.join(work, f"{phase}-{sig.name}")
            os.mkdir(out)
            cmd = command(inputs, out, ["--keep"])
            proc = subprocess.Popen(cmd, env=env_for(emu), stderr=subprocess.PIPE, text=True)
            killed = False
            for line in proc.stderr:
                if line.startswith("phase " + phase):
                    if phase == "submit":
                        # into the create call, which the emulator answers after 600 ms
                        time.sleep(0.3)
                    proc.send_signal(sig)
                    killed = True
                    break
            proc.stderr.read()
            rc = proc.wait()
            check(killed, f"{phase}: the phase never showed")
            if sig == signal.SIGINT:
                check(rc in (0, 130), f"{phase}/SIGINT: exit {rc}")
            before = {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in os.listdir(out)
                      if n.endswith((".srt", ".json")) and not n.startswith("gemini-batch")}
            rerun = run(emu, cmd)
            if phase == "submit":
                # the create went out before the kill: the rerun adopts that job
                check("from the interrupted run" in rerun,
                      f"submit/{sig.name}: the rerun did not look for the sent job")
            log = emu.log()
            check(len(kinds(log, "batch_create")) == 1,
                  f"{phase}/{sig.name}: {len(kinds(log, 'batch_create'))} jobs created")
            names = files_by_name(emu)
            for k in range(1, len(inputs) + 1):
                key = f"in{k:05d}"
                check(names.count(key) == 1, f"{phase}/{sig.name}: {key} uploaded "
                      f"{names.count(key)} times")
            for name, mtime in before.items():
                check(os.stat(os.path.join(out, name)).st_mtime_ns == mtime,
                      f"{phase}/{sig.name}: {name} was written again")
            for name in os.listdir(reference):
                if name.endswith(".srt"):
                    check(open(os.path.join(out, name)).read() ==
                          open(os.path.join(reference, name)).read(),
                          f"{phase}/{sig.name}: {name} differs from the uninterrupted run")
            print(f"ok: killed with {sig.name} in {phase}, finished by the same command")


def test_failures(work, emu):
    clips, utterances = media(work, 3, 30, 50)
    inputs = [p for p, _ in clips]
    broken = os.path.join(work, "broken.wav")
    with open(broken, "wb") as f:
        f.write(b"RIFF not really a wave file")
    emu.setup(script(utterances, faults=[
        {"match": "batch_request", "nth": 2, "type": "http", "status": 500,
         "message": "Internal error encountered."}]))
    out = os.path.join(work, "out")
    os.mkdir(out)
    cmd = command(inputs + [broken], out)
    report = run(emu, cmd, expect=6)
    check(re.search(r"^failed\s+\S*clip02\.wav.*Internal error", report, re.M),
          "the failed request is not reported:\n" + report)
    check(re.search(r"^unreadable\s+\S*broken\.wav", report, re.M),
          "the unreadable input is not reported")
    check(not os.path.exists(os.path.join(out, "clip02.srt")), "clip02 written anyway")
    check(not os.path.exists(os.path.join(out, "broken.srt")), "broken written")
    for stem in ["clip01", "clip03"]:
        check(os.path.exists(os.path.join(out, stem + ".srt")), f"{stem} not written")
    # the same command again only reports
    run(emu, cmd, expect=6)
    check(len(kinds(emu.log(), "batch_create")) == 1, "a rerun without --retry-failed submitted")
    report = run(emu, cmd + ["--retry-failed"], expect=3)
    creates = kinds(emu.log(), "batch_create")
    check(len(creates) == 2, f"{len(creates)} jobs after --retry-failed")
    retried = creates[1]["body"]["batch"]["inputConfig"]["requests"]["requests"]
    check(len(retried) == 1, f"the retry job has {len(retried)} requests")
    check_outputs(out, [clips[1]], utterances)
    check(re.search(r"^done\s+\S*clip02\.wav", report, re.M), "clip02 not done after retry")
    print("ok: a failed request and an unreadable input, then --retry-failed")


def test_par(work, emu):
    clip = os.path.join(work, "anamorphic.mkv")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=720x576:rate=25:duration=3", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=3", "-vf", "setsar=16/15", "-c:v", "mjpeg",
                    "-c:a", "pcm_s16le", clip], check=True)
    emu.setup(script([]))
    out = os.path.join(work, "out")
    os.mkdir(out)
    run(emu, command([clip], out))
    sizes = [(m["width"], m["height"]) for e in emu.log() for m in e.get("media", [])
             if m.get("has_video")]
    check(sizes and set(sizes) == {(768, 576)}, f"pictures uploaded at {sizes}, expected 768x576")
    print("ok: 720x576 at 16:15 uploaded as 768x576 square pixels")


def main():
    which = sys.argv[1]
    work = tempfile.mkdtemp(prefix="gemini-batch-")
    emu = EmulatorProgram(EMULATOR)
    try:
        tests = {"clips": test_clips, "kills": test_kills, "failures": test_failures,
                 "par": test_par}
        tests[which](work, emu)
    finally:
        emu.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
