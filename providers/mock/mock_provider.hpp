// The mock provider: runs RTFS source and trusted native functions in this process, with no
// isolation. Real evaluation, measured wall and CPU time; the timeout interrupts the evaluator;
// memory is what the RTFS heap allocated. Capability calls are bounded by the network and file
// system policies through host gates. What it cannot enforce (a CPU share below one core) it
// refuses.
#pragma once

#include <memory>

#include "microvm/provider.hpp"

namespace microvm {

namespace proxy {
struct Limits;
}

class MockProvider final : public Provider {
public:
    MockProvider();
    ~MockProvider() override;
    std::string_view name() const override { return "mock"; }
    Isolation isolation() const override { return Isolation::None; }
    std::vector<ProgramKind> runs() const override { return {ProgramKind::Rtfs, ProgramKind::Native}; }
    Availability availability() const override { return {true, ""}; }
    std::vector<Unsupported> check(const ExecutionContext& ctx) const override;
    // The egress proxy's settings for http-fetch under allow/block lists, as every provider that
    // opens one takes (host::egress_settings_schema).
    nlohmann::json config_schema() const override;

protected:
    Expected<void> do_initialize(const nlohmann::json& settings) override;
    ExecutionResult run(const ExecutionContext& ctx, const CancelToken& cancel) override;

private:
    ExecutionResult run_rtfs(const ExecutionContext& ctx, const std::string& source,
                             const CancelToken& cancel);
    ExecutionResult run_native(const ExecutionContext& ctx, const NativeFunction& fn);

    std::unique_ptr<proxy::Limits> egress_limits_;  // from the settings (do_initialize)
};

}  // namespace microvm
