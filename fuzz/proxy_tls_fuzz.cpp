// The ClientHello parser on arbitrary bytes (any record split, any length field).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "microvm/policy.hpp"
#include "proxy/tls_client_hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using microvm::proxy::tls::ClientHello;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr size_t kMax = 8192;
    const ClientHello c = microvm::proxy::tls::parse_client_hello(input, kMax);
    if (c.state == ClientHello::State::Incomplete && input.size() >= kMax) __builtin_trap();
    if ((c.state == ClientHello::State::NotTls || c.state == ClientHello::State::Malformed) && c.message.empty())
        __builtin_trap();
    if (c.server_name) {
        if (c.state != ClientHello::State::Done || c.server_name->empty() || c.server_name->size() > 255) __builtin_trap();
        (void)microvm::canonical_host(*c.server_name);
    }
    return 0;
}
