// The SOCKS5 greeting and request parsers on arbitrary bytes, as the proxy feeds them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "microvm/policy.hpp"
#include "proxy/socks5.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace microvm::proxy::socks5;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const Greeting g = parse_greeting(input);
    if (g.state != Greeting::State::Done) return 0;
    if (g.consumed > input.size() || g.consumed < 3) __builtin_trap();
    input.remove_prefix(g.consumed);
    const Request r = parse_request(input);
    if (r.state == Request::State::Done) {
        if (r.consumed > input.size() || r.port == 0 || r.host.empty()) __builtin_trap();
        (void)microvm::canonical_host(r.host);
    }
    if (r.state == Request::State::Failed && r.message.empty()) __builtin_trap();
    return 0;
}
