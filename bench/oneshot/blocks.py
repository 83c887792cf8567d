#!/usr/bin/env python3
"""Two or more microvm binaries against bwrap, one-shot `run -p process --fs ro -- /bin/true`.

usage: blocks.py ROUNDS BINARY [BINARY...]

interleaved.py alternates two microvm binaries run by run, but each binary keeps its boot records
(compiled seccomp programs, the namespace probe) under the same names keyed by its own identity,
so two binaries run in turn overwrite each other's and every run pays the compile and the probe
again. Here each round runs every binary in a block (the order alternates between rounds): one
discarded run that writes its records, then two timed runs, each followed by a timed bwrap run
(`bwrap --unshare-all --die-with-parent --ro-bind / / /bin/true`). A run is timed from
posix_spawn to waitpid, stdout to /dev/null. Prints medians, quartiles and the ratio to bwrap's
median, with the load average before and after.
"""
import os
import statistics
import sys

from spawn_timer import timed_run

ARGS = ["run", "-p", "process", "--fs", "ro", "--", "/bin/true"]
BWRAP = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds, binaries = int(sys.argv[1]), sys.argv[2:]
    bwrap = [next((os.path.join(d, "bwrap") for d in os.environ["PATH"].split(":")
                   if os.access(os.path.join(d, "bwrap"), os.X_OK)), "bwrap")] + BWRAP[1:]
    once = timed_run
    load = open("/proc/loadavg").read().split()[:3]
    times = {b: [] for b in binaries}
    peer = []
    for i in range(rounds):
        for b in (binaries if i % 2 == 0 else binaries[::-1]):
            once([b] + ARGS)  # writes this binary's boot records
            for _ in range(2):
                times[b].append(once([b] + ARGS))
                peer.append(once(bwrap))
    base = statistics.median(peer)
    print(f"bwrap median {base:.2f} ms (n={len(peer)})")
    for b in binaries:
        t = times[b]
        q = statistics.quantiles(t, n=4)
        print(f"{b}: median {statistics.median(t):.2f} ms  quartiles {q[0]:.2f}-{q[2]:.2f}  "
              f"ratio to bwrap {statistics.median(t) / base:.2f}x  (n={len(t)})")
    print("load average", " ".join(load), "->", " ".join(open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()
