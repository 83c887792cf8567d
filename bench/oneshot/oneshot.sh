#!/usr/bin/env bash
# One-shot speed of the CLI against its peers (issue 15), every figure a ratio against its peer
# measured in the same interleaved run:
#   1. hyperfine: `microvm --version` vs /bin/true (start-up of the binary alone);
#   2. `microvm bench`: each available provider and each installed peer (bwrap, runsc do, srt,
#      python3 -c) on an empty program, (+ 1 2) in RTFS (python3 for peers) and a 100 ms compute
#      job, rounds interleaved; writes bench.json and bench.svg to OUT_DIR and prints the ratios
#      docs/benchmarks.md records.
# Usage: bench/oneshot/oneshot.sh BUILD_DIR [OUT_DIR] [RUNS]   (root for the gvisor rows)
set -euo pipefail

build=${1:-build}
out=${2:-.}
runs=${3:-30}
mv="$build/tools/microvm/microvm"
[ -x "$mv" ] || { echo "oneshot.sh: $mv not built (ninja -C $build microvm_cli)" >&2; exit 1; }
mkdir -p "$out"

if command -v hyperfine >/dev/null; then
  echo "== start-up (hyperfine -N)"
  hyperfine -N --warmup 20 --runs 300 --export-json "$out/startup.json" \
    "$mv --version" "/bin/true" >/dev/null
  python3 - "$out/startup.json" <<'PY'
import json, sys
r = {x["command"].split()[0].rsplit("/", 1)[-1]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"  microvm --version {r['microvm']:.2f} ms, /bin/true {r['true']:.2f} ms, ratio {r['microvm'] / r['true']:.2f}x")
PY
fi

echo "== microvm bench --runs $runs"
"$mv" bench --runs "$runs" --json --svg "$out/bench.svg" > "$out/bench.json"
python3 - "$out/bench.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
p50 = {(r["subject"], r["workload"]): r.get("p50_ms") for r in rows}
for r in rows:
    print(f"  {r['subject'] + (' (peer)' if r['peer'] else ''):22} {r['workload']:16} n={r['runs']:3} "
          + (f"p50 {r['p50_ms']:9.2f}  p90 {r['p90_ms']:9.2f}  p99 {r['p99_ms']:9.2f} ms" if r['runs'] else "-")
          + (f"  ({r['note']})" if r['note'] else ""))
def ratio(a, b, w="empty"):
    x, y = p50.get((a, w)), p50.get((b, w))
    if x and y:
        print(f"  {a} / {b} ({w}): {x / y:.2f}x")
print("== ratios (p50, same run)")
ratio("process", "bwrap")
ratio("gvisor", "runsc do")
ratio("wasm", "python3 -c", "rtfs (+ 1 2)")
PY
