"""One whole-process run timed from posix_spawn to waitpid, stdout to /dev/null: the one way the
one-shot scripts of bench/oneshot time a command."""
import os
import sys
import time

_DEVNULL = os.open(os.devnull, os.O_WRONLY)
_ACTIONS = [(os.POSIX_SPAWN_DUP2, _DEVNULL, 1)]


def timed_run(argv):
    """Milliseconds from the spawn of argv to its reaping; exits the script if argv fails."""
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=_ACTIONS)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed")
    return (time.perf_counter() - started) * 1e3
