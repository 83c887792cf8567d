#!/usr/bin/env bash
# microvmd benchmark: POST /v1/executions (mock eval, process run /bin/true) over the Unix
# socket against the one-shot CLI doing the same, in one run (see service_bench.cpp); with
# --qemu, then a qemu execution in a VM of the provider's warm pool (15 samples, about 40 s).
# Usage: bench/service/bench.sh [BUILD_DIR] [SEQUENTIAL] [PER_CLIENT] [--qemu]
set -euo pipefail
build=${1:-build}
bin="$build/bench/service/service_bench"
[ -x "$bin" ] || { echo "bench.sh: $bin not built (ninja -C $build service_bench)" >&2; exit 1; }
exec "$bin" "${2:-200}" "${3:-25}" "${@:4}"
