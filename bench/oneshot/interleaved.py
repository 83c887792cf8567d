#!/usr/bin/env python3
"""Two microvm binaries run alternately on the same command, so that load drift hits both alike.

usage: interleaved.py OLD NEW [ROUNDS] [-- ARGS...]   (ARGS default: eval -p wasm '(+ 1 2)')

Each round runs both (the one that goes first alternates), after 5 warm-up runs of each; a run
is timed from posix_spawn to waitpid, stdout to /dev/null. Prints medians and quartiles.
"""
import statistics
import sys

from spawn_timer import timed_run


def main():
    argv = sys.argv[1:]
    extra = ["eval", "-p", "wasm", "(+ 1 2)"]
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    old, new = argv[0], argv[1]
    rounds = int(argv[2]) if len(argv) > 2 else 100
    def once(binary):
        return timed_run([binary] + extra)

    for binary in (old, new):
        for _ in range(5):
            once(binary)
    times = {old: [], new: []}
    for i in range(rounds):
        for binary in ((old, new) if i % 2 == 0 else (new, old)):
            times[binary].append(once(binary))
    for name, binary in (("OLD", old), ("NEW", new)):
        t = times[binary]
        q = statistics.quantiles(t, n=4)
        print(f"{name} median {statistics.median(t):.1f} ms  quartiles {q[0]:.1f}-{q[2]:.1f}  "
              f"min {min(t):.1f}  max {max(t):.1f}  ({rounds} rounds)")


if __name__ == "__main__":
    main()
