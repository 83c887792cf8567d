#include "interrupt.hpp"

#include <pthread.h>
#include <unistd.h>

namespace microvm::cli {

InterruptCanceller::InterruptCanceller(CancelSource source) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGHUP);  // the terminal went away: the sandbox is torn down all the same
    sigaddset(&signals_, SIGUSR2);  // our own: the waiter's stop
    pthread_sigmask(SIG_BLOCK, &signals_, &saved_);
    // The waiter owns copies of what it uses: it may outlive this object (see the destructor).
    waiter_ = std::thread([signals = signals_, source = std::move(source)] {
        int sig = 0;
        bool cancelled = false;
        while (sigwait(&signals, &sig) == 0) {
            if (sig == SIGUSR2) return;
            // A second SIGINT/SIGTERM means the user (or a supervisor) will not wait for the
            // cancellation to finish: end now, as a signal would have without this object.
            // What the run leaves behind is what a SIGKILL would, and is reclaimed the same way.
            if (cancelled && (sig == SIGINT || sig == SIGTERM)) {
                static const char msg[] = "microvm: second interrupt, exiting without cleanup\n";
                (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
                ::_exit(128 + sig);
            }
            cancelled = true;
            source.cancel();
        }
    });
}

InterruptCanceller::~InterruptCanceller() {
    // The stop is sent to the waiter itself and is never taken by another thread; the CLI does
    // not wait for the waiter to be scheduled and end (on a loaded machine that wait was a
    // scheduling delay at the end of every run): it ends on its own, or with the process.
    pthread_kill(waiter_.native_handle(), SIGUSR2);
    waiter_.detach();
    // A SIGUSR2 sent by someone else meanwhile is consumed here, never delivered unblocked.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGUSR2);
    struct timespec zero {};
    while (sigtimedwait(&stop, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

}  // namespace microvm::cli
