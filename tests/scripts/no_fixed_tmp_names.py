#!/usr/bin/env python3
"""Fails when a script root may run (scripts/, bench/, vm/, .ci/, deploy/, examples/) names a
fixed path below /tmp: any local user can put a symlink or a file there first, and root then
writes through it (bench/rtfs/run.sh overwrote a root-only file through /tmp/rtfs-bench-fib.md;
red team, 2026-12-05) or reads back what that user wrote. Names made by mktemp (a template of
X's) are fine; comments are not code.
    no_fixed_tmp_names.py SOURCE_DIR"""
import os
import re
import sys

FIXED = re.compile(r"/tmp/[A-Za-z0-9_.{}$-]")
AREAS = ["scripts", "bench", "vm", ".ci", "deploy", "examples"]


def is_script(path):
    if path.endswith((".sh", ".py")):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def main(root):
    found = []
    for area in AREAS:
        for dirpath, _, names in os.walk(os.path.join(root, area)):
            for name in names:
                path = os.path.join(dirpath, name)
                if not is_script(path):
                    continue
                with open(path, errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        code = line.strip()
                        if code.startswith("#") or "mktemp" in code or "XXXXXX" in code:
                            continue
                        if FIXED.search(code):
                            found.append(f"{os.path.relpath(path, root)}:{number}: {code}")
    for f in found:
        print("a fixed name below /tmp (use mktemp):", f)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
