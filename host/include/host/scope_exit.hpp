// Runs a function when the scope ends, unless dismissed: the undo step of a builder that may
// return early (a temporary file not yet renamed into place, a reservation not yet taken up).
#pragma once

#include <utility>

namespace microvm::host {

template <typename F>
class ScopeExit {
  public:
    explicit ScopeExit(F f) : f_(std::move(f)) {}
    ~ScopeExit() {
        if (armed_) f_();
    }
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;

    // The step succeeded: nothing to undo.
    void dismiss() { armed_ = false; }

  private:
    F f_;
    bool armed_ = true;
};

}  // namespace microvm::host
