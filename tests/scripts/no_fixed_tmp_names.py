#!/usr/bin/env python3
"""Fails when a script root may run (scripts/, bench/, vm/, .ci/, deploy/, examples/) names a
fixed path below /tmp, /var/tmp, /dev/shm or $TMPDIR: any local user can put a symlink or a file
there first, and root then writes through it (bench/rtfs/run.sh overwrote a root-only file
through /tmp/rtfs-bench-fib.md; red team, 2026-12-05) or reads back what that user wrote. What
mktemp or mkdtemp is given (a template of X's) is fine; comments are not code.
    no_fixed_tmp_names.py SOURCE_DIR                 check the project's scripts
    no_fixed_tmp_names.py DIR --expect N             check every script in DIR: exactly N lines found
"""
import os
import re
import sys

# A shared temporary directory, however it is spelled, then a name in it.
SHARED = r"(?:/tmp|/var/tmp|/dev/shm|\$\{TMPDIR(?::-[^}]*)?\}|\$TMPDIR\b)"
FIXED = re.compile(SHARED + r"/+[A-Za-z0-9_.{$-]")
PYTHON_FIXED = re.compile(r"""(?:os\.path\.join\(\s*["'](?:/tmp|/var/tmp|/dev/shm)["']|gettempdir\(\)\s*[+,])""")
# A mktemp call's arguments, up to the end of the command substitution or command.
MKTEMP = re.compile(r"\bmk[d]?temp\b[^;|&)]*")
AREAS = ["scripts", "bench", "vm", ".ci", "deploy", "examples"]


def is_script(path):
    if path.endswith((".sh", ".bash", ".py")):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def fixed_names(path):
    with open(path, errors="replace") as f:
        for number, line in enumerate(f, 1):
            code = line.strip()
            if code.startswith("#"):
                continue
            rest = MKTEMP.sub("", code)
            if FIXED.search(rest) or PYTHON_FIXED.search(rest):
                yield number, code


def main(argv):
    root = argv[1] if len(argv) > 1 else "."
    expect = int(argv[argv.index("--expect") + 1]) if "--expect" in argv else None
    dirs = [root] if expect is not None else [os.path.join(root, a) for a in AREAS]
    found = []
    for top in dirs:
        for dirpath, _, names in os.walk(top):
            for name in sorted(names):
                path = os.path.join(dirpath, name)
                if is_script(path):
                    found += [f"{os.path.relpath(path, root)}:{n}: {code}" for n, code in fixed_names(path)]
    for f in found:
        print("a fixed name in a shared temporary directory (use mktemp):", f)
    if expect is not None:
        print(f"{len(found)} found, {expect} expected")
        return 0 if len(found) == expect else 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
