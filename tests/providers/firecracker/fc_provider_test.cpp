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

}  // namespace
