#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the official-SDK test; exits 77 (meson: skipped) when node or the SDK
# is not installed (run `npm ci` in tests/sdk to install it).
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "node not found: skipping"; exit 77; }
[ -d "$here/node_modules/@google/genai" ] || {
  echo "tests/sdk/node_modules/@google/genai missing (run npm ci in tests/sdk): skipping"
  exit 77
}
command -v gst-launch-1.0 >/dev/null 2>&1 || { echo "gst-launch-1.0 not found: skipping"; exit 77; }
cd "$here" && exec node --test sdk.test.mjs
