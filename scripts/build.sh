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
# ccache (a Debian package, scripts/setup-deps.sh) keeps compiled objects outside the checkout, in
# the user's cache directory; with the checkout as its base directory, paths are hashed relative
# to it, so a fresh clone elsewhere (as CI makes) reuses what an earlier build compiled.
# MICROVM_NO_CCACHE=1 builds without it.
launcher=()
if [ "${MICROVM_NO_CCACHE:-0}" != 1 ] && command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"
  export CCACHE_NOHASHDIR=1  # the ASan build has -g1: its objects would otherwise differ per clone
fi
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@"
fi
# shellcheck disable=SC2086  # BUILD_TARGETS is a list
ninja -C "$build_dir" ${BUILD_TARGETS:-}
