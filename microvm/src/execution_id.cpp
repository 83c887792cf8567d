#include "microvm/execution_id.hpp"

#include <cstdint>
#include <random>

namespace microvm {

std::string new_execution_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[17];
    uint64_t v = rng();
    for (int i = 15; i >= 0; --i) {
        buf[i] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    }
    buf[16] = '\0';
    return std::string("exec-") + buf;
}

}  // namespace microvm
