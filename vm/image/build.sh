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
#                 [--no-current] [--kernel-image BZIMAGE [--modules DIR]]
#   --agent        static x86-64 ELF that becomes /init (the project's guest agent, VM mode)
#   --busybox      static busybox (default: /bin/busybox of the busybox-static package)
#   --compression  of the initramfs; lz4 (default) boots faster than gzip under TCG
#   --no-current   leave <cache>/current alone (smoke tests with a stand-in agent use it)
#   --kernel-image the fallback: a prebuilt kernel (e.g. Debian's cloud kernel) instead of
#                  building one; the image then has a bzImage and no vmlinux
#   --modules      that kernel's /lib/modules/<release>: its virtio/vsock modules go into the
#                  initramfs and a busybox /init loads them before exec'ing the agent (/agent)
# The cache, and every directory above it, must be owned by root or the invoking user and
# writable by neither group nor others (vm/image/trust.sh); another is refused before any work.
set -euo pipefail
umask 022

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
cache="${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image}"
agent="" busybox=/bin/busybox compression=lz4 set_current=1 kernel_image="" modules="" kdir=""

die() { echo "build-image: error: $*" >&2; exit 1; }
log() { echo "build-image: $*" >&2; }
# shellcheck source=vm/image/trust.sh
. "$here/trust.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --agent) agent="${2:?--agent needs a path}"; shift 2 ;;
    --busybox) busybox="${2:?--busybox needs a path}"; shift 2 ;;
    --cache) cache="${2:?--cache needs a directory}"; shift 2 ;;
    --compression) compression="${2:?--compression needs gzip or lz4}"; shift 2 ;;
    --no-current) set_current=0; shift ;;
    --kernel-image) kernel_image="${2:?--kernel-image needs a path}"; shift 2 ;;
    --modules) modules="${2:?--modules needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$self"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
use_trusted_cache "$cache"
# The private directory below holds the copies of the inputs: $TMPDIR must be ours too (a
# sticky directory such as /tmp is fine: no one else can rename our entry there).
tmpbase="$(trusted_real_path "the temporary directory (TMPDIR)" "${TMPDIR:-/tmp}" 1)" || exit 1
[ -n "$agent" ] || die "--agent PATH is required (the static guest agent that becomes /init)"
case "$compression" in
  gzip) initrd=initramfs.cpio.gz; compress=(gzip -n -9) ;;
  # The kernel reads only lz4's legacy frame format (-l).
  lz4) initrd=initramfs.cpio.lz4; compress=(lz4 -l -9 -q -c) ;;
  *) die "--compression must be gzip or lz4, not '$compression'" ;;
esac
command -v readelf >/dev/null || die "readelf missing (package binutils; run scripts/setup-deps.sh)"
command -v python3 >/dev/null || die "python3 missing (it writes the cpio archive; run scripts/setup-deps.sh)"
[ -z "$modules" ] || [ -n "$kernel_image" ] || die "--modules goes with --kernel-image"
command -v "${compress[0]}" >/dev/null || die "${compress[0]} missing (run scripts/setup-deps.sh)"

# Every input that is hashed is first copied into this private directory, and only the copy is
# judged, hashed and put into the image: a file swapped at its path after the hash (another
# --agent) would otherwise make an image whose manifest names other bytes.
tmp="$(mktemp -d "$tmpbase/microvm-image.XXXXXX")"
stage="" aside=""
# On any exit (an error; a signal exits 130) nothing of this build's is left in the cache but an
# image. Between the two renames of the fallback below (aside and stage both set), $out is missing
# and the new image, whole in its stage, takes its place before the old one, aside, is removed
# (removing both left no image at all). A SIGKILL there leaves $out missing: the next run builds it.
finish() {
  if [ -n "$aside" ] && [ -n "$stage" ] && [ -f "$stage/manifest.json" ] && [ ! -e "$out" ] && [ ! -L "$out" ]; then
    mv -T "$stage" "$out" && stage=""
  fi
  rm -rf "$tmp" ${stage:+"$stage"} ${aside:+"$aside"}
}
trap finish EXIT
trap 'exit 130' INT TERM HUP
mkdir "$tmp/in" "$tmp/in/modules"
# The archive's list is whitespace-separated: paths with blanks cannot be named in it.
[[ ! "$tmp" =~ [[:space:]] ]] || die "path '$tmp' contains blanks, which the initramfs list cannot hold"
copy_input() {  # given copy
  cp -- "$1" "$2" || die "cannot copy '$1'"
}

# There is no libc or loader in the image: a binary with an ELF interpreter could not start.
require_static() {  # what given copy (the given path for messages, the copy judged)
  local what="$1" given="$2" path="$3" header
  if [ ! -f "$path" ] || [ ! -x "$path" ]; then die "$what '$given' is not an executable file"; fi
  header="$(readelf -h "$path" 2>/dev/null)" || die "$what '$given' is not an ELF file"
  grep -q 'Machine:.*X86-64' <<<"$header" || die "$what '$given' is not an x86-64 ELF"
  if readelf -lW "$path" | grep -q 'INTERP'; then
    die "$what '$given' is dynamically linked (has PT_INTERP: $(readelf -p .interp "$path" 2>/dev/null |
      grep -o '/[^ ]*' | head -n1)); the guest has no loader: link it statically"
  fi
}
if [ ! -f "$agent" ] || [ ! -x "$agent" ]; then die "agent '$agent' is not an executable file"; fi
copy_input "$agent" "$tmp/in/agent"
require_static "agent" "$agent" "$tmp/in/agent"
[ -f "$busybox" ] || die "busybox '$busybox' missing: install busybox-static (scripts/setup-deps.sh)"
[ -x "$busybox" ] || die "busybox '$busybox' is not an executable file"
copy_input "$busybox" "$tmp/in/busybox"
require_static "busybox" "$busybox" "$tmp/in/busybox"
busybox_version="$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"

# Virtio drivers the agent needs, for a prebuilt kernel that has them as modules.
wanted_modules=(virtio_mmio virtio_console virtio_net virtio_blk virtio_rng vsock vmw_vsock_virtio_transport)
module_order=()
resolve_modules() {  # fills module_order: copies of the wanted modules and their dependencies, deps first
  local -A file=() seen=()
  local f n
  while IFS= read -r -d '' f; do n="${f##*/}"; n="${n%.ko}"; file["${n//-/_}"]="$f"; done \
    < <(find "$modules/kernel" -name '*.ko' -print0 | LC_ALL=C sort -z)
  add() {
    local m="$1" dep n copy
    [ -z "${seen[$m]:-}" ] || return 0
    seen[$m]=1
    if [ -z "${file[$m]:-}" ]; then
      grep -qE "/${m//_/[-_]}\.ko$" "$tmp/in/modules.builtin" && return 0
      die "module $m is neither in $modules nor built into the kernel"
    fi
    # Copied before its dependencies are read: the bytes that decide the list are those packed.
    n="${file[$m]##*/}"
    copy="$tmp/in/modules/$n"
    [[ ! "$n" =~ [[:space:]] ]] || die "module '${file[$m]}' has blanks in its name, which the initramfs list cannot hold"
    [ ! -e "$copy" ] || die "two modules named $n: ${file[$m]} and another"
    copy_input "${file[$m]}" "$copy"
    for dep in $(readelf -p .modinfo "$copy" | sed -n 's/.*depends=//p' | tr ',' ' '); do
      add "$dep"
    done
    module_order+=("$copy")
  }
  for n in "${wanted_modules[@]}"; do add "$n"; done
}

if [ -n "$kernel_image" ]; then
  # The fallback: no kernel build. A bzImage has "HdrS" at offset 0x202.
  [ -f "$kernel_image" ] || die "--kernel-image '$kernel_image' is not a bzImage"
  copy_input "$kernel_image" "$tmp/in/bzImage"
  if [ "$(dd if="$tmp/in/bzImage" bs=1 skip=514 count=4 2>/dev/null)" != HdrS ]; then
    die "--kernel-image '$kernel_image' is not a bzImage"
  fi
  KERNEL_RELEASE=unknown boot_acpi=on boot_9p=false
  if [ -n "$modules" ]; then
    [ -f "$modules/modules.builtin" ] || die "--modules '$modules' is not a /lib/modules/<release> directory"
    KERNEL_RELEASE="$(basename "$(realpath "$modules")")"
    # The lists of built-in modules decide what is packed and how the image boots: read and
    # hashed as copies, like the modules.
    copy_input "$modules/modules.builtin" "$tmp/in/modules.builtin"
    if [ -e "$modules/modules.builtin.modinfo" ]; then
      copy_input "$modules/modules.builtin.modinfo" "$tmp/in/modules.builtin.modinfo"
    else
      : > "$tmp/in/modules.builtin.modinfo"
    fi
    resolve_modules
    # Does virtio_mmio take devices from the command line (VIRTIO_MMIO_CMDLINE_DEVICES)? Only
    # then may the microvm machine run without ACPI; otherwise the devices are in ACPI tables.
    mmio="$(printf '%s\n' "${module_order[@]}" | grep '/virtio_mmio\.ko$' || true)"
    if { [ -n "$mmio" ] && readelf -p .modinfo "$mmio" | grep -q 'parm=device:'; } ||
       grep -qa 'virtio_mmio\.parm=device:' "$tmp/in/modules.builtin.modinfo"; then
      boot_acpi=off
    fi
    # 9p is usable only built in (the image loads no 9p modules).
    if grep -q '/9p\.ko$' "$tmp/in/modules.builtin" && grep -q '/9pnet_virtio\.ko$' "$tmp/in/modules.builtin"; then
      boot_9p=true
    fi
  else
    log "no --modules: assuming the kernel finds its devices in ACPI tables and has no 9p"
  fi
  KERNEL_KEY="$( { sha256sum < "$tmp/in/bzImage"; for f in "${module_order[@]}"; do sha256sum < "$f"; done
    if [ -n "$modules" ]; then
      echo "release $KERNEL_RELEASE"
      sha256sum < "$tmp/in/modules.builtin"; sha256sum < "$tmp/in/modules.builtin.modinfo"
    fi; } | sha256sum | cut -c1-32)"
  KERNEL_SOURCE="prebuilt $(realpath "$kernel_image")"  # + its package, once building
  KERNEL_COMPILER=unknown KERNEL_BUILD_SECONDS=0
else
  # The kernel first: its own cache makes this a no-op once built.
  kdir="$("$here/build-kernel.sh" --cache "$cache" | tail -n1)"
  boot_acpi=off boot_9p=true  # kernel.config: VIRTIO_MMIO_CMDLINE_DEVICES, no ACPI, 9P_FS
  [[ "$kdir" =~ ^"$cache"/kernels/([0-9a-f]{32})$ ]] || die "build-kernel.sh named '$kdir', not a kernel of $cache"
  kernel_dir_key="${BASH_REMATCH[1]}"
  trusted_real_path "the kernel's kernel.env" "$kdir/kernel.env" >/dev/null || exit 1
  # Read, never sourced: only the known keys, each of its form.
  read_kernel_env "$kdir/kernel.env" "$kernel_dir_key" || die "$kernel_env_fault"
fi

agent_sha="$(sha256sum < "$tmp/in/agent" | cut -d' ' -f1)"
busybox_sha="$(sha256sum < "$tmp/in/busybox" | cut -d' ' -f1)"
key="$( {
  echo "kernel $KERNEL_KEY"
  echo "script $(sha256sum < "$self") $(sha256sum < "$here/mkcpio.py")"
  echo "agent $agent_sha"
  echo "busybox $busybox_sha"
  echo "compression $compression"
} | sha256sum | cut -c1-32)"
out="$cache/$key"

# Points `current` at $out; pointed=0 (current left alone) when $out is no whole image once the
# lock is held: it was found whole before, and another build's prune_images, which removes images
# under the same lock, may have removed it since. (Sets a variable rather than returning 1: the
# caller would test it in a condition, where set -e does not apply inside.)
point_current() {
  pointed=1
  [ "$set_current" = 1 ] || return 0
  # Every writer of `current` holds this lock while it switches: the sweep then sees no link of
  # a live writer, in whatever pid namespace it runs.
  take_lock 8 "$cache/.current.lock"
  if [ -n "$(image_fault "$out")" ]; then
    pointed=0
    exec 8>&-
    return 0
  fi
  sweep_current_links "$cache"
  ln -sfn "$key" "$cache/.current.$$"
  mv -T "$cache/.current.$$" "$cache/current"
  exec 8>&-
}

# Why the image directory is not a complete image of this key, or nothing: its manifest (written
# last) must be of this key and every file it names there with the size and SHA-256 it records,
# as the runtime will check before a boot (a file gone was "cached" for good, and refused there).
image_fault() {  # dir
  [ -e "$1" ] || [ -L "$1" ] || { echo "not built"; return; }
  python3 - "$1" "$key" <<'PY'
import hashlib, json, os, stat, sys
image, key = sys.argv[1], sys.argv[2]
try:
    with open(os.path.join(image, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("key") != key:
        sys.exit(print(f"its manifest is of key {manifest.get('key')!r}"))
    files = manifest["files"]
    named = [("vmlinux", files["vmlinux"]), ("bzImage", files["bzImage"]),
             (files["initramfs"]["name"], files["initramfs"]["file"])]
    for name, entry in named:
        if entry is None and name == "vmlinux":
            continue
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            sys.exit(print(f"its manifest names {name!r}"))
        path = os.path.join(image, name)
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size != entry["size"]:
            sys.exit(print(f"{name} has {st.st_size} bytes, the manifest says {entry['size']}"))
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry["sha256"]:
            sys.exit(print(f"{name} is not the file its manifest names (SHA-256)"))
except FileNotFoundError as e:
    print(f"{os.path.basename(e.filename)} is missing")
except (OSError, ValueError, KeyError, TypeError) as e:
    print(f"its manifest is unreadable ({e})")
PY
}

if [ -z "$(image_fault "$out")" ]; then
  point_current
  if [ "$pointed" = 1 ]; then
    log "cached: $out (same kernel, agent, busybox and script)"
    echo "$out"
    exit 0
  fi
  log "$out was removed (another build's prune) before current could name it: building it again"
fi
take_lock 9 "$cache/.$key.lock"
fault="$(image_fault "$out")"
if [ -n "$fault" ]; then
  # What is there is no image of this key (a file gone or changed, no manifest). It stays until
  # the new image is whole and takes its place (below): `current` may name it and a running VM
  # may have its files open.
  if [ -e "$out" ] || [ -L "$out" ]; then
    log "$out is incomplete ($fault): building it again, to take its place"
  fi
  sweep_stages "$cache" "$key"
  start=$(date +%s)
  stage="$cache/.$key.tmp.$$"
  log "building image $key (agent $agent, busybox $busybox_version, $compression)"
  if [ -n "$kernel_image" ]; then  # dpkg -S reads every package's file list: only when building
    owner="$(dpkg -S "$(realpath "$kernel_image")" 2>/dev/null | cut -d: -f1 || true)"
    KERNEL_SOURCE+="${owner:+ (package $owner $(dpkg-query -W -f='${Version}' "$owner"))}"
  fi

  # What the archive is made of. mkcpio.py writes every mtime as 0, so it depends only on
  # the list below and the files' bytes.
  mkdir -p "$tmp/etc"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    > "$tmp/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$tmp/etc/group"
  printf '%s\n' '127.0.0.1 localhost' > "$tmp/etc/hosts"
  if [ ${#module_order[@]} -gt 0 ]; then
    # The prebuilt kernel's virtio drivers are modules: a busybox /init loads them, passing the
    # virtio_mmio.device= entries of the command line (only modprobe would apply them), then
    # becomes the agent (still pid 1).
    {
      cat <<'INIT'
#!/bin/sh
# Made by vm/image/build.sh: load the virtio modules, then become the agent.
PATH=/bin
mount -t proc proc /proc
devices=""
for w in $(cat /proc/cmdline); do
  case "$w" in virtio_mmio.device=*) devices="$devices ${w#virtio_mmio.}" ;; esac
done
umount /proc
INIT
      for f in "${module_order[@]}"; do
        n="$(basename "$f")"
        # shellcheck disable=SC2016  # $devices is the generated script's variable
        if [ "$n" = virtio_mmio.ko ]; then args=' $devices'; else args=''; fi
        echo "insmod /lib/modules/$n$args || echo \"init: insmod $n failed\" >&2"
      done
      echo 'exec /agent "$@"'
    } > "$tmp/init.sh"
  fi

  {
    # /dev/console must be in the archive: the kernel opens it for /init's stdin/out/err
    # before anything can mount devtmpfs (DEVTMPFS_MOUNT does not apply to an initramfs).
    for d in bin dev etc mnt proc root run sys usr; do echo "dir /$d 0755 0 0"; done
    echo "dir /tmp 1777 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    if [ ${#module_order[@]} -gt 0 ]; then
      echo "file /init $tmp/init.sh 0755 0 0"
      echo "file /agent $tmp/in/agent 0755 0 0"
      echo "dir /lib 0755 0 0"
      echo "dir /lib/modules 0755 0 0"
      for f in "${module_order[@]}"; do echo "file /lib/modules/$(basename "$f") $f 0644 0 0"; done
    else
      echo "file /init $tmp/in/agent 0755 0 0"
    fi
    echo "file /bin/busybox $tmp/in/busybox 0755 0 0"
    # Every applet under /bin; /sbin and /usr/{bin,sbin} lead there too, so `#!/usr/bin/env sh`
    # and `#!/bin/sh` both work.
    "$tmp/in/busybox" --list | LC_ALL=C sort -u | grep -vx busybox | while read -r applet; do
      echo "slink /bin/$applet busybox 0777 0 0"
    done
    echo "slink /sbin bin 0777 0 0"
    echo "slink /usr/bin ../bin 0777 0 0"
    echo "slink /usr/sbin ../bin 0777 0 0"
    for f in passwd group hosts; do echo "file /etc/$f $tmp/etc/$f 0644 0 0"; done
  } > "$tmp/initramfs.list"

  mkdir -p "$stage"
  python3 "$here/mkcpio.py" "$tmp/initramfs.list" > "$tmp/initramfs.cpio"
  "${compress[@]}" < "$tmp/initramfs.cpio" > "$stage/$initrd"
  if [ -n "$kernel_image" ]; then
    cp "$tmp/in/bzImage" "$stage/bzImage"
  else
    cp "$kdir/vmlinux" "$kdir/bzImage" "$stage/"
  fi

  file_json() {  # name -> {"size":N,"sha256":"..."}
    printf '{"size": %d, "sha256": "%s"}' "$(stat -c %s "$stage/$1")" \
      "$(sha256sum < "$stage/$1" | cut -d' ' -f1)"
  }
  sha_or_null() { if [ -n "$1" ]; then printf '"%s"' "$(sha256sum < "$1" | cut -d' ' -f1)"; else echo null; fi; }
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
    "config_fragment_sha256": $(sha_or_null "${kdir:+$here/kernel.config}"),
    "build_script_sha256": $(sha_or_null "${kdir:+$here/build-kernel.sh}"),
    "modules": [$(for f in "${module_order[@]}"; do printf '%s"%s"' "${sep:-}" "$(basename "$f" .ko)"; sep=", "; done)]
  },
  "inputs": {
    "agent": {"path": $(json_str "$(realpath "$agent")"), "sha256": "$agent_sha"},
    "busybox": {"path": $(json_str "$(realpath "$busybox")"), "package": "busybox-static $busybox_version", "sha256": "$busybox_sha"},
    "build_script_sha256": "$(sha256sum < "$self" | cut -d' ' -f1)",
    "cpio_writer_sha256": "$(sha256sum < "$here/mkcpio.py" | cut -d' ' -f1)",
    "compression": "$compression"
  },
  "boot": {
    "kernel": "$([ -f "$stage/vmlinux" ] && echo vmlinux || echo bzImage)",
    "microvm_acpi": "$boot_acpi",
    "shared_dirs_9p": $boot_9p
  },
  "files": {
    "vmlinux": $([ -f "$stage/vmlinux" ] && file_json vmlinux || echo null),
    "bzImage": $(file_json bzImage),
    "initramfs": {"name": "$initrd", "uncompressed_size": $(stat -c %s "$tmp/initramfs.cpio"), "file": $(file_json "$initrd")}
  }
}
EOF
  mv "$stage/manifest.json.tmp" "$stage/manifest.json"  # written last: its presence = complete
  if [ -e "$out" ] || [ -L "$out" ]; then
    # The incomplete one and the new image trade names in one rename (RENAME_EXCHANGE): $out, and
    # `current` with it, never names nothing or half an image, and the old files are removed only
    # once nothing names them (a VM that has them open keeps them).
    rc=0
    python3 - "$stage" "$out" <<'PY' || rc=$?
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
if libc.renameat2(AT_FDCWD, os.fsencode(sys.argv[1]), AT_FDCWD, os.fsencode(sys.argv[2]), RENAME_EXCHANGE) != 0:
    e = ctypes.get_errno()
    print(f"build-image: renameat2 RENAME_EXCHANGE: {os.strerror(e)}", file=sys.stderr)
    # EXDEV: overlayfs will not exchange a directory of a lower layer (without redirect_dir).
    sys.exit(2 if e in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV) else 1)
PY
    if [ "$rc" = 0 ]; then
      aside="$stage" stage=""
    elif [ "$rc" = 2 ]; then
      # A file system without the exchange (or overlayfs, for a directory of a lower layer): two
      # renames, still removing nothing in place; $out is missing between them, and finish puts
      # the new image there if this build dies then. (The aside name is a stage's: sweep_stages
      # removes it after a SIGKILL.)
      log "the cache's file system cannot exchange $out and the new image in one rename: two renames"
      aside="$cache/.$key.tmp.$$.old"
      mv -T "$out" "$aside"
      mv -T "$stage" "$out"
      stage=""
    else
      die "cannot put the new image in the place of the incomplete $out"
    fi
    rm -rf -- "$aside"
    aside=""
  else
    mv -T "$stage" "$out"
  fi
  log "built in $(( $(date +%s) - start )) s: $out"
fi
point_current
[ "$pointed" = 1 ] || die "$out was removed (another build's prune) before current could name it: run again"

# Every new agent build makes a new image (about 20 MB): old ones go, so that the cache does not
# grow without bound. Removed: images beyond the 8 newest, and any older than 14 days; never
# `current`'s or this one. A VM running from a removed image keeps its open files; only image directories (32 hex
# digits with a manifest) are ever touched. Under .current.lock: `current` cannot be switched to
# an image while it is being removed (point_current checks, under the lock, that its image is
# still whole). The key's lock file stays: another build of that key may have it open, waiting,
# and would lock the removed file while a third locks a new one at the path (an empty file of a
# few bytes per key is kept instead).
prune_images() {
  local keep_current="" n=0 d name
  take_lock 8 "$cache/.current.lock"
  keep_current="$(readlink "$cache/current" 2>/dev/null || true)"
  # shellcheck disable=SC2012  # names are 32 hex digits: ls -t is safe here
  for d in $(ls -1dt "$cache"/[0-9a-f]* 2>/dev/null); do
    name="$(basename "$d")"
    [[ "$name" =~ ^[0-9a-f]{32}$ ]] && [ -f "$d/manifest.json" ] || continue
    n=$((n + 1))
    [ "$name" = "$key" ] || [ "$name" = "$keep_current" ] && continue
    [ "$n" -gt 8 ] || [ -n "$(find "$d" -maxdepth 0 -mtime +14)" ] || continue
    rm -rf "$d"
  done
  exec 8>&-
}
prune_images
echo "$out"
