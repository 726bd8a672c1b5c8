#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gemini-transcribe, --batch and gst-launch-1.0 against hostile_server.py.

Each case starts the hostile server with one scenario and a canary key, runs
the program on a generated 11-second Ogg clip and checks what a user would:
the exit status, the time the run takes and the memory it holds (both
bounded), that no request went to the foreign origin, and that the key is in
nothing the program wrote: stdout, stderr, its GStreamer debug log, its
outputs, its batch state and cache. Prints one line per case with its
figures, then "N passed, N failed".

  test_hostile_cli.py [CASE...]     all cases, or those named

Needs GEMINI_TRANSCRIBE (set by meson), gst-launch-1.0 and the plugin on
GST_PLUGIN_PATH_1_0.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "hostile_server.py")
TRANSCRIBE = os.environ.get("GEMINI_TRANSCRIBE", "gemini-transcribe")
KEY = "AIzaCliCanaryKey-5f0c1d2e3a4b5c6d7e8f90"
CLIP_SECONDS = 11
MiB = 1024 * 1024


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


class Run:
    """One finished program run: status, figures, what it printed and the server saw."""

    def __init__(self, rc, seconds, rss, stdout, stderr, requests):
        self.rc, self.seconds, self.rss = rc, seconds, rss
        self.stdout, self.stderr, self.requests = stdout, stderr, requests

    def calls(self, fragment, origin="endpoint"):
        return [r for r in self.requests if r["origin"] == origin and fragment in r["path"]]


def wait_rusage(proc, limit):
    """Wait for `proc` (killed after `limit` s): its status and its own peak RSS in bytes."""
    timer = threading.Timer(limit, lambda: proc.poll() is None and proc.kill())
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024


class Server:
    def __init__(self, work, scenario, seconds=90):
        self.ports = os.path.join(work, "server.ports")
        self.log = os.path.join(work, "server.log")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--scenario", scenario,
                                      "--port-file", self.ports, "--log", self.log,
                                      "--key", KEY, "--max-seconds", str(seconds)])
        end = time.monotonic() + 20
        while not os.path.exists(self.ports):
            check(time.monotonic() < end and self.proc.poll() is None,
                  "the hostile server did not start")
            time.sleep(0.05)
        with open(self.ports, encoding="utf-8") as f:
            self.urls = json.load(f)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


def run_program(work, scenario, argv, limit, env_extra=None):
    """Run argv against a fresh server; everything it writes goes under work/out."""
    server = Server(work, scenario, seconds=limit + 30)
    out = os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=server.urls["endpoint"],
               GST_DEBUG="*gemini*:6,GST_ELEMENT_*:4", GST_DEBUG_NO_COLOR="1",
               GST_DEBUG_FILE=os.path.join(out, "gst-debug.log"))
    env.pop("GOOGLE_API_KEY", None)
    env.update(env_extra or {})
    with open(os.path.join(out, "stdout"), "wb") as so, \
            open(os.path.join(out, "stderr"), "wb") as se:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=so, stderr=se, env=env, cwd=out)
        rc, rss = wait_rusage(proc, limit * 3)
        seconds = time.monotonic() - started
    requests = server.stop()
    read = lambda name: open(os.path.join(out, name), encoding="utf-8", errors="replace").read()
    return Run(rc, seconds, rss, read("stdout"), read("stderr"), requests)


def common_checks(work, run, expect_rc, max_seconds, max_rss):
    check(run.rc >= 0, f"killed by signal {-run.rc}:\n{run.stderr[-2000:]}")
    check("terminate called" not in run.stderr, "an uncaught C++ exception")
    check(run.rc == expect_rc, f"exit {run.rc}, expected {expect_rc}:\n{run.stderr[-2000:]}")
    check(run.seconds <= max_seconds, f"took {run.seconds:.1f} s, bound {max_seconds} s")
    check(run.rss <= max_rss, f"peak RSS {run.rss / MiB:.0f} MiB, bound {max_rss / MiB:.0f}")
    foreign = [r["path"] for r in run.requests if r["origin"] == "foreign"]
    check(not foreign, f"requests to the foreign origin: {foreign[:3]}")
    for base, _, names in os.walk(work):
        for name in names:
            path = os.path.join(base, name)
            if path.startswith(os.path.join(work, "server.")):
                continue  # the server's own log records the header the client sent
            with open(path, "rb") as f:
                check(KEY.encode() not in f.read(), f"the key is in {os.path.relpath(path, work)}")
    check("\x1b" not in run.stderr and "\x07" not in run.stderr, "escapes reached the terminal")


def srt_times(path):
    times = []
    for block in open(path, encoding="utf-8").read().strip().split("\n\n"):
        if block.strip():
            a, b = block.splitlines()[1].split(" --> ")
            times.append((seconds_of(a), seconds_of(b)))
    return times


def seconds_of(stamp):
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


# ------------------------------------------------------------------- cases

def transcribe(clip, *args):
    return [TRANSCRIBE, clip, "-o", "clip.srt", "-o", "clip.json", "--quiet", *args]


def case(scenario, args=(), rc=0, seconds=30, rss=400 * MiB, then=None):
    def run_case(work, clip):
        run = run_program(work, scenario, transcribe(clip, *args), seconds)
        common_checks(work, run, rc, seconds, rss)
        if then:
            then(work, run)
        return run
    return run_case


def out_path(work, name):
    return os.path.join(work, "out", name)


def srt_text(path):
    return " ".join(open(path, encoding="utf-8").read().split())


def valid_output(work, run):
    check("Hello from the hostile server." in srt_text(out_path(work, "clip.srt")),
          "the transcript is not in the SRT")


def no_redirect_followed(work, run):
    check(len(run.calls(":generateContent")) == 1, f"{len(run.calls(':generateContent'))} "
          "generate requests: a redirect was retried")
    check("redirect" in run.stderr and "127.0.0.1" in run.stderr,
          "the error does not name the redirect and its host:\n" + run.stderr)
    check(not os.path.exists(out_path(work, "clip.srt")), "an output was written")


def no_upload_to_foreign(work, run):
    chunks = [r for r in run.requests if r["method"] == "POST" and "upload_id" in r["path"]]
    check(not chunks, "media was sent to the upload URL")
    check("upload" in run.stderr.lower(), "the error does not say the upload URL is refused")


def redacted(work, run):
    check("<redacted>" in run.stderr, "the error lost its message or was not redacted:\n"
          + run.stderr)


def names_missing_url(work, run):
    check("X-Goog-Upload-URL" in run.stderr, "the error does not say what is missing:\n"
          + run.stderr)


def keeps_status(work, run):
    check("503" in run.stderr and "overloaded" in run.stderr,
          "the error lost its HTTP status or its words:\n" + run.stderr)


def bounded_rows(limit):
    def check_rows(work, run):
        data = json.load(open(out_path(work, "clip.json"), encoding="utf-8"))
        rows = len(data["transcripts"])
        check(0 < rows <= limit, f"{rows} rows, bound {limit}")
        check(any(f"after row {limit} dropped" in r for s in data["segments"]
                  for r in s.get("repairs", [])), "the cut is not reported in the JSON")
    return check_rows


def bounded_speakers(limit):
    def check_speakers(work, run):
        data = json.load(open(out_path(work, "clip.json"), encoding="utf-8"))
        check(0 < len(data["speakers"]) <= limit, f"{len(data['speakers'])} speakers")
    return check_speakers


def valid_times(work, run):
    times = srt_times(out_path(work, "clip.srt"))
    check(times, "no cue")
    for a, b in times:
        check(0 <= a < b <= CLIP_SECONDS + 0.5, f"cue {a} --> {b} outside the clip")
    data = json.load(open(out_path(work, "clip.json"), encoding="utf-8"))
    clip_ms = (CLIP_SECONDS + 0.5) * 1000
    for row in data["transcripts"]:
        # null is the documented "the model gave no end" (here: one before the start)
        start, end = row["start_ms"], row["end_ms"]
        check(isinstance(start, int) and 0 <= start <= clip_ms, f"row start: {row}")
        check(end is None or start < end <= clip_ms, f"row end: {row}")
    check(len(times) < len(data["transcripts"]), "no cue past the stop was dropped")
    repairs = [r for seg in data["segments"] for r in seg["repairs"]]
    check(any("past the end of the stream" in r for r in repairs) or
          any("beyond segment end" in r for r in repairs),
          f"the cut is not reported: {repairs}")


def overwrite(work, clip):
    """An output, or the state file, that is the input (by name, through a link, or by
    default): a usage error, and the input untouched."""
    media = os.path.join(work, "input.mkv")
    shutil.copy(clip, media)
    talk = os.path.join(work, "talk.srt")
    shutil.copy(clip, talk)
    link = os.path.join(work, "link.mkv")
    os.symlink(media, link)
    before = open(media, "rb").read()
    for argv in ([TRANSCRIBE, media, "-o", media], [TRANSCRIBE, media, "-o", link],
                 [TRANSCRIBE, talk],
                 [TRANSCRIBE, "--batch", media, "-o", os.path.join(work, "{stem}.mkv")],
                 [TRANSCRIBE, "--batch", media, "-o", os.path.join(work, "x", "{stem}.srt"),
                  "--state", link]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=work,
                           env=dict(os.environ, GEMINI_API_KEY=KEY,
                                    GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9"))
        check(r.returncode == 1, f"{argv[1:]}: exit {r.returncode}:\n{r.stderr}")
        check("is the input" in r.stderr, f"{argv[1:]}: unclear error:\n{r.stderr}")
        check(open(media, "rb").read() == before and open(talk, "rb").read() == before,
              f"{argv[1:]}: an input changed")


def batch_argv(clips, work, *extra):
    return [TRANSCRIBE, "--batch", *clips, "-o", os.path.join(work, "out", "{stem}.srt"),
            "--poll-interval", "100", "--keep", *extra]


def two_clips(work, clip):
    second = os.path.join(work, "second.ogg")
    shutil.copy(clip, second)
    return [clip, second]


def batch_foreign_keys(work, clip):
    run = run_program(work, "batch-foreign-keys", batch_argv([clip], work), 60)
    common_checks(work, run, 0, 60, 400 * MiB)
    check("ignored 2 results" in run.stderr, "the foreign results were not reported:\n"
          + run.stderr)
    for base in (work, os.path.dirname(work)):
        check(not any("hostile-escape" in n for n in os.listdir(base)),
              f"a file was written in {base}")
    for base, _, names in os.walk(work):
        check(not any("hostile-escape" in n for n in names), f"a file was written in {base}")
    valid_output(work, run)
    return run


def batch_echo_key(work, clip):
    run = run_program(work, "batch-echo-key", batch_argv(two_clips(work, clip), work), 60)
    # the first request failed (its error holds the key), the second holds it in its text
    common_checks(work, run, 6, 60, 400 * MiB)
    state = open(out_path(work, "gemini-batch-state.json"), encoding="utf-8").read()
    check("<redacted>" in state, "the failed request's error is not in the state, redacted")
    check("<redacted>" in srt_text(out_path(work, "second.srt")),
          "the key in the text was not redacted in the SRT")
    return run


def deep(levels):
    return "[" * levels + "]" * levels


STATE_ATTACKS = {
    "written is not a list of strings": lambda s: s["inputs"][0].update(written=[1]),
    "a job key is null": lambda s: s["jobs"][0].update(keys=[None]),
    "an input key climbs out": lambda s: s["inputs"][0].update(key="../../../hostile-escape"),
    "a window key climbs out": lambda s: s["inputs"][0]["windows"][0].update(
        key="in00001#0/../../hostile-escape"),
    "a file name climbs out": lambda s: s["inputs"][0].update(file_name="files/../../x"),
    "a job key no window has": lambda s: s["jobs"][0]["keys"].append("in00009#0"),
    "inputs is an object": lambda s: s.update(inputs={"a": 1}),
}


def batch_hostile_state(work, clip):
    """A finished run's state file, edited: each edit is a clear error, never a crash."""
    run = run_program(work, "valid", batch_argv([clip], work), 60)
    common_checks(work, run, 0, 60, 400 * MiB)
    state_path = out_path(work, "gemini-batch-state.json")
    original = json.load(open(state_path, encoding="utf-8"))
    attacks = dict((name, attack) for name, attack in STATE_ATTACKS.items())
    attacks["nested 80000 deep"] = None
    for name, attack in attacks.items():
        if attack is None:
            text = deep(80000)
        else:
            state = json.loads(json.dumps(original))
            attack(state)
            text = json.dumps(state)
        with open(state_path, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run(batch_argv([clip], work), capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, GEMINI_API_KEY=KEY,
                                                GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9"))
        check(r.returncode == 6, f"{name}: exit {r.returncode}:\n{r.stderr}")
        check("cannot read the state file" in r.stderr, f"{name}: unclear error:\n{r.stderr}")
        check(not os.path.exists(os.path.join(os.path.dirname(work), "hostile-escape")),
              f"{name}: a file was written outside")
    return run


def gst_launch_echo_key(work, clip):
    """The element's bus and debug log: the key a server echoes is not in them."""
    argv = ["gst-launch-1.0", "-m", "filesrc", f"location={clip}", "!", "decodebin", "!",
            "audioconvert", "!", "audioresample", "!", "geminitranscriber", "max-retries=0",
            "!", "fakesink"]
    run = run_program(work, "echo-key-error", argv, 60)
    # a 400 fails its segment, not the stream: a warning and a gemini-segment message
    common_checks(work, run, 0, 60, 400 * MiB)
    check("<redacted>" in run.stdout, "the bus messages do not hold the redacted error:\n"
          + run.stdout[-2000:])
    return run


CASES = {
    "valid": case("valid", then=valid_output),
    "redirect-301": case("redirect-301", rc=6, then=no_redirect_followed),
    "redirect-302": case("redirect-302", rc=6, then=no_redirect_followed),
    "redirect-307": case("redirect-307", rc=6, then=no_redirect_followed),
    "redirect-loop": case("redirect-loop", rc=6, then=no_redirect_followed),
    "upload-url-foreign": case("upload-url-foreign", rc=6, then=no_upload_to_foreign),
    "echo-key-upload-status": case("echo-key-upload-status", rc=6, then=names_missing_url),
    "echo-key-error": case("echo-key-error", rc=6, then=redacted),
    "deep-json-200": case("deep-json-200", rc=6),
    "deep-json-503": case("deep-json-503", args=("--max-retries", "0"), rc=6),
    "endless-200": case("endless-200", args=("--max-retries", "0"), rc=6, seconds=60,
                        rss=300 * MiB),
    "endless-500": case("endless-500", args=("--max-retries", "0"), rc=6, seconds=60,
                        rss=300 * MiB),
    "never-answer": case("never-answer", args=("--request-timeout", "2", "--max-retries", "0"),
                         rc=6, seconds=20),
    "sse-comments": case("sse-comments", args=("--mode", "streaming", "--request-timeout", "3",
                                               "--max-retries", "0"), rc=6, seconds=30),
    "retry-day": case("retry-day", rc=5, seconds=20),
    "retry-overflow": case("retry-overflow", rc=5, seconds=20),
    "invalid-utf8-error": case("invalid-utf8-error", args=("--max-retries", "0"), rc=6,
                               then=keeps_status),
    "ansi-error": case("ansi-error", rc=6),
    "many-rows": case("many-rows", rc=6, seconds=30, rss=300 * MiB),
    "many-speakers": case("many-speakers", rc=6, seconds=30, rss=300 * MiB),
    "many-rows-small": case("many-rows-small", seconds=30, rss=400 * MiB,
                            then=bounded_rows(64)),
    "many-speakers-small": case("many-speakers-small", seconds=30, rss=400 * MiB,
                                then=bounded_speakers(64)),
    "rows-past-stop": case("rows-past-stop", then=valid_times),
    "rows-past-stop-streaming": case("rows-past-stop", args=("--mode", "streaming"),
                                     then=valid_times),
    "batch-foreign-keys": batch_foreign_keys,
    "batch-echo-key": batch_echo_key,
    "batch-hostile-state": batch_hostile_state,
    "gst-launch-echo-key": gst_launch_echo_key,
}


def make_clip(path):
    buffers = CLIP_SECONDS * 44100 // 1024
    subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", f"num-buffers={buffers}",
                    "wave=ticks", "!", "audioconvert", "!", "vorbisenc", "!", "oggmux", "!",
                    "filesink", f"location={path}"], check=True)


def main(names):
    root = tempfile.mkdtemp(prefix="gemini-hostile-cli-")
    passed = failed = 0
    try:
        clip_dir = os.path.join(root, "media")
        os.mkdir(clip_dir)
        clip = os.path.join(clip_dir, "clip.ogg")
        make_clip(clip)
        work = os.path.join(root, "overwrite")
        os.mkdir(work)
        try:
            overwrite(work, clip)
            print("ok   overwrite: -o or --state naming the input is a usage error")
            passed += 1
        except Failed as e:
            print(f"FAIL overwrite: {e}")
            failed += 1
        for name in names or CASES:
            work = os.path.join(root, name)
            os.mkdir(work)
            try:
                run = CASES[name](work, shutil.copy(clip, os.path.join(work, "clip.ogg")))
                print(f"ok   {name}: exit {run.rc}, {run.seconds:.1f} s, "
                      f"peak RSS {run.rss / MiB:.0f} MiB, {len(run.requests)} requests")
                passed += 1
            except Failed as e:
                print(f"FAIL {name}: {e}")
                failed += 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
