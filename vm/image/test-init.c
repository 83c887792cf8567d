// A stand-in /init that proves a guest image boots and that its devices work, before the real
// guest agent exists. vm/image/smoke.sh builds the image with it (--agent) and boots it.
//
// It prints one line per check on the console (ttyS0) and then the marker
//   microvm-guest-image-ok <uname -r>
// and ends the VM with reboot(RB_AUTOBOOT): the tiny kernel has no ACPI, so RB_POWER_OFF would
// only halt the CPU; with `reboot=t` on the command line and QEMU's -no-reboot (Firecracker:
// `reboot=k`) a reboot makes the VMM exit, which is what the agent must do too.
//
// Build: gcc -static -Os -o test-init test-init.c   (must be static: there is no libc in the image)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int console = 1;

static void say(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  if (write(console, buf, n) < 0) { /* nothing left to report to */ }
}

static int read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  return (int)n;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void mount_or_say(const char *src, const char *dst, const char *type, const char *opts) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, 0, opts) != 0 && errno != EBUSY)
    say("test-init: mount %s on %s: %s", type, dst, strerror(errno));
}

// The agent's channel under QEMU: find the virtio-serial port by its name, answer a line.
static void check_virtio_serial(void) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) { say("virtio-serial: none (/sys/class/virtio-ports absent)"); return; }
  struct dirent *e;
  int found = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[300], name[64] = "";
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    read_file(path, name, sizeof name);
    found = 1;
    char dev[300];
    snprintf(dev, sizeof dev, "/dev/%s", e->d_name);
    struct stat st;
    say("virtio-serial: port %s name=%s dev=%s%s", e->d_name, name, dev,
        stat(dev, &st) == 0 && S_ISCHR(st.st_mode) ? "" : " (device node missing)");
    if (strcmp(name, "agent") != 0) continue;
    // Echo one line: the host (smoke.sh) sends "ping", expects "pong <what it sent>".
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) { say("virtio-serial: open %s: %s", dev, strerror(errno)); continue; }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char line[128];
    ssize_t n = 0;
    if (poll(&p, 1, 5000) == 1 && (n = read(fd, line, sizeof line - 1)) > 0) {
      line[n] = 0;
      line[strcspn(line, "\r\n")] = 0;
      char reply[200];
      snprintf(reply, sizeof reply, "pong %s\n", line);
      if (write(fd, reply, strlen(reply)) > 0)
        say("virtio-serial: echo on %s ok (received '%s')", dev, line);
      else
        say("virtio-serial: write %s: %s", dev, strerror(errno));
    } else {
      say("virtio-serial: nothing received on %s within 5 s", dev);
    }
    close(fd);
  }
  closedir(d);
  if (!found) say("virtio-serial: no ports");
}

// A shared host directory: mount the 9p tag "share", read the host's file, write one back.
static void check_9p(void) {
  mkdir("/mnt", 0755);
  if (mount("share", "/mnt", "9p", 0, "trans=virtio,version=9p2000.L,msize=131072") != 0) {
    say("9p: mount tag 'share' failed: %s", strerror(errno));
    return;
  }
  char text[128] = "";
  if (read_file("/mnt/from-host.txt", text, sizeof text) < 0)
    say("9p: mounted, but /mnt/from-host.txt unreadable: %s", strerror(errno));
  else
    say("9p: mounted tag 'share' on /mnt, read '%s'", text);
  say("9p: write back %s", write_file("/mnt/from-guest.txt", "written by the guest\n") == 0
                              ? "ok" : strerror(errno));
  umount("/mnt");
}

// What the agent needs to report peak memory: cgroup v2 with the memory controller.
static void check_cgroup(void) {
  mount_or_say("cgroup2", "/sys/fs/cgroup", "cgroup2", NULL);
  char ctl[256] = "";
  read_file("/sys/fs/cgroup/cgroup.controllers", ctl, sizeof ctl);
  write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
  mkdir("/sys/fs/cgroup/probe", 0755);
  char peak[64] = "";
  int ok = read_file("/sys/fs/cgroup/probe/memory.peak", peak, sizeof peak) >= 0;
  say("cgroup2: controllers '%s', memory.peak %s", ctl, ok ? "present" : "absent");
  rmdir("/sys/fs/cgroup/probe");
}

static void check_misc(void) {
  DIR *d = opendir("/sys/class/net");
  char nets[256] = "";
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') { strncat(nets, " ", sizeof nets - strlen(nets) - 1);
                               strncat(nets, e->d_name, sizeof nets - strlen(nets) - 1); }
  if (d) closedir(d);
  say("net: interfaces:%s", nets[0] ? nets : " none");
  char rng[64] = "";
  read_file("/sys/class/misc/hw_random/rng_current", rng, sizeof rng);
  say("hwrng: %s", rng[0] ? rng : "none");
  int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  say("vsock: socket(AF_VSOCK) %s", s >= 0 ? "ok (kernel support; needs a vsock device to connect)"
                                           : strerror(errno));
  if (s >= 0) close(s);
}

int main(void) {
  // The kernel gave us /dev/console (from the archive) as fds 0-2; devtmpfs is mounted over
  // /dev here because DEVTMPFS_MOUNT does not apply to an initramfs.
  mount_or_say("devtmpfs", "/dev", "devtmpfs", NULL);
  if (fcntl(1, F_GETFD) < 0) console = open("/dev/console", O_WRONLY | O_CLOEXEC);
  mount_or_say("proc", "/proc", "proc", NULL);
  mount_or_say("sysfs", "/sys", "sysfs", NULL);

  char up[64] = "?";
  read_file("/proc/uptime", up, sizeof up);
  up[strcspn(up, " ")] = 0;
  say("test-init: /init started at guest uptime %s s", up);

  check_virtio_serial();
  check_9p();
  check_cgroup();
  check_misc();

  struct utsname u;
  uname(&u);
  say("microvm-guest-image-ok %s", u.release);
  sync();
  reboot(RB_AUTOBOOT);
  say("test-init: reboot failed: %s", strerror(errno));
  for (;;) pause();
}
