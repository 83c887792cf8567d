#include "host/sigpipe_block.hpp"

#include <pthread.h>
#include <time.h>

namespace microvm::host {
namespace {

sigset_t sigpipe_only() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return set;
}

}  // namespace

SigpipeBlock::SigpipeBlock() {
    const sigset_t set = sigpipe_only();
    pthread_sigmask(SIG_BLOCK, &set, &saved_);
}

SigpipeBlock::~SigpipeBlock() {
    const sigset_t set = sigpipe_only();
    struct timespec zero {};
    while (sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

}  // namespace microvm::host
