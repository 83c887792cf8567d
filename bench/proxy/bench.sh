#!/usr/bin/env bash
# Egress proxy benchmark: throughput of a 100 MiB loopback download, direct and through the
# proxy, and the latency the proxy adds per connection (median of interleaved requests).
# Usage: bench/proxy/bench.sh [BUILD_DIR] [proxy_bench flags...]
#   (the proxy_bench target: ninja -C BUILD_DIR proxy_bench). Run it on an otherwise idle
#   machine: the server, the proxy and the client share its cores.
set -euo pipefail
build=${1:-build}
shift || true
bin="$build/bench/proxy/proxy_bench"
[ -x "$bin" ] || { echo "bench.sh: $bin not built (ninja -C $build proxy_bench)" >&2; exit 1; }
echo "== $(nproc) CPUs, kernel $(uname -r)"
"$bin" "$@"
