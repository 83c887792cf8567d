#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, build, and run an RTFS example
# through the microvm command on the default provider (process isolation).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
# Only what the example needs (the CLI, the guest runner, and the RTFS runtime for the wasm
# provider when clang-19 is there); scripts/test.sh builds everything.
BUILD_TARGETS="microvm_cli microvm_guest rtfs" scripts/build.sh release \
  -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DMICROVM_TESTS=OFF -DMICROVM_BENCH=OFF
if ninja -C build/release -t targets all | grep '^rtfs_wasm:' >/dev/null; then  # no -q: pipefail
  BUILD_TARGETS=rtfs_wasm scripts/build.sh release
fi
echo "--- microvm providers"
build/release/tools/microvm/microvm providers
echo "--- microvm eval --allow ccos.io.println -f examples/hello.rtfs"
build/release/tools/microvm/microvm eval --allow ccos.io.println -f examples/hello.rtfs
