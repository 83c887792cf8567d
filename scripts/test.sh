#!/usr/bin/env bash
# The whole test suite: dependencies, a warnings-as-errors build (which also compiles the RTFS
# core for wasm32-wasi), the untrusted-input suites under ASan/UBSan, then every ctest test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
jobs="$(nproc)"

# What this machine supports, declared: a test that would skip for want of one of these fails
# instead (tests/support/expectations.hpp). A developer's machine without them sets less.
export MICROVM_TEST_EXPECT="${MICROVM_TEST_EXPECT-root,cgroups,process,gvisor,guest-runner,wasm-rtfs,python3,qemu,landlock}"


# Optimised without debug info: the suite's figure of merit is its wall time on 2 cores, and -g
# makes the template-heavy translation units (JSON, gtest) compile about 1.5x slower.
scripts/build.sh ci -DMICROVM_WERROR=ON -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"

# The guest image of the VM providers, with this build's static agent as /init. Cached outside
# the checkout by its inputs: the kernel is built once (minutes), a new agent costs seconds, an
# unchanged one nothing. The qemu tests boot it.
MICROVM_BUILD_DIR=build/ci scripts/build-guest-image.sh >/dev/null

# Untrusted-input paths once more under AddressSanitizer + UBSan: the RTFS runtime, the wasm
# engine (malformed modules, traps, memory.grow past the cap must not hurt the host), the host
# kit with the guest agent protocol (hostile agents), the Firecracker API client (hostile
# API servers), and microvmd (hostile HTTP clients and daemons, uploads, sessions).
if [ "${MICROVM_SKIP_ASAN:-0}" != "1" ]; then
  asan=build/asan
  asan_tests=(tests/rtfs/rtfs_tests tests/providers/wasm/wasm_provider_tests tests/host/host_tests
              tests/providers/firecracker/firecracker_backend_tests tests/service/service_tests)
  # -O1 -g1: line numbers in reports, asserts kept, a quicker build than -O2 -g.
  BUILD_TARGETS="${asan_tests[*]}" scripts/build.sh asan -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" -DMICROVM_SANITIZE=ON -DMICROVM_BENCH=OFF -DMICROVM_WASM_RTFS=OFF
  # RTFS on the wasm provider too: the host side under the sanitizers, with the guest module
  # the main build made.
  for t in "${asan_tests[@]}"; do
    echo "--- ASan/UBSan: $t"
    # The service's load test (32 clients, 2,000 process sandboxes, per-request deadlines) measures
    # throughput; sandboxes built by a sanitized host are several times slower, so it runs in
    # the main build only. So does the gvisor sandbox pool's test: it needs the gVisor launcher,
    # which runs inside the sandbox and is built (uninstrumented) by the main build only.
    # The wasm tests that use up the descriptors of the engine's program (a low RLIMIT_NOFILE) run
    # in the main build only: there UBSan's check of a virtual call opens a pipe, fails, and
    # reports every vtable it has not yet seen as invalid.
    filter=()
    [ "$t" = tests/service/service_tests ] && filter=(--gtest_filter=-Load.*:SandboxPoolsTest.AGvisorPoolServesHitsThatShareNothing)
    [ "$t" = tests/providers/wasm/wasm_provider_tests ] &&
      filter=(--gtest_filter=-*SetTimesIsRefusedWhenTheHostsDescriptorsRunOut*:*ReadingADirectoryHoldsNoSecondHostDescriptor*)
    MICROVM_RTFS_WASM="$PWD/build/ci/rtfs-wasm/rtfs-guest.wasm" "$asan/$t" --gtest_brief=1 "${filter[@]}"
  done
fi

# Last, so that ctest's summary closes the output.
ctest --test-dir build/ci --output-on-failure -j "$jobs" --timeout 300
