#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ctrl-C in gemini-transcribe, against the gemini-emulator program.

  SIGINT while the answer is awaited: exit 130 within seconds, the upload
  deleted at the service, no output written.
  SIGINT while an .mkv is rendered: exit 130, neither the .mkv nor its .part.
  Two SIGINTs: the second kills at once.

Needs GEMINI_TRANSCRIBE and GEMINI_EMULATOR (set by meson). Prints one line
per case, then "N passed, N failed".
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from cases import check, run_cases  # noqa: E402
from emulator_program import EmulatorProgram  # noqa: E402

TRANSCRIBE = os.environ["GEMINI_TRANSCRIBE"]
EMULATOR = os.environ["GEMINI_EMULATOR"]


def make_clip(path, seconds):
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", f"num-buffers={seconds * 10}",
                    "!", "video/x-raw,width=320,height=180,framerate=10/1", "!",
                    "vp8enc", "deadline=1", "!", "queue", "!", "m.",
                    "audiotestsrc", f"num-buffers={seconds * 10}", "samplesperbuffer=4410",
                    "!", "audioconvert", "!", "vorbisenc", "!", "queue", "!", "m.",
                    "matroskamux", "name=m", "!", "filesink", f"location={path}"], check=True)


def start(emu, work, clip, outputs):
    env = dict(os.environ, GEMINI_API_KEY="test-key", GOOGLE_GEMINI_BASE_URL=emu.url)
    env.pop("GOOGLE_API_KEY", None)
    argv = [TRANSCRIBE, clip]
    for o in outputs:
        argv += ["-o", os.path.join(work, o)]
    return subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True, cwd=work)


def wait_for(condition, seconds, what):
    end = time.monotonic() + seconds
    while not condition():
        check(time.monotonic() < end, "timed out waiting for " + what)
        time.sleep(0.05)


def drain(proc):
    """Read stderr in the background; the lines so far."""
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    return lines


def test_while_answer_awaited(emu, work, clip):
    emu.setup({"latency_ms": 20000})
    proc = start(emu, work, clip, ["out.srt", "out.json"])
    drain(proc)
    wait_for(lambda: emu.kinds("generate"), 30, "the request")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    took = time.monotonic() - sent
    check(rc == 130, f"exit {rc}")
    check(took < 10, f"{took:.1f} s to stop")
    uploads = len([e for e in emu.kinds("upload_chunk") if e["status"] == 200])
    check(uploads >= 1, "nothing was uploaded")
    deletes = emu.kinds("file_delete")
    check(len(deletes) == 1, f"{len(deletes)} file deletes: the upload stays at the service")
    for name in ("out.srt", "out.json"):
        check(not os.path.exists(os.path.join(work, name)), f"{name} was written")
    return f"exit 130 {took:.1f} s after SIGINT, upload deleted, nothing written"


def test_while_rendering(emu, work, clip):
    emu.setup({})
    proc = start(emu, work, clip, ["out.mkv"])
    lines = drain(proc)
    wait_for(lambda: any("writing" in l and "out.mkv" in l for l in lines)
             or os.path.exists(os.path.join(work, "out.mkv.part")), 60, "the render")
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    check(rc == 130, f"exit {rc}")
    left = [n for n in os.listdir(work) if n.startswith("out.mkv")]
    check(not left, f"left on disk: {left}")
    return "exit 130, neither out.mkv nor out.mkv.part left"


def test_second_signal_kills(emu, work, clip):
    emu.setup({"latency_ms": 20000})
    proc = start(emu, work, clip, ["out.srt"])
    drain(proc)
    wait_for(lambda: emu.kinds("generate"), 30, "the request")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=10)
    check(rc in (-signal.SIGINT, 130), f"exit {rc}")
    return f"exit {rc}"


def main():
    with tempfile.TemporaryDirectory(prefix="gemini-interrupt-") as root, \
            EmulatorProgram(EMULATOR) as emu:
        # long enough that the render is still going when the signal comes
        clip = os.path.join(root, "clip.mkv")
        make_clip(clip, 60)
        cases = []
        for test in (test_while_answer_awaited, test_while_rendering, test_second_signal_kills):
            work = os.path.join(root, test.__name__)
            os.mkdir(work)
            cases.append((test.__name__, lambda t=test, w=work: t(emu, w, clip)))
        return run_cases(cases)


if __name__ == "__main__":
    sys.exit(main())
