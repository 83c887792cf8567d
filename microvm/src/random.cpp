#include "microvm/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <random>
#include <vector>
#include "microvm/hex.hpp"

namespace microvm {

void random_bytes(void* buffer, size_t size) {
    auto* out = static_cast<unsigned char*>(buffer);
    size_t got = 0;
    while (got < size) {
        const ssize_t n = ::getrandom(out + got, size - got, 0);
        if (n > 0) {
            got += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    if (got == size) return;
    static thread_local std::random_device device;
    for (; got < size; ++got) out[got] = static_cast<unsigned char>(device());
}

uint32_t random_u32() {
    uint32_t n = 0;
    random_bytes(&n, sizeof n);
    return n;
}

std::string random_hex(size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    random_bytes(raw.data(), raw.size());
    return hex_of(raw.data(), raw.size());
}

}  // namespace microvm
