// A write to a pipe or socket whose reader is gone raises SIGPIPE, whose default action kills
// the whole process (the CLI, microvmd) with the sandbox's cleanup undone. While one of these
// lives, SIGPIPE is blocked on the calling thread (the write fails with EPIPE instead); at its
// end any that became pending is discarded and the thread's mask restored.
#pragma once

#include <signal.h>

namespace microvm::host {

class SigpipeBlock {
  public:
    SigpipeBlock();
    ~SigpipeBlock();
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  private:
    sigset_t saved_;
};

}  // namespace microvm::host
