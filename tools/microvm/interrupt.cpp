#include "interrupt.hpp"

#include <pthread.h>

namespace microvm::cli {

InterruptCanceller::InterruptCanceller(CancelSource source) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR2);  // our own: the waiter's stop
    pthread_sigmask(SIG_BLOCK, &signals_, &saved_);
    waiter_ = std::thread([this, source = std::move(source)] {
        int sig = 0;
        while (sigwait(&signals_, &sig) == 0) {
            if (sig == SIGUSR2) return;
            source.cancel();
        }
    });
}

InterruptCanceller::~InterruptCanceller() {
    pthread_kill(waiter_.native_handle(), SIGUSR2);
    waiter_.join();
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
