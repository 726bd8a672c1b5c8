#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs everything gst-gemini needs to build, test and run on Debian 12
# (bookworm, minimal images included): the packages of deps/packages.txt.
# Then checks that every GStreamer element factory of deps/elements.txt is
# present, and fails naming the Debian package of any that is not.
# Idempotent: apt-get skips what is already installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
entries() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

mapfile -t packages < <(entries "$here/deps/packages.txt")
# The official-SDK interoperability test runs on Node.js; keep an existing one
# (a newer Node.js from elsewhere would conflict with Debian's npm).
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

export DEBIAN_FRONTEND=noninteractive
echo "Installing ${#packages[@]} Debian packages (apt-get, this can take minutes)..."
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

missing=()
while read -r factory package; do
  case $package in -|gst-gemini) continue ;; esac
  gst-inspect-1.0 --exists "$factory" || missing+=("$factory ($package)")
done < <(entries "$here/deps/elements.txt")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "error: GStreamer element factories missing after installing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "Add the Debian package named in brackets to tests/deps/packages.txt." >&2
  exit 1
fi
echo "All ${#packages[@]} packages installed; every GStreamer element gst-gemini uses is present."
