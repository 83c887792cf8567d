#!/bin/sh
# The gvisor provider's overhead on top of runsc itself: hyperfine runs raw
# `runsc --platform=ptrace --network=none do /bin/true` and one execution of /bin/true through the
# provider (gvisor_exec_once: initialize + execute_program, a process of its own each time) side
# by side, and prints the medians and the provider's overhead.
#
#   bench/gvisor/compare.sh [BUILD_DIR] [ROUNDS] [RUNS]      (defaults: build, 6, 10)
#
# ROUNDS hyperfine invocations of RUNS executions each, alternating which command goes first,
# with the medians taken over all executions: on a shared machine the load drifts, and one long
# block per command would measure the drift. Both commands run under `sh -c 'exec ... < EMPTY
# 2>&1'` with their output piped: runsc hands a container's stdio to the sandbox user (fchown),
# and hyperfine's default /dev/null must never be handed over.
set -eu
build=${1:-build}
rounds=${2:-6}
runs=${3:-10}
driver=$(realpath "$build/bench/gvisor/gvisor_exec_once")
runsc=$(command -v runsc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty"

raw="sh -c 'exec $runsc --platform=ptrace --network=none do /bin/true <$tmp/empty 2>&1'"
ours="sh -c 'exec $driver /bin/true <$tmp/empty 2>&1'"
"$driver" /bin/true <"$tmp/empty"  # the platform probe runs once per boot; not part of the figure
i=0
while [ "$i" -lt "$rounds" ]; do
    if [ $((i % 2)) -eq 0 ]; then first=$raw second=$ours; else first=$ours second=$raw; fi
    hyperfine -N --output=pipe --warmup 2 --runs "$runs" --export-json "$tmp/round$i.json" \
        "$first" "$second" >/dev/null
    i=$((i + 1))
done
python3 - "$raw" "$ours" "$tmp"/round*.json <<'PY'
import json, statistics, sys
raw, ours, files = sys.argv[1], sys.argv[2], sys.argv[3:]
times = {raw: [], ours: []}
for f in files:
    for b in json.load(open(f))["results"]:
        times[b["command"]] += b["times"]
r, o = statistics.median(times[raw]), statistics.median(times[ours])
print(f"runsc do: median {r * 1000:.1f} ms over {len(times[raw])} runs")
print(f"provider: median {o * 1000:.1f} ms over {len(times[ours])} runs")
print(f"overhead: {(o - r) * 1000:+.1f} ms ({(o / r - 1) * 100:+.1f}%)")
PY
