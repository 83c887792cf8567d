#!/usr/bin/env python3
"""The one-shot `microvm run -p process --fs ro -- /bin/true` with microvmd as its resident helper,
against bwrap and against the CLI on its own, interleaved.

usage: resident.py ROUNDS BUILD_DIR

Starts a microvmd of BUILD_DIR on a Unix socket in a fresh private directory of BUILD_DIR, with a sandbox pool
for the command (`[service.sandbox_pools.true]`: process, `/bin/true`, fs ro, size 4). Each
round runs, in an order that alternates, `bwrap --unshare-all --die-with-parent --ro-bind / /
/bin/true`, `microvm --daemon unix:SOCKET run -p process --fs ro -- /bin/true` and the same
without `--daemon`; a run is timed from posix_spawn to waitpid, stdout to /dev/null. Before each
timed run the script waits (untimed) until the pool is full again and 5 ms more, so that no
refill runs beside a timed run. Prints medians, quartiles and ratios to bwrap's median, with the
load average before and after, and the pool's hits and misses (every pooled run must be a hit).
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from spawn_timer import timed_run

ARGS = ["run", "-p", "process", "--fs", "ro", "--", "/bin/true"]
BWRAP = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"]
POOL = 4


def metric(sock_path, name):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.decode(errors="replace").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rounds, build = int(sys.argv[1]), sys.argv[2]
    cli = os.path.join(build, "tools/microvm/microvm")
    daemon = os.path.join(build, "tools/microvmd/microvmd")
    bwrap = [next((os.path.join(d, "bwrap") for d in os.environ["PATH"].split(":")
                   if os.access(os.path.join(d, "bwrap"), os.X_OK)), "bwrap")] + BWRAP[1:]
    # In the build directory: microvmd refuses a settings file that others could change (/tmp).
    work = tempfile.mkdtemp(prefix="resident-bench-", dir=os.path.abspath(build))
    sock = os.path.join(work, "d.sock")
    settings = os.path.join(work, "settings.toml")
    with open(settings, "w") as f:
        f.write(f'[service.sandbox_pools.true]\nprovider = "process"\nsize = {POOL}\n'
                'run = ["/bin/true"]\nfs_policy = "ro"\n')
    log = open(os.path.join(work, "microvmd.log"), "w")
    d = subprocess.Popen([daemon, "--listen", "unix:" + sock, "--state-dir", os.path.join(work, "state"),
                          "--config", settings], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    ready = 'microvmd_pool_ready{pool="true"}'
    try:
        for _ in range(200):
            if os.path.exists(sock) and metric(sock, ready) >= POOL:
                break
            time.sleep(0.05)
        else:
            sys.exit("resident.py: microvmd's pool did not fill (see " + log.name + ")")
        def settle():
            for _ in range(400):
                if metric(sock, ready) >= POOL:
                    break
                time.sleep(0.005)
            time.sleep(0.005)

        def once(argv):
            settle()
            return timed_run(argv)

        rows = {
            "bwrap": bwrap,
            "microvm --daemon (resident, pooled)": [cli, "--daemon", "unix:" + sock] + ARGS,
            "microvm (one process)": [cli] + ARGS,
        }
        for argv in rows.values():
            once(argv)  # boot records, page cache
        hits0 = metric(sock, 'microvmd_pool_hits_total{pool="true"}')
        load = open("/proc/loadavg").read().split()[:3]
        times = {name: [] for name in rows}
        for i in range(rounds):
            for name in (list(rows) if i % 2 == 0 else list(rows)[::-1]):
                times[name].append(once(rows[name]))
        base = statistics.median(times["bwrap"])
        for name, t in times.items():
            q = statistics.quantiles(t, n=4)
            print(f"{name}: median {statistics.median(t):.2f} ms  quartiles {q[0]:.2f}-{q[2]:.2f}  "
                  f"ratio to bwrap {statistics.median(t) / base:.2f}x  (n={len(t)})")
        hits = metric(sock, 'microvmd_pool_hits_total{pool="true"}') - hits0
        misses = metric(sock, 'microvmd_pool_misses_total{pool="true"}')
        print(f"pool hits {hits:.0f} of {rounds}, misses {misses:.0f}")
        print("load average", " ".join(load), "->", " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        d.terminate()
        d.wait(timeout=30)
        if os.environ.get("KEEP") is None:
            subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
