#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The quickstart's dry run (examples/sample-run.sh) against the build tree:
it writes the sample's cues to SRT and the report to HTML, and prints only
what a user needs (no stray values from the clip generator)."""
import os
import re
import subprocess
import sys
import tempfile

# The sample interview of examples/make-sample-clip.sh, in order.
SENTENCES = [
    "Welcome to the show. Today we talk about open source video.",
    "Thanks for having me. I build streaming pipelines.",
    "What is the hardest part of live captions?",
    "Keeping the timing right while the network is slow.",
    "Thank you, that is all for today.",
]
# Every line the dry run may print; anything else is noise.
ALLOWED = [
    r"No GEMINI_API_KEY set: running OFFLINE .*",
    r"OFFLINE DRY RUN: nothing is sent to Gemini; .*",
    r"sent +\d+% +transcribed +\d+% .*",
    r"Wrote .*",
    r"id +name +company +position +talk time +lines",
    r"S\d+ +.*",
    r"Subtitles written to .*, report to .*",
]
TIME = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"


def seconds(h, m, s, ms):
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def main():
    examples = os.environ["GEMINI_EXAMPLES_DIR"]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        srt = os.path.join(work, "sample.srt")
        run = subprocess.run(["bash", os.path.join(examples, "sample-run.sh"), srt],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=240)
        printed = run.stdout.splitlines()
        print("\n".join(printed))
        if run.returncode != 0:
            failures.append(f"sample-run.sh exited {run.returncode}")
        for line in printed:
            if line.strip() and not any(re.fullmatch(p, line.strip()) for p in ALLOWED):
                failures.append(f"unexpected output line: {line!r}")
        if not os.path.getsize(os.path.join(work, "sample.html")):
            failures.append("sample.html is empty")

        text = open(srt, encoding="utf-8").read()
        cues = [m.groups() for block in text.strip().split("\n\n")
                if (m := re.fullmatch(rf"\d+\n{TIME} --> {TIME}\n(.+)", block, re.DOTALL))]
        if not cues:
            failures.append("sample.srt has no cues")
        # A cue opens with its speaker's name when the speaker changes.
        speakers = set()
        lines = []
        for c in cues:
            said = " ".join(c[8].split())
            named = re.match(r"([A-Z][A-Za-z]+ [A-Z][A-Za-z]+): (.*)", said)
            if named:
                speakers.add(named.group(1))
                said = named.group(2)
            lines.append(said)
        spoken = " ".join(lines)
        if speakers != {"Alice Martin", "Bob Chen"}:
            failures.append(f"speakers named in sample.srt: {sorted(speakers)}")
        position = 0
        for sentence in SENTENCES:
            found = spoken.find(sentence, position)
            if found < 0:
                failures.append(f"sample.srt lacks, in order: {sentence!r}")
            else:
                position = found + len(sentence)
        last_end = 0.0
        for c in cues:
            start, end = seconds(*c[0:4]), seconds(*c[4:8])
            if not (last_end <= start < end <= 30):
                failures.append(f"cue times out of order or range: {c[:8]}")
            last_end = end

        # Read back by GStreamer's own SRT parser.
        parse = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={srt}",
                                "!", "subparse", "!", "fakesink"],
                               capture_output=True, text=True, timeout=60)
        if parse.returncode != 0:
            failures.append(f"subparse refused sample.srt: {parse.stderr.strip()}")

    for f in failures:
        print(f"FAIL: {f}")
    print(f"{len(cues)} cues, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
