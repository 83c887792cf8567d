// The provider a suite of VM tests shares: created and initialised once (with default settings)
// in SetUpTestSuite, and whether qemu can run here, with the reason when not.
#pragma once

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qemu/qemu_provider.hpp"
#include "support/expectations.hpp"

namespace qemutest {

// Whether qemu can run here, and the reason when not, as provider says.
inline void read_availability(const microvm::QemuProvider& provider, bool& available, std::string& why) {
    auto a = provider.availability();
    available = a.available;
    why = a.reason;
}

inline microvm::QemuProvider* new_initialized_provider(bool& available, std::string& why) {
    auto* provider = new microvm::QemuProvider();
    read_availability(*provider, available, why);
    if (available) {
        auto ok = provider->initialize(nlohmann::json::object());
        if (!ok) {
            available = false;
            why = ok.error().message;
        }
    }
    return provider;
}

// `sh -c "echo WORD"` in a provider of its own with these settings, cleaned up after; a failed
// initialize fails the test and comes back as the result's error.
inline microvm::ExecutionResult echo_in_new_provider(const nlohmann::json& settings, const std::string& word) {
    microvm::QemuProvider p;
    auto ok = p.initialize(settings);
    EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
    if (!ok) {
        microvm::ExecutionResult failed;
        failed.status = microvm::Status::SetupError;
        failed.error = microvm::ExecutionError{microvm::Reason::SetupError, "setup_error", ok.error().message};
        return failed;
    }
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/sh", {"-c", "echo " + word}};
    ctx.config.timeout = std::chrono::seconds(20);
    auto r = p.execute_program(ctx);
    p.cleanup();
    return r;
}

// A fixture whose suite shares one provider, set up once; Suite (the fixture deriving from it)
// keeps each suite's provider apart.
template <class Suite>
class SharedProviderTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { provider_ = new_initialized_provider(available_, why_); }
    static void TearDownTestSuite() {
        provider_->cleanup();
        delete provider_;
        provider_ = nullptr;
    }
    void SetUp() override { MICROVM_REQUIRE("qemu", available_, why_); }

    static inline microvm::QemuProvider* provider_ = nullptr;
    static inline bool available_ = false;
    static inline std::string why_;
};

}  // namespace qemutest
