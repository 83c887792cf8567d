#!/usr/bin/env bash
# Boots a guest image under QEMU -M microvm (TCG) and checks that its /init printed
#   microvm-guest-image-ok <release>
# within the deadline. `--build` first builds (or finds in the cache) the image with the
# stand-in init test-init.c as its agent, which proves the image itself; by hand:
#   gcc -static -Os -o /tmp/test-init vm/image/test-init.c
#   vm/image/smoke.sh "$(vm/image/build.sh --agent /tmp/test-init --no-current | tail -n1)"
# Prints what the guest saw of each device (virtio-serial echo with the host, 9p share both
# ways, cgroup2 memory, virtio-net, virtio-rng, vsock), the boot-to-marker and QEMU-exit times.
#
# Usage: smoke.sh IMAGE_DIR|--build [--kernel vmlinux|bzImage] [--acpi on|off] [--bare]
#                 [--verbose] [--timeout S]
#   --kernel   which kernel file of the image (default: vmlinux if there is one)
#   --acpi     the microvm machine's ACPI (default: the manifest's boot.microvm_acpi)
#   --bare     no devices but the serial console (pure boot time)
#   --verbose  no `quiet`, and the whole console log is printed
set -euo pipefail

die() { echo "smoke: error: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: smoke.sh IMAGE_DIR|--build [--kernel vmlinux|bzImage] [--acpi on|off] [--bare] [--verbose] [--timeout S]"
image="$1"; shift
tmp="$(mktemp -d "${TMPDIR:-/tmp}/microvm-smoke.XXXXXX")"
helper_pid=""
cleanup() { [ -z "$helper_pid" ] || kill "$helper_pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$image" = --build ]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  # The same compiler and source give the same bytes, so a second --build finds its image cached.
  gcc -static -Os -o "$tmp/test-init" "$here/test-init.c" || die "cannot compile test-init.c"
  image="$("$here/build.sh" --agent "$tmp/test-init" --no-current | tail -n1)"
fi
kernel="" acpi="" bare=0 quiet=quiet deadline=20
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel="${2:?}"; shift 2 ;;
    --acpi) acpi="${2:?}"; shift 2 ;;
    --bare) bare=1; shift ;;
    --verbose) quiet=""; shift ;;
    --timeout) deadline="${2:?}"; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
# vmlinux when the image has one (it boots fastest), else bzImage (an image of a prebuilt kernel).
[ -n "$kernel" ] || { [ -f "$image/vmlinux" ] && kernel=vmlinux || kernel=bzImage; }
[ -f "$image/manifest.json" ] || die "'$image' is not a built image (no manifest.json): run vm/image/build.sh"
initrd="$image/$(grep -o '"name": "initramfs[^"]*"' "$image/manifest.json" | cut -d'"' -f4)"
if [ ! -f "$image/$kernel" ] || [ ! -f "$initrd" ]; then die "'$image' lacks $kernel or its initramfs"; fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (package qemu-system-x86)"
command -v python3 >/dev/null || die "python3 missing (it plays the host end of virtio-serial)"

# -M microvm has no PIT calibration to fall back on: the guest hangs at "tsc: Unable to
# calibrate against PIT" unless told the TSC rate, which under TCG is the host's.
host_tsc_khz() {
  local mhz
  mhz="$(dmesg 2>/dev/null | grep -oE 'tsc: (Refined TSC clocksource calibration|Detected): [0-9.]+ MHz' |
    tail -n1 | grep -oE '[0-9.]+ MHz' | cut -d' ' -f1 || true)"
  [ -n "$mhz" ] || mhz="$(awk -F': ' '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo)"
  [ -n "$mhz" ] || die "cannot tell the host's TSC rate (no dmesg line, no 'cpu MHz')"
  awk -v m="$mhz" 'BEGIN { printf "%d", m * 1000 }'
}
khz="$(host_tsc_khz)"

# reboot=t: the tiny kernel has no ACPI, so the guest ends the VM by rebooting (triple fault)
# and -no-reboot turns that into QEMU's exit. panic=-1: a panic reboots at once (= exits).
# The built kernel finds its virtio-mmio devices on the command line, which QEMU writes only
# with the machine's ACPI off; a prebuilt (cloud) kernel lacks that option and finds them in the
# ACPI tables instead. The image's manifest says which.
[ -n "$acpi" ] || acpi="$(grep -o '"microvm_acpi": "[a-z]*"' "$image/manifest.json" | cut -d'"' -f4)"
acpi="${acpi:-off}"
cmdline="console=ttyS0 $quiet reboot=t panic=-1 tsc_early_khz=$khz tsc=reliable no_timer_check"
# shellcheck disable=SC2054  # the commas are QEMU's
args=(-M "microvm,acpi=$acpi" -accel tcg -smp 1 -m 128 -nodefaults -no-user-config -no-reboot
      -display none -serial stdio -monitor none
      -kernel "$image/$kernel" -initrd "$initrd" -append "$cmdline")
if [ "$bare" = 0 ]; then
  mkdir -p "$tmp/share"
  echo "written by the host" > "$tmp/share/from-host.txt"
  # shellcheck disable=SC2054
  args+=(-device virtio-serial-device
         -chardev "socket,id=agent,path=$tmp/agent.sock,server=on,wait=off"
         -device virtserialport,chardev=agent,name=agent
         -fsdev "local,id=fs0,path=$tmp/share,security_model=none"
         -device virtio-9p-device,fsdev=fs0,mount_tag=share
         # restrict=on: the guest's network reaches nothing; only the device's presence is checked.
         -netdev user,id=n0,restrict=on -device virtio-net-device,netdev=n0
         -device virtio-rng-device)
  # The host end of the agent channel: connect once QEMU listens, send a line, await the echo.
  # QEMU starts only once the helper runs (python's start-up takes seconds on a loaded host).
  python3 - "$tmp/agent.sock" "$deadline" > "$tmp/echo.txt" 2>&1 <<'EOF' &
import os, socket, sys, time
path, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
open(path + ".ready", "w").close()
while not os.path.exists(path) and time.monotonic() < deadline:
    time.sleep(0.005)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b"ping 4242\n")
s.settimeout(max(0.1, deadline - time.monotonic()))
reply = b""
try:
    while not reply.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        reply += chunk
except socket.timeout:
    pass
print("host: virtio-serial reply %r" % reply.decode(errors="replace").strip())
EOF
  helper_pid=$!
  for _ in $(seq 3000); do [ -e "$tmp/agent.sock.ready" ] && break; sleep 0.01; done
  [ -e "$tmp/agent.sock.ready" ] || die "the virtio-serial helper (python3) did not start in 30 s"
fi

echo "smoke: qemu-system-x86_64 $(printf '%q ' "${args[@]}")" >&2
start=$EPOCHREALTIME marker_at="" marker=""
while IFS= read -r line; do
  line="${line%$'\r'}"
  printf '%s\n' "$line" >> "$tmp/console.log"
  case "$line" in
    microvm-guest-image-ok*) marker_at=$EPOCHREALTIME marker="$line" ;;
  esac
done < <(timeout "$deadline" qemu-system-x86_64 "${args[@]}" < /dev/null 2>&1; echo "qemu-exit $?" >> "$tmp/exit")
end=$EPOCHREALTIME
qemu_status="$(cut -d' ' -f2 "$tmp/exit" 2>/dev/null || echo '?')"
[ -z "$helper_pid" ] || wait "$helper_pid" 2>/dev/null || true
helper_pid=""

[ -n "$quiet" ] || { echo "--- console ---"; cat "$tmp/console.log"; echo "---"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
grep -E '^(test-init|virtio-serial|9p|cgroup2|net|hwrng|vsock):' "$tmp/console.log" | sed 's/^/guest: /' || true
if [ "$bare" = 0 ]; then
  cat "$tmp/echo.txt"
  if [ -f "$tmp/share/from-guest.txt" ]; then
    echo "host: 9p share has from-guest.txt: '$(cat "$tmp/share/from-guest.txt")'"
  else
    echo "host: 9p share has no from-guest.txt"
  fi
fi
if [ -z "$marker" ]; then
  echo "--- console ---"; cat "$tmp/console.log" 2>/dev/null || true; echo "---"
  [ "$qemu_status" = 124 ] && die "no marker within ${deadline}s (QEMU killed by the deadline)"
  die "no marker; QEMU exited with status $qemu_status"
fi
echo "smoke: image $image"
echo "smoke: ok: $marker ($kernel, $(basename "$initrd"), machine acpi=$acpi, tsc_early_khz=$khz)"
echo "smoke: boot to marker $(secs "$start" "$marker_at") s, QEMU exit $(secs "$start" "$end") s (status $qemu_status)"
[ "$qemu_status" = 0 ] || die "QEMU did not exit by itself after the marker (status $qemu_status)"
# What the agent will rely on must have worked, not only booted.
grep -q 'memory.peak present' "$tmp/console.log" || die "no cgroup2 memory.peak in the guest"
if [ "$bare" = 0 ]; then
  grep -q "reply 'pong ping 4242'" "$tmp/echo.txt" || die "no echo over the virtio-serial port 'agent'"
  if grep -q '"shared_dirs_9p": true' "$image/manifest.json"; then
    if [ ! -f "$tmp/share/from-guest.txt" ] || ! grep -q '^9p: mounted' "$tmp/console.log"; then
      die "the 9p share did not work both ways"
    fi
  fi
fi
echo "smoke: passed"
