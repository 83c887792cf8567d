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

}  // namespace
