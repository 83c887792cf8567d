#include "gvisor/prepared_run.hpp"

#include "gvisor/launch_message.hpp"

namespace microvm::gvisor {
namespace {

class PreparedGvisorRun final : public host::PreparedRun {
  public:
    PreparedGvisorRun(std::unique_ptr<LiveContainer> container, const host::SandboxRequest& shape,
                      std::shared_ptr<host::DeferredTeardown> teardown)
        : PreparedRun(shape), container_(std::move(container)), teardown_(std::move(teardown)) {}

  protected:
    Expected<host::SandboxReport> launch_checked(const host::SandboxRequest& request) override {
        std::unique_ptr<LiveContainer> container = std::move(container_);
        RTFS_CHECK(check_request(request));
        RTFS_TRY(std::string message, encode_launch(program_argv(request), request.env));
        Expected<host::SandboxReport> report = container->launch(request, std::move(message));
        teardown_->dispose(std::move(container));
        return report;
    }

    // Its runsc still runs; every source is still the object runsc's gofer bound.
    bool waiting() const override { return container_ && container_->alive(); }
    bool sources_unchanged() const override {
        return container_ && container_->binds_unchanged();
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
