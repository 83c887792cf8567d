#!/usr/bin/env bash
# Builds the guest image of the VM providers (QEMU -M microvm, Firecracker) from Debian
# packages: the tiny kernel (build-kernel.sh) and an initramfs whose /init is the guest agent,
# plus busybox-static for what a script needs.
#
# Output, outside the checkout: <cache>/<key>/{vmlinux,bzImage,initramfs.cpio.lz4,manifest.json}
# with <cache> = ${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image} and key = sha256 of the
# kernel's key (config fragment, linux-source version, build-kernel.sh, compiler), this script,
# the agent and busybox binaries and the initramfs compression. A second run with the same inputs
# does no work. <cache>/current points at the last image built or found (unless --no-current).
# The last line on stdout is the image directory.
#
# Usage: build.sh --agent PATH [--busybox PATH] [--cache DIR] [--compression lz4|gzip]
#                 [--no-current]
#   --agent        static x86-64 ELF that becomes /init (the project's guest agent, VM mode)
#   --busybox      static busybox (default: /bin/busybox of the busybox-static package)
#   --compression  of the initramfs; lz4 (default) boots faster than gzip under TCG
#   --no-current   leave <cache>/current alone (smoke tests with a stand-in agent use it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
cache="${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image}"
agent="" busybox=/bin/busybox compression=lz4 set_current=1

die() { echo "build-image: error: $*" >&2; exit 1; }
log() { echo "build-image: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --agent) agent="${2:?--agent needs a path}"; shift 2 ;;
    --busybox) busybox="${2:?--busybox needs a path}"; shift 2 ;;
    --cache) cache="${2:?--cache needs a directory}"; shift 2 ;;
    --compression) compression="${2:?--compression needs gzip or lz4}"; shift 2 ;;
    --no-current) set_current=0; shift ;;
    -h|--help) sed -n '2,18p' "$self"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$agent" ] || die "--agent PATH is required (the static guest agent that becomes /init)"
case "$compression" in
  gzip) initrd=initramfs.cpio.gz; compress=(gzip -n -9) ;;
  # The kernel reads only lz4's legacy frame format (-l).
  lz4) initrd=initramfs.cpio.lz4; compress=(lz4 -l -9 -q -c) ;;
  *) die "--compression must be gzip or lz4, not '$compression'" ;;
esac
command -v readelf >/dev/null || die "readelf missing (package binutils; run scripts/setup-deps.sh)"
command -v "${compress[0]}" >/dev/null || die "${compress[0]} missing (run scripts/setup-deps.sh)"

# There is no libc or loader in the image: a binary with an ELF interpreter could not start.
require_static() {  # what path
  local what="$1" path="$2" header
  if [ ! -f "$path" ] || [ ! -x "$path" ]; then die "$what '$path' is not an executable file"; fi
  header="$(readelf -h "$path" 2>/dev/null)" || die "$what '$path' is not an ELF file"
  grep -q 'Machine:.*X86-64' <<<"$header" || die "$what '$path' is not an x86-64 ELF"
  if readelf -lW "$path" | grep -q 'INTERP'; then
    die "$what '$path' is dynamically linked (has PT_INTERP: $(readelf -p .interp "$path" 2>/dev/null |
      grep -o '/[^ ]*' | head -n1)); the guest has no loader: link it statically"
  fi
}
require_static "agent" "$agent"
[ -f "$busybox" ] || die "busybox '$busybox' missing: install busybox-static (scripts/setup-deps.sh)"
require_static "busybox" "$busybox"
busybox_version="$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"

# The kernel first: its own cache makes this a no-op once built.
kdir="$("$here/build-kernel.sh" --cache "$cache" | tail -n1)"
# shellcheck source=/dev/null
. "$kdir/kernel.env"

agent_sha="$(sha256sum < "$agent" | cut -d' ' -f1)"
busybox_sha="$(sha256sum < "$busybox" | cut -d' ' -f1)"
key="$( {
  echo "kernel $KERNEL_KEY"
  echo "script $(sha256sum < "$self")"
  echo "agent $agent_sha"
  echo "busybox $busybox_sha"
  echo "compression $compression"
} | sha256sum | cut -c1-32)"
out="$cache/$key"

point_current() {
  [ "$set_current" = 1 ] || return 0
  ln -sfn "$key" "$cache/.current.$$" && mv -T "$cache/.current.$$" "$cache/current"
}

if [ -f "$out/manifest.json" ]; then
  log "cached: $out (same kernel, agent, busybox and script)"
  point_current
  echo "$out"
  exit 0
fi
exec 9>"$cache/.$key.lock"
flock 9
if [ ! -f "$out/manifest.json" ]; then
  start=$(date +%s)
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/microvm-image.XXXXXX")"
  stage="$cache/.$key.tmp.$$"
  trap 'rm -rf "$tmp" "$stage"' EXIT
  trap 'exit 130' INT TERM HUP
  log "building image $key (agent $agent, busybox $busybox_version, $compression)"

  # Files of the archive, staged with a fixed mtime: gen_init_cpio takes a file's mtime from
  # disk and everything else's from -t, so the archive's bytes depend only on the inputs.
  mkdir -p "$tmp/root/etc"
  install -m 0755 "$agent" "$tmp/root/init"
  install -m 0755 "$busybox" "$tmp/root/busybox"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    > "$tmp/root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$tmp/root/etc/group"
  printf '%s\n' '127.0.0.1 localhost' > "$tmp/root/etc/hosts"
  touch -h -d @0 "$tmp/root/init" "$tmp/root/busybox" "$tmp/root/etc/"*

  {
    # /dev/console must be in the archive: the kernel opens it for /init's stdin/out/err
    # before anything can mount devtmpfs (DEVTMPFS_MOUNT does not apply to an initramfs).
    for d in bin dev etc mnt proc root run sys usr; do echo "dir /$d 0755 0 0"; done
    echo "dir /tmp 1777 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "file /init $tmp/root/init 0755 0 0"
    echo "file /bin/busybox $tmp/root/busybox 0755 0 0"
    # Every applet under /bin; /sbin and /usr/{bin,sbin} lead there too, so `#!/usr/bin/env sh`
    # and `#!/bin/sh` both work.
    "$busybox" --list | LC_ALL=C sort -u | grep -vx busybox | while read -r applet; do
      echo "slink /bin/$applet busybox 0777 0 0"
    done
    echo "slink /sbin bin 0777 0 0"
    echo "slink /usr/bin ../bin 0777 0 0"
    echo "slink /usr/sbin ../bin 0777 0 0"
    for f in passwd group hosts; do echo "file /etc/$f $tmp/root/etc/$f 0644 0 0"; done
  } > "$tmp/initramfs.list"

  mkdir -p "$stage"
  "$kdir/gen_init_cpio" -t 0 "$tmp/initramfs.list" > "$tmp/initramfs.cpio"
  "${compress[@]}" < "$tmp/initramfs.cpio" > "$stage/$initrd"
  cp "$kdir/vmlinux" "$kdir/bzImage" "$stage/"

  file_json() {  # name -> {"size":N,"sha256":"..."}
    printf '{"size": %d, "sha256": "%s"}' "$(stat -c %s "$stage/$1")" \
      "$(sha256sum < "$stage/$1" | cut -d' ' -f1)"
  }
  json_str() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }
  cat > "$stage/manifest.json.tmp" <<EOF
{
  "format": 1,
  "key": "$key",
  "built_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "build_seconds": {"kernel": $KERNEL_BUILD_SECONDS, "initramfs": $(( $(date +%s) - start ))},
  "kernel": {
    "release": "$KERNEL_RELEASE",
    "key": "$KERNEL_KEY",
    "source": $(json_str "$KERNEL_SOURCE"),
    "compiler": $(json_str "$KERNEL_COMPILER"),
    "config_fragment_sha256": "$(sha256sum < "$here/kernel.config" | cut -d' ' -f1)",
    "build_script_sha256": "$(sha256sum < "$here/build-kernel.sh" | cut -d' ' -f1)"
  },
  "inputs": {
    "agent": {"path": $(json_str "$(realpath "$agent")"), "sha256": "$agent_sha"},
    "busybox": {"path": $(json_str "$(realpath "$busybox")"), "package": "busybox-static $busybox_version", "sha256": "$busybox_sha"},
    "build_script_sha256": "$(sha256sum < "$self" | cut -d' ' -f1)",
    "compression": "$compression"
  },
  "files": {
    "vmlinux": $(file_json vmlinux),
    "bzImage": $(file_json bzImage),
    "initramfs": {"name": "$initrd", "uncompressed_size": $(stat -c %s "$tmp/initramfs.cpio"), "file": $(file_json "$initrd")}
  }
}
EOF
  mv "$stage/manifest.json.tmp" "$stage/manifest.json"  # written last: its presence = complete
  mv -T "$stage" "$out"
  log "built in $(( $(date +%s) - start )) s: $out"
fi
point_current
echo "$out"
