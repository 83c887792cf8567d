#include "process/prepared_sandbox.hpp"

#include "process/launch_message.hpp"
#include "process/live_sandbox.hpp"

namespace microvm::process {
namespace {

class PreparedProcessRun final : public host::PreparedRun {
  public:
    PreparedProcessRun(std::unique_ptr<LiveSandbox> live, const host::SandboxRequest& shape,
                       std::shared_ptr<host::DeferredTeardown> teardown)
        : PreparedRun(shape), live_(std::move(live)), teardown_(std::move(teardown)) {}

  protected:
    Expected<host::SandboxReport> launch_checked(const host::SandboxRequest& request) override {
        std::unique_ptr<LiveSandbox> live = std::move(live_);
        RTFS_TRY(std::string message, encode_launch(request.argv, request.env));
        live->cgroup->restart_measurements();
        const auto started = std::chrono::steady_clock::now();
        RTFS_CHECK(send_launch(live->pipes.launch_host.get(), message, started + request.timeout));
        live->pipes.launch_host.reset();
        Expected<host::SandboxReport> report = live->supervise(request, started);
        teardown_->dispose(std::move(live));
        return report;
    }

    bool waiting() const override { return live_ && live_->alive(); }
    bool sources_unchanged() const override { return live_ && live_->binds_unchanged(); }

  private:
    std::unique_ptr<LiveSandbox> live_;
    std::shared_ptr<host::DeferredTeardown> teardown_;
};

}  // namespace

std::unique_ptr<host::PreparedRun> make_prepared_run(std::unique_ptr<LiveSandbox> live,
                                                     const host::SandboxRequest& shape,
                                                     std::shared_ptr<host::DeferredTeardown> teardown) {
    return std::make_unique<PreparedProcessRun>(std::move(live), shape, std::move(teardown));
}

}  // namespace microvm::process
