#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keeps tests/deps/elements.txt honest.

Every word of the project's sources that names an element factory known to
this machine's GStreamer registry must be on the list, either with the
Debian package that ships it or marked '-' as a word that is not used as an
element. Every listed factory must still be used, and must come from the
package the list names (dpkg -S of its plugin file).

    check-elements.py SOURCE_ROOT
"""
import os
import re
import subprocess
import sys

SOURCE_SUFFIXES = (".cpp", ".h", ".c", ".sh", ".py", ".mjs", ".build")
SKIP_DIRS = {".git", "node_modules", "corpus"}
WORD = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")
OWN_PACKAGE = "gst-gemini"


def read_list(path):
    entries = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 2:
                sys.exit(f"{path}:{number}: expected 'factory package', got {line!r}")
            entries[fields[0]] = fields[1]
    return entries


def registry_elements():
    out = subprocess.run(["gst-inspect-1.0", "--print-plugin-auto-install-info"],
                         capture_output=True, text=True, check=True).stdout
    return {line[len("element-"):] for line in out.splitlines()
            if line.startswith("element-")}


def source_files(root):
    for top, dirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS
                   and not (rel == "." and d.startswith("build"))]
        for name in files:
            path = os.path.join(top, name)
            if name.endswith(SOURCE_SUFFIXES) or os.path.relpath(path, root) == ".ci/run":
                yield path


def words_used(root, elements):
    """Element names among the sources' words, each with its first place."""
    used = {}
    for path in sorted(source_files(root)):
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                for word in WORD.findall(line):
                    if word in elements and word not in used:
                        used[word] = f"{os.path.relpath(path, root)}:{number}"
    return used


def shipping_package(factory):
    """The Debian package of the plugin file behind a factory, or None."""
    out = subprocess.run(["gst-inspect-1.0", factory], capture_output=True,
                         text=True).stdout
    match = re.search(r"^\s*Filename\s+(\S+)", out, re.MULTILINE)
    if not match:
        return None
    path = match.group(1)
    for candidate in (path, "/usr" + path if path.startswith("/lib") else path):
        dpkg = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True,
                              text=True)
        if dpkg.returncode == 0:
            return dpkg.stdout.split(":", 1)[0]
    return None


def main():
    root = os.path.abspath(sys.argv[1])
    listed = read_list(os.path.join(root, "tests", "deps", "elements.txt"))
    # This project's own elements count even where the plugin is not loaded.
    elements = registry_elements() | {f for f, p in listed.items() if p == OWN_PACKAGE}
    used = words_used(root, elements)
    problems = []

    for word, place in sorted(used.items()):
        if word not in listed:
            problems.append(f"{place}: '{word}' is a GStreamer element factory missing "
                            "from tests/deps/elements.txt (add it with its Debian "
                            "package, or with '-' if it is only a word here)")
    for factory, package in sorted(listed.items()):
        if factory not in used:
            problems.append(f"tests/deps/elements.txt: '{factory}' is listed but no "
                            "source uses it" + ("" if factory in elements else
                                                " (nor is it a factory here)"))
            continue
        if package in ("-", OWN_PACKAGE):
            continue
        shipped_by = shipping_package(factory)
        if shipped_by is not None and shipped_by != package:
            problems.append(f"tests/deps/elements.txt: '{factory}' is shipped by "
                            f"{shipped_by}, not {package}")

    for p in problems:
        print(f"FAIL: {p}")
    elements_listed = sum(1 for p in listed.values() if p != "-")
    print(f"{len(used)} element names in the sources, {elements_listed} factories "
          f"listed, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
