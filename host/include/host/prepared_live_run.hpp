// A sandbox built ahead of its run (the process provider's LiveSandbox, gVisor's LiveContainer)
// as the PreparedRun a pool hands out. Live has:
//   Expected<SandboxReport> launch(const SandboxRequest&)  -- runs the request, once
//   bool alive() const                                      -- still waits for its program
//   bool binds_unchanged() const                            -- every bound host file unchanged
// Once launched, the sandbox goes to the teardown thread (deferred_teardown.hpp): its removal
// comes after the result. Destroyed unlaunched, Live's destructor tears it down.
#pragma once

#include <memory>
#include <utility>

#include "host/deferred_teardown.hpp"
#include "host/sandbox.hpp"

namespace microvm::host {

template <class Live>
class PreparedLiveRun final : public PreparedRun {
  public:
    PreparedLiveRun(std::unique_ptr<Live> live, const SandboxRequest& shape,
                    std::shared_ptr<DeferredTeardown> teardown)
        : PreparedRun(shape), live_(std::move(live)), teardown_(std::move(teardown)) {}

  protected:
    Expected<SandboxReport> launch_checked(const SandboxRequest& request) override {
        std::unique_ptr<Live> live = std::move(live_);
        Expected<SandboxReport> report = live->launch(request);
        teardown_->dispose(std::move(live));
        return report;
    }
    bool waiting() const override { return live_ && live_->alive(); }
    bool sources_unchanged() const override { return live_ && live_->binds_unchanged(); }

  private:
    std::unique_ptr<Live> live_;
    std::shared_ptr<DeferredTeardown> teardown_;
};

template <class Live>
std::unique_ptr<PreparedRun> prepared_live_run(std::unique_ptr<Live> live, const SandboxRequest& shape,
                                               std::shared_ptr<DeferredTeardown> teardown) {
    return std::make_unique<PreparedLiveRun<Live>>(std::move(live), shape, std::move(teardown));
}

}  // namespace microvm::host
