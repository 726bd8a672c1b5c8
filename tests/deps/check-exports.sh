#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The symbols a plugin .so defines for others to see: GST_PLUGIN_DEFINE's
# two, nothing of the element or the engine, which would otherwise bind to
# (or be bound by) another library's symbols of the same name in the
# application's process.
set -eu
want="gst_plugin_gemini_get_desc
gst_plugin_gemini_register"
got=$(nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' | sort)
if [ "$got" != "$want" ]; then
  echo "$1 exports $(echo "$got" | wc -l) symbols, expected only:"
  echo "$want"
  echo "first of the others:"
  echo "$got" | grep -vx -e gst_plugin_gemini_get_desc -e gst_plugin_gemini_register | head -n 20
  exit 1
fi
echo "$1 exports only: $(echo $got)"
