// What pid 1 of a sandbox's pid namespace does once its program runs, for the two inits that
// copy the host and never exec (the process provider's, host::ChildProcess's own): reap until the
// program ends, then kill and reap whatever it left. Async-signal-safe: both run in a child of a
// multi-threaded host.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>

namespace microvm::host {

// Reaps every process that ends up this one's until `program` ends; its wait status (0 should
// waitpid fail otherwise, which only a program already reaped can make it).
inline int reap_until(pid_t program) {
    for (;;) {
        int status = 0;
        const pid_t got = ::waitpid(-1, &status, 0);
        if (got == program) return status;
        if (got < 0 && errno != EINTR) return 0;
    }
}

// Kills every other process of the namespace this process is the init of (kill(-1) reaches them
// all from there) and reaps them, so that their usage is this process's children's too (the
// kernel reaps, unaccounted, what a dying namespace leaves).
inline void kill_and_reap_namespace() {
    ::kill(-1, SIGKILL);
    for (;;) {
        if (::waitpid(-1, nullptr, 0) < 0 && errno != EINTR) return;  // ECHILD: none left
    }
}

}  // namespace microvm::host
