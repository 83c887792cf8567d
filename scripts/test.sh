#!/usr/bin/env bash
# The whole test suite: dependencies, a warnings-as-errors build (which also compiles the RTFS
# core for wasm32-wasi), the untrusted-input suites under ASan/UBSan, then every ctest test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
jobs="$(nproc)"

scripts/build.sh ci -DMICROVM_WERROR=ON

# Untrusted-input paths once more under AddressSanitizer + UBSan: the RTFS runtime and the
# wasm engine (malformed modules, traps, memory.grow past the cap must not hurt the host).
if [ "${MICROVM_SKIP_ASAN:-0}" != "1" ]; then
  asan=build/asan
  if [ ! -f "$asan/build.ninja" ]; then
    cmake -G Ninja -S . -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMICROVM_SANITIZE=ON \
      -DMICROVM_BENCH=OFF -DMICROVM_WASM_RTFS=OFF
  fi
  asan_tests=(tests/rtfs/rtfs_tests tests/providers/wasm/wasm_provider_tests)
  ninja -C "$asan" "${asan_tests[@]}"
  for t in "${asan_tests[@]}"; do
    echo "--- ASan/UBSan: $t"
    "$asan/$t" --gtest_brief=1
  done
fi

# Last, so that ctest's summary closes the output.
ctest --test-dir build/ci --output-on-failure -j "$jobs" --timeout 300
