#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How exact the cue times are: gemini-transcribe against the emulator on media whose speech
onsets and offsets are known (timing_media.py), --timing=model against --timing=audio.

  cue_timing.py            the benchmark: every scenario, input kind and mode, one Markdown
                           table (docs/performance.md)
  cue_timing.py --check    the test (meson `cue-timing`): a subset, one line per case, then
                           "N passed, N failed"; exit status 1 on a failure

Options: --work DIR (keep the media and outputs there), --seed N, --scenarios/--kinds/--modes
to narrow the benchmark, --no-timing-option (leave --timing out of every command: both
timings are then the program's default, to debug this script without the option), -v (every
utterance of every run).

Errors per utterance, in seconds:
  start      |first cue start - true onset|
  end        |the utterance's end_ms (JSON `transcripts`/`utterances`) - true offset|
  cue end    |last cue end - true offset|: may rightly be later than the speech, when the
             reading speed cap (17 characters/s) or the 1 s minimum duration hold a cue longer
  burst      for the two-sentence utterances: |second cue start - second sentence onset|
p50 and p95 are nearest-rank percentiles (with fewer than 20 utterances p95 is the largest).

Needs GEMINI_TRANSCRIBE (default: the build tree's examples/gemini-transcribe), espeak-ng and
ffmpeg.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True                # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import timing_media  # noqa: E402
from cases import Failed, check, run_cases  # noqa: E402

TRANSCRIBE = os.environ.get("GEMINI_TRANSCRIBE") or os.path.join(
    HERE, "..", "..", "build", "examples", "gemini-transcribe")
MODES = {"whole": ["--mode", "whole"], "streaming": ["--mode", "streaming", "-s", "30000"],
         "batch": None}
KINDS = ["wav", "mkv"]
TIMINGS = ["model", "audio"]
MAX_LINE = 42
MAX_LINES = 2
MIN_GAP_MS = {"wav": 80, "mkv": 80}          # mkv: 2 frames at 25 fps
OUTLIERS = 4                                  # listed per run in the benchmark
GAP_TOLERANCE_MS = 1                          # times are whole milliseconds in the JSON


# ---- running -------------------------------------------------------------------------------

class Runner:
    def __init__(self, work, seed, timing_option, verbose):
        self.work = work
        self.seed = seed
        self.timing_option = timing_option
        self.verbose = verbose
        self.truths = {}
        self.outputs = {}                      # (scenario, kind, mode, timing) -> json
        self.seconds = {}                      # the same -> wall time of the run

    def truth(self, scenario):
        if scenario not in self.truths:
            self.truths[scenario] = timing_media.generate(
                scenario, os.path.join(self.work, "media"), self.seed)
        return self.truths[scenario]

    def timing_args(self, timing):
        return ["--timing", timing] if self.timing_option else []

    def run(self, cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise Failed(f"`{shlex.join(cmd)}` exited {r.returncode}: {r.stderr.strip()}")

    def output(self, scenario, kind, mode, timing):
        """The JSON output of that run (made once; a batch run makes both kinds)."""
        if not self.timing_option and timing == "audio":
            timing = "model"                   # one default run stands for both
        key = (scenario, kind, mode, timing)
        if key in self.outputs:
            return self.outputs[key]
        t = self.truth(scenario)
        out = os.path.join(self.work, "out", f"{mode}-{timing}")
        os.makedirs(out, exist_ok=True)
        started = time.monotonic()
        if mode == "batch":
            state = os.path.join(out, scenario + ".state.json")
            # a fresh run every time: no answer of an earlier build reused
            shutil.rmtree(state + ".d", ignore_errors=True)
            if os.path.exists(state):
                os.remove(state)
            self.run([TRANSCRIBE, "--batch", "--emulator-script", t["script"], "-q",
                      "--state", state, "--poll-interval", "100", *self.timing_args(timing),
                      "-o", os.path.join(out, "{name}.json"), t["wav"], t["mkv"]])
            wall = time.monotonic() - started
            for k in KINDS:
                path = os.path.join(out, os.path.basename(t[k]) + ".json")
                self.outputs[(scenario, k, mode, timing)] = json.load(open(path))
                self.seconds[(scenario, k, mode, timing)] = wall / len(KINDS)
        else:
            path = os.path.join(out, f"{scenario}.{kind}.json")
            self.run([TRANSCRIBE, "--emulator-script", t["script"], "-q", *MODES[mode],
                      *self.timing_args(timing), "-o", path, t[kind]])
            self.outputs[key] = json.load(open(path))
            self.seconds[key] = time.monotonic() - started
        return self.outputs[key]

    def command_line(self, scenario, kind, mode, timing):
        t = self.truth(scenario)
        if mode == "batch":
            return shlex.join(["gemini-transcribe", "--batch", "--emulator-script",
                               os.path.basename(t["script"]), "-q", "--state", "STATE",
                               "--poll-interval", "100", *self.timing_args(timing), "-o",
                               "DIR/{name}.json", os.path.basename(t["wav"]),
                               os.path.basename(t["mkv"])])
        return shlex.join(["gemini-transcribe", "--emulator-script",
                           os.path.basename(t["script"]), "-q", *MODES[mode],
                           *self.timing_args(timing), "-o", "OUT.json",
                           os.path.basename(t[kind])])


# ---- matching ------------------------------------------------------------------------------

def words(text):
    return text.split()


def strip_label(text, labels):
    """The cue's text without a "Name: " label, lines joined."""
    for label in labels:
        if text.startswith(label + ":"):
            return text[len(label) + 1:]
    return text


def labels_of(data):
    names = set()
    for s in data.get("speakers", []):
        for k in ("name", "id"):
            if s.get(k) and s[k] != "?":
                names.add(s[k])
    return sorted(names, key=len, reverse=True)


def rows_of(truth):
    """The script's rows: the true utterances, and the hallucination (no truth)."""
    rows = [dict(r, hallucination=False) for r in truth["rows"]]
    h = truth.get("hallucination")
    if h:
        rows.append({"speaker": h["speaker"], "text": h["text"], "model_start": h["model_start"],
                     "model_end": h["model_end"], "hallucination": True, "parts": []})
    return sorted(rows, key=lambda r: r["model_start"])


def match_cues(rows, cues, labels):
    """Each row's cues, in order: a cue belongs to the row whose words it continues. Returns
    (per-row lists of cue indices, indices of cues no row holds)."""
    row_words = [words(r["text"]) for r in rows]
    taken = [[] for _ in rows]
    pos = [0] * len(rows)
    stray = []
    cur = None
    for i, c in enumerate(cues):
        w = words(strip_label(c["text"], labels))
        if cur is not None and row_words[cur][pos[cur]:pos[cur] + len(w)] == w:
            r = cur
        else:
            r = next((k for k, rw in enumerate(row_words) if not taken[k] and rw[:len(w)] == w),
                     None)
        if r is None:
            stray.append(i)
            continue
        taken[r].append(i)
        pos[r] += len(w)
        cur = r
    return taken, pos, stray


def utterances_of(data):
    return data.get("utterances") or data.get("transcripts") or []


def model_time_ms(data, seconds):
    """Where the model's time lands after the emulator's rounding: whole seconds from the start
    of the clip (segment or window) whose range holds it."""
    start = 0
    for s in sorted(data.get("segments", []), key=lambda s: s["start_ms"]):
        if s["start_ms"] <= seconds * 1000:
            start = s["start_ms"]
    return start + 1000 * math.floor((seconds * 1000 - start) / 1000 + 0.5)


def measure(truth, data):
    """Per-row errors and the readability problems of one output."""
    rows = rows_of(truth)
    cues = sorted(data["cues"], key=lambda c: c["start_ms"])
    labels = labels_of(data)
    taken, pos, stray = match_cues(rows, cues, labels)
    utts = {" ".join(words(u["text"])): u for u in utterances_of(data)}
    problems = []
    if stray:
        problems.append(f"{len(stray)} cues hold no script text: "
                        + "; ".join(repr(cues[i]["text"]) for i in stray[:3]))
    results = []
    for r, idx, p in zip(rows, taken, pos):
        if not idx or p != len(words(r["text"])):
            problems.append(f"{r['text'][:40]!r}: {p} of {len(words(r['text']))} words in cues")
            continue
        first, last = cues[idx[0]], cues[idx[-1]]
        u = utts.get(" ".join(words(r["text"])))
        res = {"text": r["text"], "hallucination": r["hallucination"], "cues": len(idx),
               "cue_start": first["start_ms"] / 1000, "cue_end": last["end_ms"] / 1000,
               "model_start": r["model_start"], "model_end": r["model_end"],
               "model_start_rounded": model_time_ms(data, r["model_start"]) / 1000}
        if u is not None:
            res["utt_start"] = u["start_ms"] / 1000
            res["utt_end"] = None if u.get("end_ms") is None else u["end_ms"] / 1000
            for k in ("model_start_ms", "model_end_ms"):
                if u.get(k) is not None:
                    res["json_" + k[:-3]] = u[k] / 1000
        if not r["hallucination"]:
            res["onset"], res["offset"] = r["onset"], r["offset"]
            res["start_err"] = abs(res["cue_start"] - r["onset"])
            res["cue_end_err"] = abs(res["cue_end"] - r["offset"])
            if res.get("utt_end") is not None:
                res["end_err"] = abs(res["utt_end"] - r["offset"])
            if len(r["parts"]) == 2:
                # the cue that opens the second sentence, if the split fell there
                first_words = len(words(r["parts"][0]["text"]))
                n = 0
                for i in idx:
                    if n == first_words:
                        res["burst_err"] = abs(cues[i]["start_ms"] / 1000
                                               - r["parts"][1]["onset"])
                        res["burst_start"] = cues[i]["start_ms"] / 1000
                        res["burst_onset"] = r["parts"][1]["onset"]
                        break
                    n += len(words(strip_label(cues[i]["text"], labels)))
                else:
                    res["burst_split_elsewhere"] = True
        results.append(res)
    return results, problems, cues


def readability(cues, kind):
    """Overlaps, gaps under the minimum, lines too long or too many."""
    bad = []
    gap_min = MIN_GAP_MS[kind]
    for a, b in zip(cues, cues[1:]):
        gap = b["start_ms"] - a["end_ms"]
        if gap < 0:
            bad.append(f"overlap: cue at {a['start_ms'] / 1000:.3f}-{a['end_ms'] / 1000:.3f} "
                       f"runs into the next at {b['start_ms'] / 1000:.3f}")
        elif gap < gap_min - GAP_TOLERANCE_MS:
            bad.append(f"gap of {gap} ms < {gap_min} ms at {a['end_ms'] / 1000:.3f}")
    for c in cues:
        lines = c["text"].split("\n")
        if len(lines) > MAX_LINES:
            bad.append(f"{len(lines)} lines at {c['start_ms'] / 1000:.3f}")
        for line in lines:
            if len(line) > MAX_LINE:
                bad.append(f"a line of {len(line)} characters at {c['start_ms'] / 1000:.3f}")
    return bad


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def stats(results):
    real = [r for r in results if not r["hallucination"]]
    out = {"n": len(real)}
    for key in ("start_err", "end_err", "cue_end_err", "burst_err"):
        v = [r[key] for r in real if key in r]
        out[key] = (pct(v, 50), pct(v, 95), len(v))
    out["split_elsewhere"] = sum(1 for r in real if r.get("burst_split_elsewhere"))
    return out


def fmt(x):
    return "-" if x is None else f"{x:.3f}"


# ---- the benchmark -------------------------------------------------------------------------

def benchmark(runner, scenarios, kinds, modes):
    print("# Cue timing against the emulator")
    print()
    print("```")
    print("$ " + shlex.join(["tests/timing/cue_timing.py", *sys.argv[1:]]))
    print("# each run, e.g.:")
    for timing in TIMINGS:
        print(runner.command_line(scenarios[0], kinds[0], "whole", timing))
    if "batch" in modes:
        print(runner.command_line(scenarios[0], kinds[0], "batch", "audio"))
    print("```")
    print()
    if not runner.timing_option:
        print("**--timing left out of every command (--no-timing-option): the model and audio "
              "rows are the same default run.**")
        print()
    head = ["scenario", "input", "mode", "timing", "n", "start p50", "start p95", "end p50",
            "end p95", "cue end p50", "cue end p95", "burst p50", "burst p95", "run s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i < 4 else "---:" for i in range(len(head))) + "|")
    odd = []
    total = time.monotonic()
    for scenario in scenarios:
        truth = runner.truth(scenario)
        for kind in kinds:
            for mode in modes:
                for timing in TIMINGS:
                    try:
                        data = runner.output(scenario, kind, mode, timing)
                    except Failed as e:
                        print(f"| {scenario} | {kind} | {mode} | {timing} | failed: {e} |")
                        continue
                    results, problems, cues = measure(truth, data)
                    s = stats(results)
                    key = (scenario, kind, mode, timing if runner.timing_option else "model")
                    burst = s["burst_err"]
                    cells = [scenario, kind, mode, timing, str(s["n"]),
                             fmt(s["start_err"][0]), fmt(s["start_err"][1]),
                             fmt(s["end_err"][0]), fmt(s["end_err"][1]),
                             fmt(s["cue_end_err"][0]), fmt(s["cue_end_err"][1]),
                             fmt(burst[0]), fmt(burst[1]), f"{runner.seconds[key]:.1f}"]
                    print("| " + " | ".join(cells) + " |", flush=True)
                    where = f"{scenario}/{kind}/{mode}/{timing}"
                    found = list(problems)
                    unmoved = sum(1 for r in results
                                  if abs(r["cue_start"] - r["model_start_rounded"]) <= 0.010)
                    if timing == "audio" and results and unmoved == len(results):
                        found.append(f"nothing snapped: all {unmoved} first cues at the "
                                     "model's (rounded) times")
                    elif timing == "audio":
                        found += readability(cues, kind)
                        found += [describe(r) for r in results
                                  if r.get("start_err", 0) > 0.1 or r.get("end_err", 0) > 0.2
                                  or r.get("burst_err", 0) > 0.1]
                        found += [f"model_start_ms {r['json_model_start']:.3f} is not the model's "
                                  f"time {r['model_start_rounded']:.3f}: {describe(r)}"
                                  for r in results if "json_model_start" in r
                                  and abs(r["json_model_start"] - r["model_start_rounded"]) > 0.010]
                        found += ["the hallucinated row " + describe(r) for r in results
                                  if r["hallucination"]
                                  and abs(r["cue_start"] - r["model_start_rounded"]) > 0.010]
                    odd += [f"{where}: {p}" for p in found[:OUTLIERS]]
                    if len(found) > OUTLIERS:
                        odd.append(f"{where}: ... and {len(found) - OUTLIERS} more")
                    if runner.verbose:
                        for r in results:
                            print(f"    {describe(r)}")
    print()
    print("Seconds; n = true utterances (the hallucinated row of `silence` not counted); "
          "`start` = |first cue start - true onset|; `end` = |utterance end_ms - true "
          "offset|; `cue end` = |last cue end - true offset| (may rightly be later: 17 "
          "characters/s reading speed, 1 s minimum); `burst` = |second cue start - second "
          "sentence onset| for the 3 two-sentence utterances; p95 is nearest-rank (the "
          "largest of fewer than 20). Truth: first/last 5 ms window above -45 dBFS of each "
          "placed clip alone. Model error: uniform(-1, 1) s at each end, then rounded to "
          "whole seconds by the emulator. `run s`: wall time of the run (a batch run does "
          "both inputs: half each).")
    print()
    print(f"Total {time.monotonic() - total:.0f} s.")
    if odd:
        print()
        print("Outliers and problems (audio timing: start > 0.1 s, end > 0.2 s, burst > 0.1 s):")
        for line in odd:
            print("- " + line)


def describe(r):
    s = f"{r['text'][:44]!r}"
    if r["hallucination"]:
        return (s + f" model {r['model_start']:.3f}-{r['model_end']:.3f} (rounded "
                f"{r['model_start_rounded']:.3f}), cue {r['cue_start']:.3f}-{r['cue_end']:.3f}")
    s += f" truth {r['onset']:.3f}-{r['offset']:.3f}, model {r['model_start']:.3f}-" \
         f"{r['model_end']:.3f}, cue {r['cue_start']:.3f}-{r['cue_end']:.3f}"
    if r.get("utt_end") is not None:
        s += f", utterance {r['utt_start']:.3f}-{r['utt_end']:.3f}"
    if "burst_start" in r:
        s += f", 2nd cue {r['burst_start']:.3f} (2nd sentence {r['burst_onset']:.3f})"
    if r.get("burst_split_elsewhere"):
        s += ", not split at the sentence"
    return s


# ---- the test ------------------------------------------------------------------------------

def check_cases(runner):
    cases = []

    def measured(scenario, kind, mode, timing):
        truth = runner.truth(scenario)
        results, problems, cues = measure(truth, runner.output(scenario, kind, mode, timing))
        check(not problems, "; ".join(problems))
        return results, stats(results), cues

    def summary(s):
        return (f"n {s['n']}, start p50/p95 {fmt(s['start_err'][0])}/{fmt(s['start_err'][1])}, "
                f"end p50/p95 {fmt(s['end_err'][0])}/{fmt(s['end_err'][1])}")

    def worst(results, key, limit):
        bad = [r for r in results if r.get(key, 0) > limit]
        return "; ".join(describe(r) for r in bad[:3])

    def snapped(scenario, kind, mode):
        def case():
            results, s, cues = measured(scenario, kind, mode, "audio")
            p95s, p95e = s["start_err"][1], s["end_err"][1]
            check(s["n"] == len(runner.truth(scenario)["rows"]), f"{s['n']} utterances measured")
            errors = []
            if p95s is None or p95s > 0.100:
                errors.append(f"start p95 {fmt(p95s)} s > 0.100 s: "
                              + worst(results, "start_err", 0.1))
            if p95e is None or p95e > 0.200:
                errors.append(f"utterance end p95 {fmt(p95e)} s > 0.200 s: "
                              + worst(results, "end_err", 0.2))
            bad = readability(cues, kind)
            if bad:
                errors.append(f"{len(bad)} readability problems: " + "; ".join(bad[:4]))
            check(not errors, " | ".join(errors))
            b = s["burst_err"]
            return summary(s) + (f", burst starts p95 {fmt(b[1])} (n {b[2]})" if b[2] else "")
        return case

    def model_side(scenario, kind, mode):
        def case():
            results, s, _ = measured(scenario, kind, mode, "model")
            p95 = s["start_err"][1]
            check(p95 is not None and p95 > 0.3,
                  f"start p95 {fmt(p95)} s <= 0.3 s with --timing model: snapped anyway?")
            off = [r for r in results if abs(r["cue_start"] - r["model_start_rounded"]) > 0.010]
            return summary(s) + f"; {len(off)} first cues not at the model's rounded time"
        return case

    def music(kind, mode):
        def case():
            ra, a, cues = measured("music", kind, mode, "audio")
            _, m, _ = measured("music", kind, mode, "model")
            # The bed does not pull cues: starts as exact as over silence. A
            # sentence's fading tail under a bed 18 dB down cannot be heard,
            # so ends get a looser bound.
            for key, name, bound in (("start_err", "start", 0.100), ("end_err", "end", 0.300)):
                check(a[key][1] is not None and a[key][1] <= m[key][1],
                      f"{name} p95 audio {fmt(a[key][1])} s worse than model {fmt(m[key][1])} s")
                check(a[key][1] <= bound, f"{name} p95 audio {fmt(a[key][1])} s > {bound:.3f} s: "
                      + worst(ra, key, bound))
            bad = readability(cues, kind)
            check(not bad, f"{len(bad)} readability problems: " + "; ".join(bad[:4]))
            return f"audio {summary(a)}; model {summary(m)}"
        return case

    def silence(kind, mode):
        def case():
            results, s, cues = measured("silence", kind, mode, "audio")
            h = [r for r in results if r["hallucination"]]
            check(len(h) == 1, "the hallucinated row has no cue")
            h = h[0]
            check(abs(h["cue_start"] - h["model_start_rounded"]) <= 0.010,
                  f"the hallucinated row's cue starts at {h['cue_start']:.3f} s, the model "
                  f"said {h['model_start_rounded']:.3f} s (script {h['model_start']:.3f} s)")
            p95s = s["start_err"][1]
            check(p95s is not None and p95s <= 0.100,
                  f"start p95 {fmt(p95s)} s > 0.100 s: {worst(results, 'start_err', 0.1)}")
            bad = readability(cues, kind)
            check(not bad, f"{len(bad)} readability problems: " + "; ".join(bad[:4]))
            return (f"hallucinated row at {h['cue_start']:.3f} s as the model said; "
                    + summary(s))
        return case

    for scenario in ("speech", "tones"):
        for mode in MODES:
            cases.append((f"{scenario}/wav/{mode} audio", snapped(scenario, "wav", mode)))
            cases.append((f"{scenario}/wav/{mode} model", model_side(scenario, "wav", mode)))
    cases.append(("speech/mkv/whole audio", snapped("speech", "mkv", "whole")))
    cases.append(("speech/mkv/whole model", model_side("speech", "mkv", "whole")))
    cases.append(("music/wav/whole audio vs model", music("wav", "whole")))
    cases.append(("silence/wav/whole audio", silence("wav", "whole")))

    def media():
        for s in timing_media.SCENARIOS:
            runner.truth(s)
        return ", ".join(f"{s} {runner.truth(s)['duration']:.0f} s"
                         for s in timing_media.SCENARIOS) + " (wav and mkv)"
    return run_cases([("media", media)] + cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenarios", default=",".join(timing_media.SCENARIOS))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--no-timing-option", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="cue-timing-")
    os.makedirs(work, exist_ok=True)
    runner = Runner(work, a.seed, not a.no_timing_option, a.verbose)
    started = time.monotonic()
    try:
        if a.check:
            rc = check_cases(runner)
            print(f"cue-timing: {time.monotonic() - started:.0f} s")
            return rc
        benchmark(runner, a.scenarios.split(","), a.kinds.split(","), a.modes.split(","))
        return 0
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
