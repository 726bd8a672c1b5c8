#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The whole test suite, from a fresh Debian 12 machine: installs the
# dependencies, builds with meson, runs `meson test`, prints the logs of the
# failing tests and ends with "N passed, N failed[, N skipped]".
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}

bash "$src/tests/install-deps.sh" || exit 1

# The official Google Gen AI SDK drives the emulator in one test: it is
# installed from the npm registry like any other dependency.
(cd "$src/tests/sdk" && npm ci --no-audit --no-fund --loglevel=error) || {
  echo "error: npm ci in tests/sdk failed (the SDK interoperability test needs it)" >&2
  exit 1
}

if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "$src" >/dev/null || exit 1
else
  meson setup "$build" "$src" || exit 1
fi
meson compile -C "$build" || exit 1

meson test -C "$build" --print-errorlogs --num-processes "$(nproc)"
status=$?

# Again with AddressSanitizer and UBSan, for every test whose processes are
# all our own builds (a sanitized plugin cannot be loaded into the system's
# gst-launch-1.0, node or valgrind). Leaks are left to the leaks tracer and
# valgrind (memcheck suite): GLib's and GStreamer's process-lifetime
# allocations would drown LeakSanitizer's report.
asan=${ASAN_BUILD_DIR:-$src/build-asan}
if [ -f "$asan/build.ninja" ]; then
  meson setup --reconfigure "$asan" "$src" >/dev/null || exit 1
else
  meson setup "$asan" "$src" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
fi
meson compile -C "$asan" || exit 1
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  GST_REGISTRY_FORK=no \
  meson test -C "$asan" --print-errorlogs --num-processes "$(nproc)" \
    --suite client --suite emulator --suite engine --suite media --suite element \
    --suite faults --suite hostile --no-suite real || status=1

# Everything a test needs was installed above, so only the real-API test may
# skip (it needs GEMINI_API_KEY); any other skip hides a missing dependency
# and counts as a failure. So does a test whose output holds one of the
# canary keys the tests give the programs (each test also checks the files
# it made).
python3 - "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" <<'PY' || status=1
import json, re, sys
CANARIES = re.compile(r"AIzaCANARY-do-not-log|canary-SECRET-123|hostile-canary-KEY"
                      r"|AIzaHostileCanaryKey|AIzaSelfTestCanary|AIzaCliCanaryKey")
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                test = json.loads(line)
                r = test["result"]
                printed = (test.get("stdout") or "") + (test.get("stderr") or "")
                if CANARIES.search(printed):
                    print(f"FAIL: {test['name']} printed a canary API key")
                    failed += 1
                elif r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r == "SKIP" and test["name"].startswith("gst-gemini:real / "):
                    skipped += 1
                else:
                    if r == "SKIP":
                        print(f"FAIL: {test['name']} skipped although its dependencies "
                              "were installed:", test.get("stdout", "").strip()[-300:])
                    failed += 1
    except FileNotFoundError:
        pass
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
exit $status
