# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python tests' cases: one line each, then "N passed, N failed", the
summary tests/run.sh counts."""
import subprocess
import time


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def run_cases(cases):
    """Runs (name, function) pairs; a function returns its one-line result or
    raises Failed (or a subprocess error). Returns the exit status."""
    passed = failed = 0
    for name, case in cases:
        started = time.monotonic()
        try:
            result = case()
            print(f"ok   {name}: {result} ({time.monotonic() - started:.1f} s)", flush=True)
            passed += 1
        except (Failed, subprocess.SubprocessError) as e:
            detail = getattr(e, "stderr", None) or ""
            print(f"FAIL {name}: {e} {detail}".rstrip()
                  + f" ({time.monotonic() - started:.1f} s)", flush=True)
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
