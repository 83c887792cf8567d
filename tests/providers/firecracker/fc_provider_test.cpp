// The firecracker provider as registered: where no firecracker binary or no KVM that runs guests
// exists (this project's machines), it is unavailable and says which; what it cannot enforce is
// refused before anything runs.
#include <gtest/gtest.h>

#include "firecracker/firecracker_provider.hpp"

namespace {

TEST(FirecrackerProvider, UnavailableNamesTheMissingPiece) {
    microvm::FirecrackerProvider p;
    microvm::Availability a = p.availability();
    if (a.available) GTEST_SKIP() << "firecracker and KVM are usable here";
    EXPECT_TRUE(a.reason.find("firecracker") != std::string::npos ||
                a.reason.find("kvm") != std::string::npos ||
                a.reason.find("guest image") != std::string::npos)
        << a.reason;
    auto ok = p.initialize(nlohmann::json::object());
    ASSERT_FALSE(ok);
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    auto r = p.execute_program(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, microvm::Reason::Unavailable) << r.error->message;
}

// Allow/block lists are the qemu provider's only among the VM providers: firecracker still
// refuses them, naming why, whether or not it could start here.
TEST(FirecrackerProvider, HostListsAreRefusedWithTheirReason) {
    microvm::FirecrackerProvider p;
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    auto policy = microvm::NetworkPolicy::parse("allow=example.com");
    ASSERT_TRUE(policy);
    ctx.config.network_policy = *policy;
    std::string reasons;
    for (const auto& u : p.check(ctx)) {
        if (u.setting.rfind("network_policy", 0) == 0) reasons += u.reason + "\n";
    }
    // Its own reason (no network device), whatever the shared refusal adds.
    EXPECT_NE(reasons.find("firecracker runs without a network device"), std::string::npos) << reasons;
}

// Real or refused: the VM's one vCPU runs unthrottled (the Firecracker process is in no
// CPU-limited host cgroup), so a share below one core is refused up front, naming the setting,
// its value and the reason; one core or more holds by construction and is accepted. Before this
// refusal, cpu_limit 0.25 was accepted and silently ran at a full core (red team, 2026-12-03).
TEST(FirecrackerProvider, CpuLimitBelowOneCoreIsRefused) {
    microvm::FirecrackerProvider p;
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    auto cpu_refusals = [&] {
        std::string reasons;
        for (const auto& u : p.check(ctx)) {
            if (u.setting.rfind("cpu_limit", 0) == 0) reasons += u.setting + ": " + u.reason + "\n";
        }
        return reasons;
    };
    ctx.config.cpu_limit = 0.25;
    const std::string refused = cpu_refusals();
    EXPECT_NE(refused.find("cpu_limit 0.25: "), std::string::npos) << refused;
    EXPECT_NE(refused.find("firecracker runs its VM's one vCPU unthrottled"), std::string::npos) << refused;
    for (double whole : {1.0, 2.0}) {
        ctx.config.cpu_limit = whole;
        EXPECT_EQ(cpu_refusals(), "") << whole;
    }
}

// No 9p and no network device: a file-system policy other than none and any network are refused.
TEST(FirecrackerProvider, SharesAndNetworkAreRefused) {
    microvm::FirecrackerProvider p;
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    EXPECT_TRUE(p.check(ctx).empty());  // the defaults: fs none, network deny, cpu_limit 1
    auto fs = microvm::FileSystemPolicy::parse("ro=/tmp");
    ASSERT_TRUE(fs);
    ctx.config.fs_policy = *fs;
    auto net = microvm::NetworkPolicy::parse("full");
    ASSERT_TRUE(net);
    ctx.config.network_policy = *net;
    std::string settings;
    for (const auto& u : p.check(ctx)) settings += u.setting + ": " + u.reason + "\n";
    EXPECT_NE(settings.find("fs_policy: firecracker shares no host directories"), std::string::npos) << settings;
    EXPECT_NE(settings.find("network_policy: firecracker runs without a network device"), std::string::npos)
        << settings;
}

}  // namespace
