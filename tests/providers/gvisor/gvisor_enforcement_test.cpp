// The shared enforcement suite, run against the gvisor provider. Each execution starts a real
// gVisor sandbox (runsc, ~150-300 ms), so the leak checks run fewer executions, 4 at a time.
#include "enforcement_suite.hpp"
#include "gvisor/gvisor_provider.hpp"
#include "gvisor/runtime.hpp"

namespace enforcement {
namespace {

// The runtime the provider uses, minus the OCI seccomp section (a switch only the C++ API has).
std::string run_unfiltered(const std::string& path) {
    auto runtime = microvm::gvisor::Runtime::create({});
    if (!runtime) return {};
    microvm::host::SandboxRequest req;
    req.program = path;
    req.argv = {path};
    req.env = {"PATH=/usr/bin:/bin"};
    req.seccomp_filter = false;
    auto outcome = (*runtime)->run(req);
    return outcome ? outcome->stdout_data.data : std::string();
}

EnforcementTarget gvisor_target() {
    EnforcementTarget t{"gvisor", [] { return std::make_unique<microvm::GvisorProvider>(); }};
    t.sequential_runs = 40;
    t.concurrent_runs = 80;  // 16 of each kind: 84 s at 200, for no more coverage
    t.max_parallel = 4;
    t.user_space_kernel = true;
    t.runtime_env = {"HOME=/"};
    t.run_unfiltered = run_unfiltered;
    // runsc 2022 ignores errnoRet and answers EPERM, which is also what gVisor's own mount()
    // answers a caller without CAP_SYS_ADMIN, and its clone() a new user namespace. gVisor has
    // no inode flags to set (ENOTTY).
    t.same_answer_without_filter = {"mount", "clone_newuser", "ioctl_setflags"};
    t.unix_sockets_inside = true;
    return t;
}

// runsc runs the program itself (no launcher): the path of a run whose argv and env exceed the
// launch message, or of an installation without the launcher.
EnforcementTarget gvisor_direct_target() {
    EnforcementTarget t = gvisor_target();
    t.variant = "direct";
    t.sequential_runs = 20;  // fewer: the teardown they check is the launcher runs' too
    t.concurrent_runs = 40;
    t.settings = {{"one_shot_launcher", false}};
    return t;
}

EnforcementTarget gvisor_built_ahead_target() {
    EnforcementTarget t = gvisor_target();
    t.built_ahead = true;
    return t;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Gvisor, ProviderEnforcementTest, ::testing::Values(gvisor_target()),
                         target_name);
// The same checks where runsc runs the program itself.
INSTANTIATE_TEST_SUITE_P(GvisorDirect, ProviderEnforcementTest, ::testing::Values(gvisor_direct_target()),
                         target_name);
// The same checks for sandboxes built ahead (a warm pool's): each execution runs in one.
INSTANTIATE_TEST_SUITE_P(GvisorBuiltAhead, ProviderEnforcementTest,
                         ::testing::Values(gvisor_built_ahead_target()), target_name);

}  // namespace enforcement
