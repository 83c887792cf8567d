#!/usr/bin/env bash
# Builds (or finds in its cache) the guest image of the VM providers: vm/image/build.sh with
# the project's guest agent as /init. The image lives outside the checkout, in
# ${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image}/<key>/ (also reachable as .../current);
# the last line on stdout is its directory. See docs/vm-image.md.
#   scripts/build-guest-image.sh [--agent PATH] [other vm/image/build.sh options]
# Without --agent: $MICROVM_GUEST_AGENT, else the static agent (target microvm_guest_static) of
# the build directory $MICROVM_BUILD_DIR (default build/release, as scripts/build.sh makes it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for a in "$@"; do
  [ "$a" != --agent ] || exec "$root/vm/image/build.sh" "$@"
done
build_dir="${MICROVM_BUILD_DIR:-$root/build/release}"
agent="${MICROVM_GUEST_AGENT:-$build_dir/tools/guest/microvm-guest-static}"
[ -f "$agent" ] || { echo "build-guest-image: error: no static guest agent at $agent: build it" \
  "(ninja -C $build_dir microvm_guest_static) or pass --agent PATH / set MICROVM_GUEST_AGENT" >&2; exit 1; }
exec "$root/vm/image/build.sh" --agent "$agent" "$@"
