// The provider a suite of VM tests shares: created and initialised once (with default settings)
// in SetUpTestSuite, and whether qemu can run here, with the reason when not.
#pragma once

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
