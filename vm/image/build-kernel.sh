#!/usr/bin/env bash
# Builds the guest kernel of the VM providers from Debian's linux-source-6.1: `make tinyconfig`,
# merge vm/image/kernel.config, `make olddefconfig`, check that every option of the fragment
# really ended up set, build vmlinux (PVH entry, booted directly by QEMU -M microvm and
# Firecracker) and bzImage.
#
# Output: <cache>/kernels/<key>/{vmlinux,bzImage,config,kernel.env (with their sizes)}; the last
# line on stdout is that directory. key = sha256 of the fragment, the linux-source package
# version, this script and the compiler's version, so a second run with the same inputs only
# prints the directory. The kernel has a cache of its own (apart from the image's) so that
# changing the initramfs or the agent never rebuilds it.
#
# Usage: build-kernel.sh [--cache DIR]     (default ${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image})
# The cache, and every directory above it, must be owned by root or the invoking user and
# writable by neither group nor others (vm/image/trust.sh); another is refused before any work.
set -euo pipefail
umask 022

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image}"
fragment="$here/kernel.config"
src_pkg=linux-source-6.1
src_tar=/usr/src/linux-source-6.1.tar.xz

die() { echo "build-kernel: error: $*" >&2; exit 1; }
log() { echo "build-kernel: $*" >&2; }
# shellcheck source=vm/image/trust.sh
. "$here/trust.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache="${2:?--cache needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
use_trusted_cache "$cache"
[ ! -e "$cache/kernels" ] || trusted_real_path "the kernel cache" "$cache/kernels" >/dev/null || exit 1
# The kernel's source is unpacked and built (its scripts run as root) in $TMPDIR: it must be ours
# too (a sticky directory such as /tmp is fine: no one else can rename our entry there).
tmpbase="$(trusted_real_path "the temporary directory (TMPDIR)" "${TMPDIR:-/tmp}" 1)" || exit 1

# --- Inputs: refuse with the missing piece named, never half-build ---------------------------
src_version="$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null || true)"
if [ -z "$src_version" ] || [ ! -f "$src_tar" ]; then
  die "$src_pkg is not installed ($src_tar missing): run scripts/setup-deps.sh"
fi
missing=()
for tool in make:make gcc:gcc flex:flex bison:bison bc:bc lz4:lz4 xz:xz-utils; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
# objtool (built with the kernel on x86_64) links against libelf.
[ -f /usr/include/gelf.h ] || missing+=(libelf-dev)
[ ${#missing[@]} -eq 0 ] || die "missing build tools, packages: ${missing[*]} (run scripts/setup-deps.sh)"

# The build's timestamp must be a date (it also sets the mtimes in the kernel's built-in
# initramfs): the source package's own, from its Debian changelog. (awk reads to the end: an
# early `head` would kill zcat with SIGPIPE, fatal under pipefail.)
src_date="$(zcat "/usr/share/doc/$src_pkg/changelog.Debian.gz" |
  awk '/^ -- / && !found { sub(/^ -- .*>  /, ""); found = $0 } END { print found }')" || true
if [ -z "$src_date" ] || ! date -d "$src_date" >/dev/null 2>&1; then
  die "no release date in /usr/share/doc/$src_pkg/changelog.Debian.gz"
fi

cc_version="$(gcc --version | head -n1)"
key="$( {
  echo "fragment $(sha256sum < "$fragment")"
  echo "source $src_pkg $src_version"
  echo "script $(sha256sum < "$0")"
  echo "compiler $cc_version"
} | sha256sum | cut -c1-32)"
out="$cache/kernels/$key"

# Why the kernel directory is not a complete build of this key, or nothing: its kernel.env (written
# last) must be one of this key, and the files it lists must have the sizes it records.
kernel_fault() {  # dir
  local f size
  [ -e "$1" ] || [ -L "$1" ] || { echo "not built"; return; }
  read_kernel_env "$1/kernel.env" "$key" || { echo "$kernel_env_fault"; return; }
  for f in vmlinux:"$VMLINUX_SIZE" bzImage:"$BZIMAGE_SIZE" config:"$CONFIG_SIZE"; do
    size="${f#*:}" f="${f%%:*}"
    if [ ! -f "$1/$f" ] || [ -L "$1/$f" ]; then echo "$f is missing"; return; fi
    [ "$(stat -c %s -- "$1/$f")" = "$size" ] || { echo "$f has $(stat -c %s -- "$1/$f") bytes, kernel.env says $size"; return; }
  done
}

if [ -z "$(kernel_fault "$out")" ]; then
  log "cached: $out"
  echo "$out"
  exit 0
fi

mkdir -p "$cache/kernels"
# One builder per key at a time; a second caller waits and then finds the cache filled.
take_lock 9 "$cache/kernels/.$key.lock"
fault="$(kernel_fault "$out")"
if [ -z "$fault" ]; then
  log "cached (built by a concurrent run): $out"
  echo "$out"
  exit 0
fi
# What is there is no kernel of this key (a copy cut short, a file gone): it would stay in the
# way of the rename for good.
if [ -e "$out" ] || [ -L "$out" ]; then
  log "removing $out, which is incomplete ($fault), to build it again"
  rm -rf -- "$out"
fi
sweep_stages "$cache/kernels" "$key"

tmp="$(mktemp -d "$tmpbase/microvm-kernel.XXXXXX")"
stage="$cache/kernels/.$key.tmp.$$"
cleanup() { rm -rf "$tmp" "$stage"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP  # so that the EXIT trap cleans up when interrupted too

start=$(date +%s)
log "building kernel $key from $src_pkg $src_version with ${cc_version} (log: $tmp/build.log)"
log "extracting $src_tar"
tar -xJf "$src_tar" -C "$tmp"
srcdir="$tmp/$src_pkg"
objdir="$tmp/build"
mkdir -p "$objdir"

# Fixed build stamps: `uname -v` and the image bytes depend only on the inputs of the key.
export KBUILD_BUILD_TIMESTAMP="$src_date"
export KBUILD_BUILD_USER=microvm KBUILD_BUILD_HOST=guest-image KBUILD_BUILD_VERSION=1
kmake() { make -C "$srcdir" O="$objdir" -j"$(nproc)" "$@" >>"$tmp/build.log" 2>&1 ||
  { tail -n 40 "$tmp/build.log" >&2; die "make $* failed (last lines above)"; }; }

kmake tinyconfig
"$srcdir/scripts/kconfig/merge_config.sh" -m -O "$objdir" "$objdir/.config" "$fragment" \
  >>"$tmp/build.log" 2>&1 || die "merge_config.sh failed (see the fragment $fragment)"
kmake olddefconfig

# Kconfig drops an option whose dependencies are unmet, or keeps one that another selects,
# without a word: check each line of the fragment (`CONFIG_X=...` and `# CONFIG_X is not set`).
wrong=()
while IFS= read -r line; do
  if [[ "$line" == "#"* ]]; then
    opt="${line#\# }"; opt="${opt%% *}"
    ! grep -q "^$opt=" "$objdir/.config" || wrong+=("$opt(wanted off)")
  else
    grep -qxF -- "$line" "$objdir/.config" || wrong+=("${line%%=*}(wanted ${line#*=})")
  fi
done < <(grep -E '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' "$fragment")
[ ${#wrong[@]} -eq 0 ] ||
  die "options of $fragment not as asked in the final .config (unmet dependency or selected by another): ${wrong[*]}"

log "compiling with -j$(nproc)"
kmake vmlinux bzImage
release="$(make -s -C "$srcdir" O="$objdir" kernelrelease 2>/dev/null)"

mkdir -p "$stage"
cp "$objdir/vmlinux" "$stage/vmlinux"
strip --strip-debug "$stage/vmlinux"  # keeps the symbol table: `nm` reads a panic's addresses
cp "$objdir/arch/x86/boot/bzImage" "$stage/bzImage"
cp "$objdir/.config" "$stage/config"
cat > "$stage/kernel.env" <<EOF
KERNEL_KEY=$key
KERNEL_RELEASE=$release
KERNEL_SOURCE="$src_pkg $src_version"
KERNEL_COMPILER="$cc_version"
KERNEL_BUILD_SECONDS=$(( $(date +%s) - start ))
VMLINUX_SIZE=$(stat -c %s "$stage/vmlinux")
BZIMAGE_SIZE=$(stat -c %s "$stage/bzImage")
CONFIG_SIZE=$(stat -c %s "$stage/config")
EOF
mv -T "$stage" "$out"
log "built $release in $(( $(date +%s) - start )) s: $out"
echo "$out"
