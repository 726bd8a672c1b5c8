#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The quickstart's dry run: generates the sample interview clip and
# transcribes it with gemini-transcribe against the bundled Gemini emulator,
# offline, to OUTPUT.srt and OUTPUT.html.
#
#   bash examples/sample-run.sh [OUTPUT.srt]
#
# GEMINI_TRANSCRIBE names the program (default: gemini-transcribe on PATH).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
transcribe=${GEMINI_TRANSCRIBE:-gemini-transcribe}
output=${1:-$PWD/sample.srt}
report=${output%.*}.html

echo "No GEMINI_API_KEY set: running OFFLINE against the bundled Gemini emulator" \
     "on a generated sample clip. The captions are the emulator's script, not a" \
     "real transcript. Set GEMINI_API_KEY to transcribe for real."
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
bash "$here/make-sample-clip.sh" "$workdir/sample.mkv" "$workdir/script.json"
env -u GEMINI_API_KEY -u GOOGLE_API_KEY "$transcribe" "$workdir/sample.mkv" \
  -o "$output" -o "$report" \
  --emulator-script "$workdir/script.json" --segment-duration 10000
echo "Subtitles written to $output, report to $report"
