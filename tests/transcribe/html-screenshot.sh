#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A headless Chromium screenshot of gemini-transcribe's HTML report, read
# back with tesseract: the headings and both speaker names must be visible.
# Skips (77) when chromium or tesseract is not installed.
set -euo pipefail

chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "SKIP: $chromium is not installed"; exit 77; }
command -v tesseract >/dev/null || { echo "SKIP: tesseract is not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$GEMINI_EXAMPLES_DIR/make-sample-clip.sh" "$work/clip.mkv" "$work/script.json" >/dev/null
env -u GEMINI_API_KEY -u GOOGLE_API_KEY "$GEMINI_TRANSCRIBE" "$work/clip.mkv" \
  --emulator-script "$work/script.json" --segment-duration 10000 -q -o "$work/report.html"

# --no-sandbox: the tests may run as root, where Chromium refuses its sandbox.
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1280,1200 --screenshot="$work/report.png" "file://$work/report.html" \
  >/dev/null 2>&1
[ -s "$work/report.png" ] || { echo "FAIL: no screenshot"; exit 1; }
[ -z "${GEMINI_SCREENSHOT:-}" ] || cp "$work/report.png" "$GEMINI_SCREENSHOT"

tesseract "$work/report.png" "$work/ocr" >/dev/null 2>&1
status=0
for text in "Speakers" "Timeline" "Transcript" "Alice Martin" "Bob Chen" "Acme Media" "Globex"; do
  if grep -q "$text" "$work/ocr.txt"; then
    echo "ok: \"$text\" is on the page"
  else
    echo "FAIL: \"$text\" is not on the page"
    status=1
  fi
done
[ "$status" -eq 0 ] || cat "$work/ocr.txt"
exit "$status"
