#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Files made by another tool (Debian's ffmpeg), outputs read back by readers
we did not write (ffprobe, subparse), against the gemini-emulator program.

  timeline-*: a cue the model puts 1 s into the input is at 1.000 s in every
    output, in the input's own timeline: an MP4 cut with `-ss -c copy` (an
    edit list), an ordinary ffmpeg MP4 (B-frames, AAC priming), through the
    CLI and through srtenc behind the element.
  recipe-*: the README's gst-launch recipe (both branches) ends on an A/V,
    an audio-only and a video-only file, says which stream it did not get,
    and takes at most ABSENT_BUDGET_S longer than the same pipeline without
    the branch that has no stream.
  rotation-*: the frames of a rotation-tagged phone video reach the model
    upright, through the CLI and the element.
  missing-decoder: a stream no installed element decodes is named, not
    silently left out.

Needs GEMINI_TRANSCRIBE and GEMINI_EMULATOR (set by meson). Prints one line
per case, then "N passed, N failed".
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from cases import check, run_cases  # noqa: E402
from emulator_program import EmulatorProgram  # noqa: E402

TRANSCRIBE = os.environ["GEMINI_TRANSCRIBE"]
EMULATOR = os.environ["GEMINI_EMULATOR"]

CUE_START_S = 1.0
TOLERANCE_S = 0.0015                 # outputs are in whole milliseconds
ABSENT_BUDGET_S = 2.0                # the bound for a branch with no stream
SCRIPT = {"transcript": {"speakers": [{"id": "ana", "name": "Ana Ruiz"}],
                         "utterances": [{"start": CUE_START_S, "end": 3.0, "speaker": "ana",
                                         "text": "Welcome to the show."}]}}


def run(argv, env=None, timeout=120):
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    check(p.returncode == 0, f"{os.path.basename(argv[0])} exit {p.returncode}: "
          f"{p.stderr.strip()[-600:]}")
    return p


def ffmpeg(*args):
    run(["ffmpeg", "-v", "error", "-y", *args])


def make_media(root):
    """Twelve seconds of H.264 (keyframe every 2 s, B-frames) and AAC; the
    cut starts at 7 s, between keyframes, so ffmpeg writes an edit list."""
    m = {}
    av = os.path.join(root, "av.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=12",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=12",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "50", "-bf", "2",
           "-c:a", "aac", "-shortest", av)
    m["ordinary"] = av
    m["edit-list"] = os.path.join(root, "cut.mp4")
    ffmpeg("-ss", "7", "-i", av, "-c", "copy", m["edit-list"])
    m["video-only"] = os.path.join(root, "video-only.mp4")
    ffmpeg("-i", av, "-an", "-c", "copy", m["video-only"])
    m["audio-only"] = os.path.join(root, "audio-only.m4a")
    ffmpeg("-i", av, "-vn", "-c", "copy", m["audio-only"])
    land = os.path.join(root, "landscape.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x360:rate=10:duration=4",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac", "-shortest", land)
    m["rotated"] = os.path.join(root, "portrait.mp4")
    ffmpeg("-i", land, "-c", "copy", "-metadata:s:v:0", "rotate=90", m["rotated"])
    return m


def env_for(emu):
    env = dict(os.environ, GEMINI_API_KEY="test-key", GOOGLE_GEMINI_BASE_URL=emu.url)
    env.pop("GOOGLE_API_KEY", None)
    return env


def first_packet_s(path):
    """The first subtitle packet's time as ffprobe reads it, skipping the
    empty lead-in sample mp4 files start their text track with."""
    out = run(["ffprobe", "-v", "error", "-select_streams", "s", "-show_entries",
               "packet=pts_time,size", "-of", "json", path]).stdout
    packets = [p for p in json.loads(out)["packets"] if int(p["size"]) > 2]
    check(packets, f"no subtitle packet in {os.path.basename(path)}")
    return float(packets[0]["pts_time"])


def subparse_first_cue_s(path):
    """The first cue of an SRT file as GStreamer's subparse reads it."""
    out = run(["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "subparse", "!",
               "fakesink", "silent=false", "num-buffers=1"]).stdout
    m = re.search(r"chain.*pts: (\d+):(\d+):(\d+)\.(\d+)", out)
    check(m, "subparse gave no cue")
    h, mi, s, ns = m.groups()
    return int(h) * 3600 + int(mi) * 60 + int(s) + int(ns) / 1e9


def near(what, got):
    check(abs(got - CUE_START_S) <= TOLERANCE_S,
          f"{what}: first cue at {got:.3f} s, expected {CUE_START_S:.3f} s")


def cli_timeline(emu, work, media):
    emu.setup(SCRIPT)
    outs = {ext: os.path.join(work, "out." + ext) for ext in ("srt", "json", "mkv", "mp4")}
    argv = [TRANSCRIBE, media, "-q"]
    for path in outs.values():
        argv += ["-o", path]
    run(argv, env=env_for(emu))
    got = {
        "json": json.load(open(outs["json"]))["cues"][0]["start_ms"] / 1000,
        "srt (ffprobe)": first_packet_s(outs["srt"]),
        "srt (subparse)": subparse_first_cue_s(outs["srt"]),
        "mkv (ffprobe)": first_packet_s(outs["mkv"]),
        "mp4 (ffprobe)": first_packet_s(outs["mp4"]),
    }
    for what, t in got.items():
        near(what, t)
    return ", ".join(f"{k} {v:.3f}" for k, v in got.items())


def test_timeline_edit_list(emu, work, media):
    return cli_timeline(emu, work, media["edit-list"])


def test_timeline_ordinary(emu, work, media):
    return cli_timeline(emu, work, media["ordinary"])


def test_timeline_srtenc(emu, work, media):
    emu.setup(SCRIPT)
    srt = os.path.join(work, "out.srt")
    run(["gst-launch-1.0", "-q", "uridecodebin", "uri=file://" + media["edit-list"], "name=d",
         "d.", "!", "queue", "!", "audioconvert", "!", "t.audio_sink",
         "d.", "!", "queue", "!", "videoconvert", "!", "t.video_sink",
         "geminitranscriber", "name=t", "!", "srtenc", "!", "filesink", f"location={srt}"],
        env=env_for(emu))
    got = subparse_first_cue_s(srt)
    near("srtenc (subparse)", got)
    return f"srtenc, read by subparse: {got:.3f}"


def recipe(uri_path, srt, audio=True, video=True, props=()):
    argv = ["gst-launch-1.0", "uridecodebin", "uri=file://" + uri_path, "name=d"]
    if audio:
        argv += ["d.", "!", "queue", "!", "audioconvert", "!", "t.audio_sink"]
    if video:
        argv += ["d.", "!", "queue", "!", "videoconvert", "!", "t.video_sink"]
    return argv + ["geminitranscriber", "name=t", *props, "!", "srtenc", "!", "filesink",
                   f"location={srt}"]


def timed_recipe(emu, work, media, name, **branches):
    emu.setup(SCRIPT)
    srt = os.path.join(work, name + ".srt")
    started = time.monotonic()
    p = run(recipe(media, srt, **branches), env=env_for(emu), timeout=60)
    took = time.monotonic() - started
    near(name, subparse_first_cue_s(srt))
    return took, p.stdout + p.stderr


def test_recipe_av(emu, work, media):
    took, log = timed_recipe(emu, work, media["ordinary"], "av")
    check("No audio reached" not in log and "No video reached" not in log,
          "a stream was taken for absent: " + log[-400:])
    return f"{took:.2f} s"


def absent_case(emu, work, media, present, missing_message):
    took, log = timed_recipe(emu, work, media, "both")
    check(missing_message in log, f"no message saying \"{missing_message}\"")
    base, _ = timed_recipe(emu, work, media, "one", **{present: True,
                           ("video" if present == "audio" else "audio"): False})
    check(took - base <= ABSENT_BUDGET_S,
          f"{took:.2f} s with the empty branch, {base:.2f} s without")
    return f"{took:.2f} s with the empty branch, {base:.2f} s without (+{took - base:.2f} s)"


def test_recipe_video_only(emu, work, media):
    return absent_case(emu, work, media["video-only"], "video", "No audio reached audio_sink")


def test_recipe_audio_only(emu, work, media):
    return absent_case(emu, work, media["audio-only"], "audio", "No video reached video_sink")


def upright_sizes(emu):
    """The picture sizes the emulator received, each taller than wide."""
    sizes = set()
    for e in emu.log():
        for m in e.get("media") or []:
            if m.get("width"):
                sizes.add((m["width"], m["height"]))
    check(sizes, "no video reached the emulator")
    check(all(w < h for w, h in sizes), f"frames sent sideways: {sorted(sizes)}")
    return sorted(sizes)


def test_rotation_cli(emu, work, media):
    emu.setup(SCRIPT)
    run([TRANSCRIBE, media["rotated"], "-q", "-o", os.path.join(work, "out.srt")],
        env=env_for(emu))
    return f"sent {upright_sizes(emu)} for a 640x360 file tagged rotate=90"


def test_rotation_element(emu, work, media):
    emu.setup(SCRIPT)
    run(recipe(media["rotated"], os.path.join(work, "out.srt"), props=["mode=streaming"]),
        env=env_for(emu))
    return f"streaming segments sent as {upright_sizes(emu)}"


def test_missing_decoder(emu, work, media):
    emu.setup(SCRIPT)
    env = dict(env_for(emu), GST_PLUGIN_FEATURE_RANK="avdec_h264:NONE,openh264dec:NONE")
    p = run([TRANSCRIBE, media["ordinary"], "-q", "-o", os.path.join(work, "out.srt")], env=env)
    check("needs a GStreamer element that is not installed" in p.stderr
          and "H.264" in p.stderr, "no word of the video left out: " + p.stderr[-400:])
    return p.stderr.strip().splitlines()[-1]


def main():
    with tempfile.TemporaryDirectory(prefix="gemini-real-media-") as root, \
            EmulatorProgram(EMULATOR) as emu:
        media = make_media(root)
        cases = []
        for test in (test_timeline_edit_list, test_timeline_ordinary, test_timeline_srtenc,
                     test_recipe_av, test_recipe_video_only, test_recipe_audio_only,
                     test_rotation_cli, test_rotation_element, test_missing_decoder):
            work = os.path.join(root, test.__name__)
            os.mkdir(work)
            cases.append((test.__name__, lambda t=test, w=work: t(emu, w, media)))
        return run_cases(cases)


if __name__ == "__main__":
    sys.exit(main())
