// The provider a suite of VM tests shares: created and initialised once (with default settings)
// in SetUpTestSuite, and whether qemu can run here, with the reason when not.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "qemu/qemu_provider.hpp"

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

}  // namespace qemutest
