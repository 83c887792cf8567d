// The proxy's request head parser on arbitrary bytes: a head, "incomplete" or a refusal with a
// status, never a crash, an overread or a hang; what it accepts obeys its own contract.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "microvm/policy.hpp"
#include "proxy/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr size_t kMax = 4096;
    const auto p = microvm::proxy::parse_http_request(input, kMax, 20);
    using State = microvm::proxy::HttpParse::State;
    if (p.state == State::Failed && (p.status < 400 || p.status > 599 || p.message.empty())) __builtin_trap();
    if (p.state == State::Incomplete && input.size() >= kMax) __builtin_trap();  // the limit holds
    if (p.state != State::Done) return 0;
    const auto& r = p.request;
    if (r.head_bytes > input.size() || r.head_bytes > kMax || r.head_bytes < 4 ||
        input.substr(r.head_bytes - 4, 4) != "\r\n\r\n" || r.port == 0 || r.headers.size() > 20) {
        __builtin_trap();
    }
    const auto canonical = microvm::canonical_host(r.host);
    (void)microvm::proxy::host_header_mismatch(r);
    if (r.form == microvm::proxy::HttpRequest::Form::Absolute && canonical) {
        // The forwarded head parses back to the same request line.
        const std::string head = microvm::proxy::origin_form_head(r, canonical->text);
        if (head.find("\r\n\r\n") != head.size() - 4) __builtin_trap();  // one head, no smuggled second
    }
    return 0;
}
