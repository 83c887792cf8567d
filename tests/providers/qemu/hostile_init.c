// A hostile guest agent: the /init of a test image (vm/image/build.sh --agent) that breaks the
// guest protocol (docs/guest-protocol.md) in one of these ways, chosen at build time (one binary
// per mode, HOSTILE_MODE):
//   garbage    a valid Hello, then an endless stream of junk (an unknown frame type first)
//   oversized  a valid Hello, then the header of a Ready frame far beyond Ready's limit, then junk
//   mute       a valid Hello, a Ready for the Setup, then silence: the Exec is never answered
//   silent     nothing at all: no Hello
// It never exits (pid 1 exiting would end the VM, which is the friendly outcome).
//
// Static, no dependencies: there is no libc in the image.
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HOSTILE_MODE
#error "HOSTILE_MODE must name the mode"
#endif

enum { kHello = 1, kReady = 11 };

static void forever(void) {
  for (;;) pause();
}

static int write_all(int fd, const void* data, size_t n) {
  const char* p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void* data, size_t n) {
  char* p = data;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void put_header(unsigned char* h, uint32_t length, unsigned char type) {
  h[0] = (unsigned char)(length >> 24);
  h[1] = (unsigned char)(length >> 16);
  h[2] = (unsigned char)(length >> 8);
  h[3] = (unsigned char)length;
  h[4] = type;
}

static int send_frame(int fd, unsigned char type, const char* payload) {
  unsigned char h[5];
  put_header(h, (uint32_t)strlen(payload) + 1, type);
  return write_all(fd, h, sizeof h) || write_all(fd, payload, strlen(payload)) ? -1 : 0;
}

// The virtio-serial port named "agent", as the real agent finds it.
static int open_agent_port(void) {
  for (int tries = 0; tries < 1000; ++tries) {
    DIR* d = opendir("/sys/class/virtio-ports");
    struct dirent* e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char path[300], name[64] = "";
      snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
      int nf = open(path, O_RDONLY);
      if (nf < 0) continue;
      ssize_t n = read(nf, name, sizeof name - 1);
      close(nf);
      if (n > 0 && strncmp(name, "agent", 5) == 0 && (name[5] == '\n' || name[5] == 0)) {
        snprintf(path, sizeof path, "/dev/%s", e->d_name);
        closedir(d);
        return open(path, O_RDWR);
      }
    }
    if (d) closedir(d);
    usleep(10000);
  }
  return -1;
}

static void junk_forever(int fd) {
  char junk[4096];
  for (size_t i = 0; i < sizeof junk; ++i) junk[i] = (char)(i * 131 + 7);
  while (write_all(fd, junk, sizeof junk) == 0) {
  }
  forever();
}

int main(void) {
  const char* mode = HOSTILE_MODE;
  if (strcmp(mode, "silent") == 0) forever();

  mkdir("/dev", 0755);
  mkdir("/sys", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  int fd = open_agent_port();
  if (fd < 0) forever();
  if (send_frame(fd, kHello, "{\"protocol\": 2, \"agent\": \"hostile\", \"kinds\": [\"rtfs\", \"program\", \"script\"]}"))
    forever();

  if (strcmp(mode, "garbage") == 0) {
    unsigned char h[5];
    put_header(h, 5, 0xEE);  // a frame type that does not exist
    write_all(fd, h, sizeof h);
    junk_forever(fd);
  }
  if (strcmp(mode, "oversized") == 0) {
    unsigned char h[5];
    put_header(h, 60u << 20, kReady);  // within the frame limit, 1000 times Ready's
    write_all(fd, h, sizeof h);
    junk_forever(fd);
  }
  if (strcmp(mode, "mute") == 0) {
    unsigned char h[5];
    if (read_all(fd, h, sizeof h)) forever();  // the Setup
    uint32_t length = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    char skip[4096];
    for (uint32_t left = length - 1; left > 0;) {
      uint32_t n = left < sizeof skip ? left : sizeof skip;
      if (read_all(fd, skip, n)) forever();
      left -= n;
    }
    send_frame(fd, kReady, "{\"kernel\": \"hostile\"}");
    // Reads the Exec, Stdin and Kill frames and answers none of them.
    while (read(fd, skip, sizeof skip) > 0) {
    }
  }
  forever();
  return 0;
}
