// The shared enforcement suite, run against the gvisor provider. Each execution starts a real
// gVisor sandbox (runsc, ~150-300 ms), so the leak checks run fewer executions, 4 at a time.
#include "enforcement_suite.hpp"
#include "gvisor/gvisor_provider.hpp"

namespace enforcement {
namespace {

EnforcementTarget gvisor_target() {
    EnforcementTarget t{"gvisor", [] { return std::make_unique<microvm::GvisorProvider>(); }};
    t.sequential_runs = 40;
    t.concurrent_runs = 200;
    t.max_parallel = 4;
    t.user_space_kernel = true;
    t.runtime_env = {"HOME=/"};
    return t;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Gvisor, ProviderEnforcementTest, ::testing::Values(gvisor_target()),
                         target_name);

}  // namespace enforcement
