#!/usr/bin/env bash
# Installs everything gst-gemini needs to build, test and run on Debian 12.
# Idempotent: apt-get skips what is already installed.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libsoup-3.0-dev libjson-glib-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  # x264enc for gemini-transcribe's .mp4 output (openh264enc from -bad is the
  # fallback, but prints an error line of its own at every end of stream).
  gstreamer1.0-plugins-ugly
  espeak-ng
  # The HTML report test looks at the page: headless Chromium renders it,
  # tesseract reads it back.
  chromium tesseract-ocr tesseract-ocr-eng
  valgrind
  # /usr/bin/time: CPU time and peak RSS in the benchmark suite (tests/bench)
  time
  # libFuzzer targets (tests/fuzz)
  clang libclang-rt-14-dev
)
# The official-SDK interoperability test runs on Node.js; keep an existing one.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
