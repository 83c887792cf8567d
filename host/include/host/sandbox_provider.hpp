// The provider code every OS-level sandbox shares (process, gvisor, the VM providers): a
// concrete provider supplies its name, settings and a SandboxBackend; this maps the program to a
// command, builds the request, runs it and turns the report into the result, once for all.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "host/egress.hpp"
#include "host/program_command.hpp"
#include "host/sandbox.hpp"
#include "host/sandbox_settings.hpp"
#include "microvm/provider.hpp"

namespace microvm::host {

class SandboxProvider : public Provider {
  public:
    std::vector<ProgramKind> runs() const override;
    // The common refusals plus those every OS sandbox shares (host lists, the CPU quota floor),
    // then check_backend()'s own.
    std::vector<Unsupported> check(const ExecutionContext& ctx) const override;
    // Warm pools: a sandbox fits when ctx's request has the prepared one's shape (same_shape).
    bool fits(const PreparedSandbox& prepared, const ExecutionContext& ctx) const override;

    // TESTS ONLY: the egress proxy's test resolver and loopback leave (host/egress.hpp).
    void set_egress_test_hooks(EgressTestHooks hooks) { egress_hooks_ = std::move(hooks); }

  protected:
    // The backend for these settings (already validated against config_schema()).
    virtual Expected<std::unique_ptr<SandboxBackend>> make_backend(
        const nlohmann::json& settings) = 0;
    // How this provider finds the program it runs. Default: files of the host, bound into the
    // sandbox at the same paths (process, gvisor); a VM provider resolves inside its image.
    virtual rtfs::Expected<Command, CommandError> resolve(const ExecutionContext& ctx) const;
    // What this backend cannot enforce beyond the shared refusals.
    virtual void check_backend(const ExecutionContext&, std::vector<Unsupported>&) const {}
    // Why this backend cannot make the egress proxy its sandbox's only way out (allow/block
    // lists are then refused with it), or nullopt when its run() honours SandboxRequest::egress.
    virtual std::optional<std::string> host_lists_refusal() const { return kHostListsNotImplemented; }
    // Where the program inside reaches the egress proxy (its proxy variables point there).
    virtual std::string egress_proxy_host() const { return kLoopbackEgressHost; }

    Expected<void> do_initialize(const nlohmann::json& settings) override;
    void do_cleanup() override;
    ExecutionResult run(const ExecutionContext& ctx, const CancelToken& cancel) override;
    // The backend's prepare() for the shape's request; launch() runs a context that fits.
    Expected<std::unique_ptr<PreparedSandbox>> do_prepare(const ExecutionContext& shape) override;
    ExecutionResult run_prepared(const ExecutionContext& ctx, const CancelToken& cancel,
                                 PreparedSandbox& prepared) override;
    std::optional<ProviderPoolFigures> do_pool_figures() const override { return backend_->pool_figures(); }

    const SandboxBackend* backend() const { return backend_.get(); }

  private:
    // The request for ctx (no egress proxy yet), or the result refusing it.
    std::variant<SandboxRequest, ExecutionResult> request_without_egress(
        const ExecutionContext& ctx, const CancelToken& cancel) const;
    // Runs ctx in `prepared`, or in a sandbox built now when null.
    ExecutionResult run_in(const ExecutionContext& ctx, const CancelToken& cancel,
                           PreparedRun* prepared);

    std::unique_ptr<SandboxBackend> backend_;
    std::atomic<uint64_t> generation_{0};  // of backend_ (sandboxes built ahead fit only it)
    proxy::Limits egress_limits_;
    EgressTestHooks egress_hooks_;
};

// Sets status and error of r from how the sandboxed program ended (timeout, memory, signal,
// cancelled, exec failure, non-zero exit); a guest's own exit code is not the program's.
void apply_ending(const SandboxReport& report, bool guest, const MicroVMConfig& config,
                  ExecutionResult& r);

}  // namespace microvm::host
