#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Burned captions at every common size, and upright outputs, against the
gemini-emulator program.

  640x360, 1280x720, 1920x1080, 3840x2160 with --burn: a frame under a
  two-line cue has exactly two lines of text, inside the bottom fifth and the
  frame, centred, the same height relative to the picture at every size.
  Portrait clips (landscape pixels with a rotation tag, as phones write
  them; GStreamer reads image-orientation=rotate-90 and rotate-270): -o
  .mkv/.mp4 are 360x640 with no rotation left to apply, turned the way ffmpeg
  turns the source; with --burn the caption is at the bottom of the upright
  picture and fits its width in two lines.

The frames are read back with ffmpeg as raw gray and measured here, no
GStreamer in the way. Needs GEMINI_TRANSCRIBE and GEMINI_EMULATOR (set by
meson). Prints one line per case, then "N passed, N failed".
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from cases import check, run_cases  # noqa: E402
from emulator_program import EmulatorProgram  # noqa: E402

TRANSCRIBE = os.environ["GEMINI_TRANSCRIBE"]
EMULATOR = os.environ["GEMINI_EMULATOR"]

SIZES = [(640, 360), (1280, 720), (1920, 1080), (3840, 2160)]
SECONDS = 6
FPS = 5
SAMPLE_AT = 3.0                      # inside the cue (0.5 s to the end of the utterance)
# Upper case without Q or J: every glyph sits between the baseline and the
# cap height, so each caption line is one solid band of rows. With the
# speaker label ("ANNA: ") it is 79 characters: one cue of two lines.
TEXT = "THE BIG BROWN BEAR WALKS ON THE HILL AT NOON AND MEETS A FRIEND FROM TOWN"
SCRIPT = {"transcript": {
    "speakers": [{"id": "anna", "name": "ANNA", "company": "ACME", "position": "HOST",
                  "role_in_video": "host"}],
    "utterances": [{"start": 0.5, "end": 5.5, "speaker": "anna", "text": TEXT}],
}}
BRIGHT = 200                         # text is white; the background is mid gray
DARK = 90                            # the shaded box darkens the gray by 80
HEIGHT_TOLERANCE = 0.15


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def make_clip(path, width, height):
    """Mid gray (so the shaded box shows), a sine tone, VP8 + Opus in Matroska."""
    buffers = SECONDS * FPS
    run(["gst-launch-1.0", "-q",
         "videotestsrc", f"num-buffers={buffers}", "pattern=solid-color",
         "foreground-color=0xff808080", "!",
         f"video/x-raw,width={width},height={height},framerate={FPS}/1", "!",
         "vp8enc", "deadline=1", "cpu-used=8", "!", "queue", "!", "m.",
         "audiotestsrc", f"num-buffers={SECONDS * 10}", "samplesperbuffer=4800", "!",
         "audio/x-raw,rate=48000", "!", "audioconvert", "!", "opusenc", "!", "queue", "!",
         "m.", "matroskamux", "name=m", "!", "filesink", f"location={path}"])


def make_landscape_clip(work):
    """A landscape 640x360 MP4 with a black square at its top, left of the
    centre: a frame shows which way it was turned, and turned a quarter
    either way the square is at a side, away from the caption."""
    encoders = run(["ffmpeg", "-hide_banner", "-encoders"])
    video = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"] \
        if " libx264 " in encoders else ["-c:v", "mpeg4", "-q:v", "3"]
    land = os.path.join(work, "landscape.mp4")
    run(["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i",
         f"color=c=gray:s=640x360:r={FPS}:d={SECONDS},"
         "drawbox=x=200:y=0:w=120:h=120:color=black:t=fill",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
         *video, "-c:a", "aac", "-shortest", land])
    return land


def make_rotated_clip(land, work, degrees):
    """The same stream with a rotation tag. ffmpeg 5.1 writes a tag of 270
    as the matrix GStreamer reads as image-orientation=rotate-90 (a phone held
    upright), 90 as rotate-270."""
    rotated = os.path.join(work, f"portrait-{degrees}.mp4")
    run(["ffmpeg", "-v", "error", "-y", "-i", land, "-c", "copy",
         "-metadata:s:v:0", f"rotate={degrees}", rotated])
    check(rotation(rotated) in (90, -90), f"ffmpeg did not tag {rotated}: {probe(rotated)}")
    return rotated


def probe(path):
    out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams",
               "-of", "json", path])
    streams = json.loads(out)["streams"]
    check(len(streams) == 1, f"{os.path.basename(path)} has {len(streams)} video streams")
    return streams[0]


def rotation(path):
    """Degrees the file asks a player to turn its pixels; 0 when upright."""
    s = probe(path)
    for side in s.get("side_data_list", []):
        if "rotation" in side and int(side["rotation"]) != 0:
            return int(side["rotation"])
    return int(s.get("tags", {}).get("rotate", 0))


def coded_size(path):
    s = probe(path)
    return s["width"], s["height"]


def gray_frame(path, width, height, autorotate=False):
    argv = ["ffmpeg", "-v", "error"] + ([] if autorotate else ["-noautorotate"])
    argv += ["-ss", str(SAMPLE_AT), "-i", path, "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    data = subprocess.run(argv, capture_output=True, check=True).stdout
    check(len(data) == width * height,
          f"{os.path.basename(path)}: {len(data)} bytes of gray, not {width}x{height}")
    return data


def bands(rows):
    """Runs of consecutive row numbers, as (first, last)."""
    out = []
    for y in rows:
        if out and y == out[-1][1] + 1:
            out[-1][1] = y
        else:
            out.append([y, y])
    return [tuple(b) for b in out]


# byte -> 1 when it counts, 0 otherwise: bytes.translate and count keep a
# 4K frame quick to scan in pure Python
IS_BRIGHT = bytes(1 if v > BRIGHT else 0 for v in range(256))
IS_DARK = bytes(1 if v < DARK else 0 for v in range(256))


def measure(data, width, height):
    """The caption: its text lines (bands of rows with bright pixels), the
    bounding box of the bright pixels, and the shaded box around them."""
    text_rows = []
    dark_rows = []
    left, right = width, -1
    for y in range(height):
        row = data[y * width:(y + 1) * width]
        bright = row.translate(IS_BRIGHT)
        if bright.count(1) >= 2:
            text_rows.append(y)
            left, right = min(left, bright.find(1)), max(right, bright.rfind(1))
        if row.translate(IS_DARK).count(1) > width // 20:
            dark_rows.append(y)
    if not text_rows:
        return None
    top, bottom = text_rows[0], text_rows[-1]
    # the shaded box: the run of mostly dark rows that holds the text
    shade = next(((a, b) for a, b in bands(dark_rows) if a <= top and b >= bottom), None)
    return {"lines": len(bands(text_rows)), "top": top, "bottom": bottom, "left": left,
            "right": right, "shade": shade}


def describe(m, width, height):
    shade = (f", shade top {m['shade'][0] / height:.3f}" if m["shade"] else ", no shade")
    return (f"{m['lines']} lines, top {m['top'] / height:.3f}, "
            f"height {(m['bottom'] - m['top'] + 1) / height:.4f}, "
            f"x {m['left']}..{m['right']} of {width}{shade}")


def check_caption(m, width, height, what):
    check(m is not None, f"{what}: no caption drawn")
    got = describe(m, width, height)
    check(m["lines"] == 2, f"{what}: {m['lines']} text lines, not 2 ({got})")
    check(m["top"] >= 0.8 * height, f"{what}: caption top above the bottom fifth ({got})")
    check(not m["shade"] or m["shade"][0] >= 0.8 * height,
          f"{what}: shaded box top above the bottom fifth ({got})")
    check(m["bottom"] <= height - 2 and m["left"] >= 1 and m["right"] <= width - 2,
          f"{what}: caption touches the frame edge ({got})")
    centre = (m["left"] + m["right"]) / 2
    check(abs(centre - width / 2) <= 0.05 * width,
          f"{what}: caption centred at x {centre:.0f} ({got})")


def transcribe(emu, work, clip, args):
    env = dict(os.environ, GEMINI_API_KEY="test-key", GOOGLE_GEMINI_BASE_URL=emu.url)
    env.pop("GOOGLE_API_KEY", None)
    emu.setup(SCRIPT)
    proc = subprocess.run([TRANSCRIBE, clip, "-q"] + args, env=env, cwd=work,
                          capture_output=True, text=True, timeout=240)
    check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def check_cue_is_two_lines(srt):
    """The script gives one two-line cue; otherwise the frame checks are moot."""
    with open(srt, encoding="utf-8") as f:
        blocks = [b.splitlines() for b in f.read().strip().split("\n\n")]
    check(len(blocks) == 1 and len(blocks[0]) == 4,
          f"the emulated answer did not become one two-line cue: {blocks}")


def burn_case(emu, root, width, height, heights):
    work = os.path.join(root, f"{width}x{height}")
    os.mkdir(work)
    clip = os.path.join(work, "clip.mkv")
    make_clip(clip, width, height)
    transcribe(emu, work, clip, ["--burn", "-o", "out.mkv", "-o", "out.srt"])
    check_cue_is_two_lines(os.path.join(work, "out.srt"))
    out = os.path.join(work, "out.mkv")
    check(coded_size(out) == (width, height), f"out.mkv is {coded_size(out)}")
    m = measure(gray_frame(out, width, height), width, height)
    if m:
        heights[(width, height)] = (m["bottom"] - m["top"] + 1) / height
    text = describe(m, width, height) if m else "nothing drawn"
    check_caption(m, width, height, f"{width}x{height}")
    return text


def relative_heights_case(heights):
    check(len(heights) == len(SIZES), f"measured {len(heights)} of {len(SIZES)} sizes")
    values = sorted(heights.values())
    median = values[len(values) // 2]
    off = {f"{w}x{h}": v / median - 1 for (w, h), v in heights.items()}
    text = ", ".join(f"{k} {v:+.1%}" for k, v in off.items())
    check(all(abs(v) <= HEIGHT_TOLERANCE for v in off.values()),
          f"caption height / picture height differs by more than 15 %: {text}")
    return "vs the median: " + text


def check_upright(path, source):
    name = os.path.basename(path)
    check(coded_size(path) == (360, 640), f"{name} is {coded_size(path)}, not 360x640")
    check(rotation(path) == 0, f"{name} still asks for a {rotation(path)} degree turn")
    # turned the way ffmpeg turns the tagged source: the same picture
    ours = gray_frame(path, 360, 640)
    ref = gray_frame(source, 360, 640, autorotate=True)
    diff = sum(abs(a - b) for a, b in zip(ours, ref)) / len(ours)
    check(diff < 8, f"{name} differs from the source turned by ffmpeg (mean {diff:.1f})")
    return diff


def rotated_case(emu, root, degrees):
    work = os.path.join(root, f"portrait-{degrees}")
    os.mkdir(work)
    clip = make_rotated_clip(make_landscape_clip(work), work, degrees)
    transcribe(emu, work, clip, ["-o", "out.mkv", "-o", "out.mp4"])
    diffs = [check_upright(os.path.join(work, n), clip) for n in ("out.mkv", "out.mp4")]
    transcribe(emu, work, clip, ["--burn", "-o", "burn.mkv"])
    burn = os.path.join(work, "burn.mkv")
    check(coded_size(burn) == (360, 640), f"burn.mkv is {coded_size(burn)}, not 360x640")
    check(rotation(burn) == 0, f"burn.mkv still asks for a {rotation(burn)} degree turn")
    m = measure(gray_frame(burn, 360, 640), 360, 640)
    text = describe(m, 360, 640) if m else "nothing drawn"
    check_caption(m, 360, 640, "portrait --burn")
    return (f"640x360 tagged {degrees} (display matrix {rotation(clip)}): out.mkv, "
            f"out.mp4 360x640 untagged, mean diff {diffs[0]:.1f}, {diffs[1]:.1f} vs ffmpeg's "
            f"turn; burn.mkv: {text}")


def main():
    with tempfile.TemporaryDirectory(prefix="gemini-burn-sizes-") as root, \
            EmulatorProgram(EMULATOR) as emu:
        heights = {}
        cases = [(f"burn_{w}x{h}", lambda w=w, h=h: burn_case(emu, root, w, h, heights))
                 for w, h in SIZES]
        cases.append(("same_relative_height", lambda: relative_heights_case(heights)))
        for degrees in (270, 90):
            cases.append((f"portrait_rotate_{degrees}",
                          lambda d=degrees: rotated_case(emu, root, d)))
        return run_cases(cases)


if __name__ == "__main__":
    sys.exit(main())
