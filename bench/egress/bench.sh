#!/usr/bin/env bash
# Allow/block lists (issue 12) on the process provider, and side by side with Anthropic's
# sandbox-runtime (`srt`) on the same allow-list task. Loopback only: the one server is
# python3's http.server on 127.0.0.1.
#   1. Setup cost: /bin/true under --net deny and under --net allow=example.com, interleaved in
#      one hyperfine run (one execution per process: includes starting the proxy's thread), and
#      200 interleaved pairs in one process (steady state, proxy running): medians and the
#      median of the pairs' differences.
#   2. Per-command latency, `microvm run` vs `srt -c`, of `true` and of one curl through the
#      proxy to the allowed name.
#   3. Whether each enforcement case holds, in both: the allowed name answers; an unlisted name,
#      an unlisted IP literal and a program ignoring the proxy variables get nothing.
# Usage: bench/egress/bench.sh [BUILD_DIR]   (root; hyperfine, curl, python3; targets
#   process_run and microvm_cli; srt optional: npm install -g @anthropic-ai/sandbox-runtime,
#   which also needs socat, ripgrep and bubblewrap)
set -euo pipefail
build=${1:-build}
driver="$build/bench/process/process_run"
microvm="$build/tools/microvm/microvm"
for b in "$driver" "$microvm"; do
  [ -x "$b" ] || { echo "bench.sh: $b not built (ninja -C $build process_run microvm_cli)" >&2; exit 1; }
done
command -v hyperfine >/dev/null || { echo "bench.sh: hyperfine missing" >&2; exit 1; }
curl=$(command -v curl)
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
medians() {
  python3 - "$1" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  median {r['median'] * 1000:8.2f} ms  {r['command']}")
PY
}

echo "== $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. setup cost, process provider: --net deny vs --net allow=example.com (/bin/true)"
hyperfine -N --warmup 10 --runs 150 --export-json "$work/setup.json" \
  -n "deny" "$driver --quiet --net deny -- /bin/true" \
  -n "allow" "$driver --quiet --net allow=example.com -- /bin/true" >/dev/null
medians "$work/setup.json"
echo "   steady state in one process, interleaved pairs (deny, then allow):"
echo -n "   "; "$driver" --quiet --repeat 200 --net deny --versus-net allow=example.com -- /bin/true

# The loopback server. Allowed in both: the name localhost and the literal 127.0.0.1 on this port
# (both sandboxes refuse loopback answers unless the literal is listed).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/www" && echo hello > "$work/www/index.html"
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 300); do "$curl" -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
allow="allow=localhost,127.0.0.1:$port"
ours() { "$microvm" run --provider process --net "$allow" -- "$@"; }
cat > "$work/srt.json" <<JSON
{"network": {"allowedDomains": ["localhost", "127.0.0.1:$port"], "deniedDomains": []},
 "filesystem": {"denyRead": [], "allowWrite": ["/tmp"], "denyWrite": []}}
JSON
have_srt=0
if command -v srt >/dev/null && command -v socat >/dev/null && command -v rg >/dev/null; then
  have_srt=1
  theirs() { srt -s "$work/srt.json" -c "$*"; }
else
  echo "(srt, socat or ripgrep missing: srt columns skipped)"
fi

echo "== 2. per-command latency (hyperfine, one run)"
hyperfine -N --warmup 3 --runs 20 --export-json "$work/latency.json" \
  -n "microvm: true" "$microvm run --provider process --net $allow -- /bin/true" \
  -n "microvm: curl allowed" "$microvm run --provider process --net $allow -- $curl -sf --noproxy '' http://localhost:$port/" >/dev/null
medians "$work/latency.json"
if [ $have_srt = 1 ]; then
  # srt's own proxy is sometimes not ready for its command's first connection (curl exit 7, seen
  # in 2 of 15 runs): its rows are timed with --ignore-failure and the failures counted.
  hyperfine -N -i --warmup 3 --runs 20 --export-json "$work/latency-srt.json" \
    -n "srt: true" "srt -s $work/srt.json -c true" \
    -n "srt: curl allowed" "srt -s $work/srt.json -c '$curl -sf --noproxy \"\" http://localhost:$port/'" >/dev/null
  medians "$work/latency-srt.json"
  python3 - "$work/latency-srt.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    failed = sum(1 for c in r.get("exit_codes", []) if c != 0)
    print(f"  {failed} of {len(r.get('exit_codes', []))} runs failed: {r['command']}")
PY
fi

echo "== 3. enforcement cases (holds = the sandbox did what the policy says)"
case_line() {  # name, expect (ok|refused), command...
  local name=$1 expect=$2; shift 2
  local out
  if out=$("$@" 2>/dev/null) && [ "$out" = "hello" ]; then got=ok; else got=refused; fi
  [ "$got" = "$expect" ] && echo -n "holds   " || echo -n "FAILS   "
}
printf "  %-44s %-8s %-8s\n" case microvm srt
run_case() {  # name expect curl-args...
  local name=$1 expect=$2; shift 2
  local a b="-"
  a=$(case_line "$name" "$expect" ours "$curl" -s --max-time 5 "$@")
  if [ $have_srt = 1 ]; then
    b=$(case_line "$name" "$expect" theirs "$(printf '%q ' "$curl" -s --max-time 5 "$@")")
  fi
  printf "  %-44s %-8s %-8s\n" "$name" "$a" "$b"
}
# --noproxy "": through the proxy even for localhost (srt exempts loopback names in NO_PROXY).
run_case "allowed name answers" ok --noproxy "" "http://localhost:$port/"
run_case "unlisted name refused" refused --noproxy "" "http://other.test:$port/"
run_case "unlisted IP literal refused" refused --noproxy "" "http://127.0.0.2:$port/"
run_case "ignoring the proxy variables: no way out" refused --noproxy '*' "http://127.0.0.1:$port/"
