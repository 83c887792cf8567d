#!/usr/bin/env bash
# Configures and builds the project into build/<name> (default: build/release).
#   scripts/build.sh [name] [extra cmake args...]
# The cmake args apply when build/<name> is first configured. BUILD_TARGETS (space-separated)
# builds only those ninja targets; by default everything is built.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-release}"
shift || true
build_dir="build/$name"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
# shellcheck disable=SC2086  # BUILD_TARGETS is a list
ninja -C "$build_dir" ${BUILD_TARGETS:-}
