#include "gvisor/prepared_run.hpp"

#include "gvisor/launch_message.hpp"

namespace microvm::gvisor {
namespace {

class PreparedGvisorRun final : public host::PreparedRun {
  public:
    PreparedGvisorRun(std::unique_ptr<LiveContainer> container, const host::SandboxRequest& shape,
                      std::shared_ptr<host::DeferredTeardown> teardown)
        : PreparedRun(shape), container_(std::move(container)), teardown_(std::move(teardown)) {}

    Expected<host::SandboxReport> launch(const host::SandboxRequest& request) override {
        if (!container_) return fail(Failure::Kind::SetupError, "this sandbox was already used");
        if (!fits(request)) {
            return fail(Failure::Kind::SetupError,
                        "the request is not of the shape this sandbox was built for");
        }
        // A source replaced since the preparation would run old in this sandbox and new in a
        // fresh one: refused, whoever calls (SandboxProvider's fits() already runs it fresh).
        if (!container_->binds_unchanged()) {
            return fail(Failure::Kind::SetupError,
                        "a host file bound into this sandbox was replaced since it was built");
        }
        std::unique_ptr<LiveContainer> container = std::move(container_);  // used once
        RTFS_CHECK(check_request(request));
        RTFS_TRY(std::string input, encode_launch(program_argv(request), request.env));
        if (request.stdin_data) input += *request.stdin_data;
        container->cgroup().restart_measurements();
        const auto since = std::chrono::steady_clock::now();
        Expected<host::SandboxReport> report =
            container->finish(request, std::move(input), since, /*built_ahead=*/true);
        teardown_->dispose(std::move(container));
        return report;
    }

    // Its runsc still runs, and every bound source is still the object it bound.
    bool current() const override {
        return container_ && container_->alive() && container_->binds_unchanged();
    }

  private:
    std::unique_ptr<LiveContainer> container_;
    std::shared_ptr<host::DeferredTeardown> teardown_;
};

}  // namespace

std::unique_ptr<host::PreparedRun> make_prepared_run(std::unique_ptr<LiveContainer> container,
                                                     const host::SandboxRequest& shape,
                                                     std::shared_ptr<host::DeferredTeardown> teardown) {
    return std::make_unique<PreparedGvisorRun>(std::move(container), shape, std::move(teardown));
}

}  // namespace microvm::gvisor
