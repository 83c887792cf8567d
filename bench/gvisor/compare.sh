#!/bin/sh
# The gvisor provider's overhead on top of runsc itself: hyperfine runs raw
# `runsc --platform=ptrace --network=none do /bin/true` and one execution of /bin/true through the
# provider (gvisor_exec_once: initialize + execute_program, a process of its own each time) side
# by side, and prints the median overhead.
#
#   bench/gvisor/compare.sh [BUILD_DIR] [RUNS]      (defaults: build, 40)
#
# Both run under `sh -c 'exec ... < EMPTY'` with their output piped: runsc hands a container's
# stdio to the sandbox user (fchown), and hyperfine's default /dev/null must never be handed over.
set -eu
build=${1:-build}
runs=${2:-40}
driver=$(realpath "$build/bench/gvisor/gvisor_exec_once")
runsc=$(command -v runsc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty"

"$driver" /bin/true <"$tmp/empty"  # the platform probe runs once per boot; not part of the figure
hyperfine -N --output=pipe --warmup 5 --runs "$runs" --export-json "$tmp/result.json" \
    -n "runsc do" "sh -c 'exec $runsc --platform=ptrace --network=none do /bin/true <$tmp/empty 2>&1'" \
    -n "gvisor provider" "sh -c 'exec $driver /bin/true <$tmp/empty 2>&1'"
python3 - "$tmp/result.json" <<'PY'
import json, sys
r = {b["command"]: b["median"] for b in json.load(open(sys.argv[1]))["results"]}
raw, ours = r["runsc do"], r["gvisor provider"]
print(f"median: runsc do {raw*1000:.1f} ms, provider {ours*1000:.1f} ms, "
      f"overhead {(ours - raw)*1000:+.1f} ms ({(ours / raw - 1) * 100:+.1f}%)")
PY
