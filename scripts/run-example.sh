#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, build, and run an RTFS example
# through the microvm command on the default provider (process isolation).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
scripts/build.sh release
echo "--- microvm providers"
build/release/tools/microvm/microvm providers
echo "--- microvm eval --allow ccos.io.println -f examples/hello.rtfs"
build/release/tools/microvm/microvm eval --allow ccos.io.println -f examples/hello.rtfs
