// The shared enforcement suite, run against the process provider.
#include "enforcement_suite.hpp"
#include "process/process_provider.hpp"
#include "process/sandbox.hpp"

namespace enforcement {
namespace {

// The sandbox the provider uses, minus the seccomp filter (a switch only the C++ API has).
std::string run_unfiltered(const std::string& path) {
    auto sandbox = microvm::process::Sandbox::create({});
    if (!sandbox) return {};
    microvm::host::SandboxRequest spec;
    spec.program = path;
    spec.argv = {path};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.seccomp_filter = false;
    auto outcome = (*sandbox)->run(spec);
    return outcome ? outcome->stdout_data.data : std::string();
}

EnforcementTarget process_target() {
    EnforcementTarget t{"process", [] { return std::make_unique<microvm::ProcessProvider>(); }};
    t.run_unfiltered = run_unfiltered;
    t.egress_proxy = true;
    return t;
}

EnforcementTarget process_built_ahead_target() {
    EnforcementTarget t = process_target();
    t.built_ahead = true;
    return t;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Process, ProviderEnforcementTest, ::testing::Values(process_target()),
                         target_name);
// The same checks for sandboxes built ahead (a warm pool's): each execution runs in one.
INSTANTIATE_TEST_SUITE_P(ProcessBuiltAhead, ProviderEnforcementTest,
                         ::testing::Values(process_built_ahead_target()), target_name);

}  // namespace enforcement
