#!/usr/bin/env python3
"""Fails when a script root may run (scripts/, bench/, vm/, .ci/, deploy/, examples/) names a
fixed path below /tmp, /var/tmp, /dev/shm or $TMPDIR: any local user can put a symlink or a file
there first, and root then writes through it (bench/rtfs/run.sh overwrote a root-only file
through /tmp/rtfs-bench-fib.md; red team, 2026-12-05) or reads back what that user wrote. What
mktemp or mkdtemp is given (a template of X's) is fine; comments are not code.

The tests' C and C++ sources (tests/**/*.cpp, .hpp, .c), which CI runs as root, likewise: a path
built from a literal that starts with /tmp/, /var/tmp/ or /dev/shm/ (or is that directory, with
+ or / after it), or from temp_directory_path() with + or / after it, is a fixed name ("elf-fuzz-"
and a pid is one: planting symlinks at every pid costs nothing), unless its statement holds a
mkdtemp/mkstemp template (XXXXXX). A name beside a scratch directory (its path().string() or
path().native() and a literal that does not start with '/': dir.path().string() + "-f") is no
better: whoever lists /tmp sees the directory and plants that name first. A scratch directory is testsupport::HostDir
(tests/support/host_files.hpp). A literal that is no path of the host's (a guest's path, a policy
value the test only parses) says so in a comment on its line or a comment line just above it:
"not a scratch path: WHY".
    no_fixed_tmp_names.py SOURCE_DIR                 check the project's scripts and tests' sources
    no_fixed_tmp_names.py DIR --expect N             check every script and source in DIR: exactly
                                                     N lines found
"""
import bisect
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

# C and C++ sources of the tests; the checks' own fixtures hold fixed names on purpose.
SOURCE_SUFFIXES = (".cpp", ".hpp", ".c", ".h", ".cc")
SOURCE_AREA = "tests"
FIXTURES = os.path.join("tests", "scripts", "fixtures")
SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
RAW_STRING = re.compile(r'(?:u8|[uUL])?R"([^()\\\s]{0,16})\(')
TEMP_DIR_CALL = re.compile(r"\btemp_directory_path\(\s*\)(?:\s*\.\s*(?:string|native)\(\s*\))?\s*[/+]")
# A scratch directory's path with a name joined to it, not below it: dir.path().string() + "-f".
BESIDE = re.compile(r"\.path\(\s*\)\s*\.\s*(?:string|native)\(\s*\)\s*\+\s*$")
BESIDE_NAME = re.compile(r"[A-Za-z0-9._-]")
# After a bare "/tmp": + or / (std::string("/tmp") + name, fs::path("/tmp") / name).
JOINED = re.compile(r"\s*\)?\s*(?:\+|/(?![/*]))")
ALLOWED = re.compile(r"not a scratch path:\s*\S")
TEMPLATE = "XXXXXX"


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


def source_tokens(text):
    """The text as ("code" | "string" | "comment", start, content): literals and comments
    found as the compiler does (escapes, raw strings, digit separators)."""
    out, i, n, start = [], 0, len(text), 0

    def code_until(end):
        if end > start:
            out.append(("code", start, text[start:end]))

    while i < n:
        c = text[i]
        word_before = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
        if text.startswith("//", i) or text.startswith("/*", i):
            code_until(i)
            end = text.find("\n", i) if text[i + 1] == "/" else text.find("*/", i + 2)
            end = n if end < 0 else (end if text[i + 1] == "/" else end + 2)
            out.append(("comment", i, text[i:end]))
            i = start = end
            continue
        raw = None if word_before else RAW_STRING.match(text, i)
        if raw:
            code_until(i)
            close = ")" + raw.group(1) + '"'
            end = text.find(close, raw.end())
            end = n if end < 0 else end + len(close)
            out.append(("string", i, text[raw.end():end - len(close)]))
            i = start = end
            continue
        if c == '"' or (c == "'" and not word_before):  # 1'000 is a number
            code_until(i)
            end = i + 1
            while end < n and text[end] != c and text[end] != "\n":
                end += 2 if text[end] == "\\" else 1
            end = min(end + 1, n)
            out.append(("string" if c == '"' else "code", i, text[i + 1:end - 1] if c == '"' else text[i:end]))
            i = start = end
            continue
        i += 1
    code_until(n)
    return out


def names_a_shared_dir(tokens, k):
    content = tokens[k][2]
    for d in SHARED_DIRS:
        if content.startswith(d + "/"):
            return True
        if content == d and k + 1 < len(tokens) and tokens[k + 1][0] == "code":
            if JOINED.match(tokens[k + 1][2]):
                return True
    return False


def fixed_names_in_source(path):
    with open(path, errors="replace") as f:
        text = f.read()
    lines = text.split("\n")
    tokens = source_tokens(text)
    allowed = set()  # lines a "not a scratch path:" comment covers
    for kind, at, content in tokens:
        if kind == "comment" and ALLOWED.search(content):
            line = text.count("\n", 0, at)  # 0-based
            allowed.add(line)
            if not lines[line][: at - (text.rfind("\n", 0, at) + 1)].strip():
                allowed.add(line + 1)  # a comment line: the line after it
    # Where statements end (a ; { or } of the code) and where templates are.
    ends = [at + m.start() for kind, at, content in tokens if kind == "code" for m in re.finditer(r"[;{}]", content)]
    templates = [at for kind, at, content in tokens if kind == "string" and TEMPLATE in content]
    hits = []
    for k, (kind, at, content) in enumerate(tokens):
        if kind == "string" and names_a_shared_dir(tokens, k):
            hits.append(at)
        elif kind == "string" and k and tokens[k - 1][0] == "code" and BESIDE.search(tokens[k - 1][2]) \
                and BESIDE_NAME.match(content):
            hits.append(at)
        elif kind == "code":
            hits += [at + m.start() for m in TEMP_DIR_CALL.finditer(content)]
    found = set()
    for hit in hits:
        # A template in the same statement is mkdtemp's or mkstemp's.
        i = bisect.bisect_left(ends, hit)
        first, last = (ends[i - 1] if i else -1), (ends[i] if i < len(ends) else len(text))
        if any(first < t < last for t in templates):
            continue
        line = text.count("\n", 0, hit)
        if line not in allowed:
            found.add(line)
    for line in sorted(found):
        yield line + 1, lines[line].strip()


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
    sources = []
    skip = None if expect is not None else os.path.normpath(os.path.join(root, FIXTURES))
    for dirpath, dirnames, names in os.walk(root if expect is not None else os.path.join(root, SOURCE_AREA)):
        dirnames[:] = sorted(d for d in dirnames if os.path.normpath(os.path.join(dirpath, d)) != skip)
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            if name.endswith(SOURCE_SUFFIXES):
                sources += [f"{os.path.relpath(path, root)}:{n}: {code}" for n, code in fixed_names_in_source(path)]
    for f in sources:
        print("a fixed name in a shared temporary directory (use mkdtemp, testsupport::HostDir):", f)
    found += sources
    if expect is not None:
        print(f"{len(found)} found, {expect} expected")
        return 0 if len(found) == expect else 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
