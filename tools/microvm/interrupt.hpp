// Ctrl-C (SIGINT) and SIGTERM cancel the running execution instead of killing the CLI: the
// sandbox ends as killed (cancelled), everything is cleaned up, and the CLI exits 130. The
// signals are blocked in every thread and taken by one thread of its own (sigwait), so nothing
// runs in a signal handler. A second SIGINT or SIGTERM ends the CLI at once (exit 128 + signal,
// without waiting for the cancellation's cleanup), as many CLIs do: an impatient user or a
// supervisor's follow-up TERM is never ignored. Leftovers are then those of a SIGKILL.
#pragma once

#include <signal.h>

#include <thread>

#include "microvm/cancel.hpp"

namespace microvm::cli {

class InterruptCanceller {
  public:
    // Call before any other thread exists (they inherit the blocked mask).
    explicit InterruptCanceller(CancelSource source);
    ~InterruptCanceller();
    InterruptCanceller(const InterruptCanceller&) = delete;
    InterruptCanceller& operator=(const InterruptCanceller&) = delete;

  private:
    sigset_t signals_{};
    sigset_t saved_{};
    std::thread waiter_;
};

}  // namespace microvm::cli
