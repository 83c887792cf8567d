#include "microvm/execution_id.hpp"

#include <sys/random.h>

#include <cstdint>
#include <random>

namespace microvm {

std::string new_execution_id() {
    // getrandom: no device to open (std::random_device's set-up showed in a one-shot run's
    // profile); the generator only when the kernel cannot answer.
    uint64_t v = 0;
    if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        v = rng();
    }
    char buf[17];
    for (int i = 15; i >= 0; --i) {
        buf[i] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    }
    buf[16] = '\0';
    return std::string("exec-") + buf;
}

}  // namespace microvm
