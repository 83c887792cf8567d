// Cancellation of an execution: the caller keeps a CancelSource and hands its token to the
// execution (ExecutionContext::cancel); cancel() ends the run promptly as `killed` (reason
// cancelled), with everything cleaned up. A token can be polled (cancelled()), waited on by a
// poll loop (wait_fd(): readable once cancelled) and chained (a child source is cancelled with
// its parent: a provider's cleanup cancels every execution it runs).
#pragma once

#include <atomic>
#include <memory>

namespace microvm {

class CancelToken {
  public:
    CancelToken() = default;  // never cancelled
    bool cancelled() const;
    // A descriptor that becomes readable once cancelled (for poll loops); -1 for a token that
    // can never be cancelled. Owned by the token's source.
    int wait_fd() const;

  private:
    friend class CancelSource;
    friend const std::atomic<bool>* cancel_flag(const CancelToken& token);
    struct State;
    explicit CancelToken(std::shared_ptr<State> s) : state_(std::move(s)) {}
    std::shared_ptr<State> state_;
};

class CancelSource {
  public:
    CancelSource();
    // A source cancelled whenever parent is (and by its own cancel()).
    static CancelSource child_of(const CancelToken& parent);
    // Also cancelled whenever another is (a source may follow several parents).
    void follow(const CancelToken& parent) const;
    void cancel() const;
    CancelToken token() const { return CancelToken(state_); }
    bool cancelled() const { return token().cancelled(); }

  private:
    explicit CancelSource(std::shared_ptr<CancelToken::State> s) : state_(std::move(s)) {}
    std::shared_ptr<CancelToken::State> state_;
};

// The atomic flag behind a token (nullptr for a token that is never cancelled), for code that
// checks a bool between steps (the RTFS evaluator, the wasm engine). Valid while the token lives.
const std::atomic<bool>* cancel_flag(const CancelToken& token);

}  // namespace microvm
