#!/usr/bin/env bash
# RTFS against CPython on the same machine, in one hyperfine run per workload:
# fib(25), summing 1..1,000,000 in a loop, and map/filter/reduce over a 100,000-element vector.
#   bench/rtfs/run.sh [path/to/rtfs]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rtfs="${1:-$here/../../build/release/tools/rtfs/rtfs}"
for w in fib sum mfr; do
  a="$("$rtfs" run "$here/$w.rtfs")"
  b="$(python3 "$here/$w.py")"
  [ "$a" = "$b" ] || { echo "$w: rtfs says $a, python says $b" >&2; exit 1; }
done
# The tables in a directory of our own: a fixed name in /tmp is another local user's to take
# first (a symlink there had root's run overwrite a file of root's; red team, 2026-12-05).
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for w in fib sum mfr; do
  hyperfine -N --warmup 3 --runs 20 --export-markdown "$out/rtfs-bench-$w.md" \
    -n "rtfs $w" "$rtfs run $here/$w.rtfs" \
    -n "python3 $w" "python3 $here/$w.py"
done
cat "$out"/rtfs-bench-{fib,sum,mfr}.md
