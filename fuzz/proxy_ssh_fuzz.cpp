// The SSH start judge on arbitrary bytes: every prefix of an input it passes is incomplete or
// passes too (bytes arrive in pieces), and nothing longer than a line and a packet header is
// ever incomplete.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/ssh_start.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using microvm::proxy::ssh::ClientStart;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const ClientStart whole = microvm::proxy::ssh::judge_client_start(input);
    if (whole.state == ClientStart::State::NotSsh && whole.message.empty()) __builtin_trap();
    if (whole.state == ClientStart::State::Incomplete && input.size() > 255 + 6) __builtin_trap();
    if (whole.state == ClientStart::State::Ssh) {
        for (size_t n = 0; n < size; ++n) {
            if (microvm::proxy::ssh::judge_client_start(input.substr(0, n)).state == ClientStart::State::NotSsh)
                __builtin_trap();
        }
    }
    return 0;
}
