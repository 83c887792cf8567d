// The enforcement tests every sandboxing provider must pass (process, gvisor, ...): each test
// would fail if the provider stopped enforcing the policy or limit it names. A provider's test
// folder instantiates the suite:
//
//   INSTANTIATE_TEST_SUITE_P(Process, ProviderEnforcementTest,
//                            ::testing::Values(enforcement::EnforcementTarget{
//                                "process", [] { return std::make_unique<ProcessProvider>(); }}),
//                            enforcement::target_name);
//
// Conventions the leak checks rely on: cgroups and temp dirs a provider creates for an execution
// carry the owning process's pid in their name ("...-<pid>-...").
#pragma once

#include <chrono>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "microvm/provider.hpp"

namespace enforcement {

struct EnforcementTarget {
    std::string name;
    std::function<std::unique_ptr<microvm::Provider>()> make;
    nlohmann::json settings = nlohmann::json::object();
    // Names another configuration of the same provider (its settings) in the tests' names.
    std::string variant;
    // The leak checks: executions in a row, and executions in all with at most max_parallel at
    // once (a gVisor sandbox or a VM costs far more than a process sandbox).
    int sequential_runs = 300;
    int concurrent_runs = 200;
    int max_parallel = 200;
    // The program runs on a user-space kernel (gVisor's sentry), whose /proc/self/status has no
    // CapAmb and NoNewPrivs lines and whose personality() answers the query 0xffffffff with
    // EINVAL: those two checks are left to the provider's own tests; everything else holds.
    bool user_space_kernel = false;
    // Variables the sandbox runtime itself adds when the config does not set them, none of them
    // the host's (gVisor's runsc adds "HOME=/").
    std::vector<std::string> runtime_env;
    // Runs the program at path (no arguments, the default policy) exactly as the provider would
    // but without its seccomp filter, and returns its stdout: comparing the two runs shows that
    // the filter, not a missing capability, is what refuses a call. Each provider's test builds
    // it from the provider's sandbox API (the only way to turn the filter off).
    std::function<std::string(const std::string& path)> run_unfiltered;
    // Probe calls the filter refuses with the same answer the sandbox gives without it, each for
    // a reason the target states (e.g. runsc answers every refusal EPERM, and so does gVisor's
    // own mount for an unprivileged caller).
    std::set<std::string> same_answer_without_filter;
    // AF_UNIX sockets of the program's own under every network policy (gVisor's sentry serves
    // them itself and cannot reach a host's socket file); otherwise only socketpair() unless
    // the network is full.
    bool unix_sockets_inside = false;
    // Allow/block lists enforced through the egress proxy (the provider's own egress tests prove
    // how); otherwise refused up front, naming the reason.
    bool egress_proxy = false;
    // Every execution runs in a sandbox the provider built ahead for its shape (a warm pool's,
    // Provider::prepare), so each check of the suite holds for those as for fresh ones.
    bool built_ahead = false;
};

std::string target_name(const ::testing::TestParamInfo<EnforcementTarget>& info);
// gtest prints the provider's name for a parameter, not its bytes.
void PrintTo(const EnforcementTarget& target, std::ostream* os);

// Path of a helper program of helpers/ (built next to the suite).
std::string helper(const std::string& name);

class ProviderEnforcementTest : public ::testing::TestWithParam<EnforcementTarget> {
  protected:
    void SetUp() override;
    void TearDown() override;

    microvm::Provider& provider() { return *provider_; }
    // A context running path with args and the default (spec) config.
    static microvm::ExecutionContext external(const std::string& path,
                                              std::vector<std::string> args = {});
    // Runs ctx fresh, or (built_ahead) in a sandbox prepared for it first. executed: how long
    // execute_program took (a sandbox's preparation ahead not counted).
    microvm::ExecutionResult run(const microvm::ExecutionContext& ctx,
                                 std::chrono::nanoseconds* executed = nullptr);
    // A fresh host directory the sandbox user may write to; removed in TearDown.
    std::string make_host_dir();

  private:
    std::unique_ptr<microvm::Provider> provider_;
    std::vector<std::string> dirs_;
};

}  // namespace enforcement
