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
for w in fib sum mfr; do
  hyperfine -N --warmup 3 --runs 20 --export-markdown "/tmp/rtfs-bench-$w.md" \
    -n "rtfs $w" "$rtfs run $here/$w.rtfs" \
    -n "python3 $w" "python3 $here/$w.py"
done
cat /tmp/rtfs-bench-{fib,sum,mfr}.md
