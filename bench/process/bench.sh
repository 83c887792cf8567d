#!/usr/bin/env bash
# Process provider benchmark.
#   1. One hyperfine run comparing, per invocation: the provider running /bin/true with full
#      isolation (user, pid, mount, net, ipc, uts and cgroup namespaces, fs none, seccomp, cgroup
#      limits on memory, cpu and pids), bubblewrap with every namespace, and a bare /bin/true.
#      The provider's figure includes starting the driver, probing and initializing the provider.
#   2. Steady state inside one process: latency of sequential executions, and throughput with
#      8 parallel clients sharing one provider.
# Usage: bench/process/bench.sh [BUILD_DIR]   (needs root, hyperfine, bwrap; the process_run
# target: cmake -DMICROVM_BENCH=ON && ninja process_run)
set -euo pipefail

build=${1:-build}
driver="$build/bench/process/process_run"
[ -x "$driver" ] || { echo "bench.sh: $driver not built (ninja -C $build process_run)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench.sh: hyperfine missing" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "bench.sh: bwrap missing" >&2; exit 1; }

json=$(mktemp)
trap 'rm -f "$json"' EXIT
echo "== per invocation (hyperfine)"
hyperfine -N --warmup 20 --runs 300 --export-json "$json" \
  -n "process provider" "$driver --quiet -- /bin/true" \
  -n "bwrap --unshare-all" "bwrap --unshare-all --ro-bind / / /bin/true" \
  -n "plain /bin/true" "/bin/true"
python3 - "$json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  median {r['median'] * 1000:7.2f} ms  {r['command']}")
PY

echo "== steady state: 500 sequential executions in one process"
"$driver" --quiet --stats --repeat 500 -- /bin/true

echo "== throughput: 8 clients x 100 executions through one provider"
"$driver" --quiet --stats --clients 8 --repeat 100 -- /bin/true
