#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages. Idempotent: packages
# already present are skipped, so a second run does no network work at all.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3 iproute2 procps
  libseccomp-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libcurl4-openssl-dev
  libcpp-httplib-dev libidn2-dev libssl-dev openssl libgtest-dev libgmock-dev libbenchmark-dev libedit-dev
  clang-19 lld-19 libclang-rt-19-dev
  wasi-libc libc++-19-dev-wasm32 libc++abi-19-dev-wasm32 libclang-rt-19-dev-wasm32
  wabt runsc bubblewrap hyperfine
  # compiled objects cached outside the checkout (scripts/build.sh), so CI's fresh clones rebuild
  # only what changed
  ccache
  # the in-sandbox client of the egress tests (tests/providers/process/process_egress_test.cpp)
  curl
  # VM providers: the guest image (vm/image/build.sh builds the kernel from linux-source with
  # flex/bison/bc, objtool needs libelf-dev, lz4 compresses the bzImage, xz unpacks the source)
  # and QEMU to boot it. libunistring-dev: the static guest agent links libidn2.a, which needs
  # libunistring.a.
  linux-source-6.1 flex bison bc libelf-dev lz4 xz-utils busybox-static qemu-system-x86
  libunistring-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
