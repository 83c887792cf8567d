// What a guest sends the host, on arbitrary bytes: the first byte picks a decoder, the rest is
// its input. Every decoder returns a value or an error, never a crash or a hang, and what one
// accepts encodes into something it accepts again (the host re-encodes results it relays).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "microvm/guest_protocol.hpp"

namespace {

template <class Decode, class Encode>
void round_trip(std::string_view in, Decode decode, Encode encode) {
    auto first = decode(in);
    if (!first) return;
    if (!decode(encode(*first))) std::abort();  // accepted once, refused re-encoded
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace microvm::guest;
    if (size == 0) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 12) {
        case 0: round_trip(in, decode_result, encode_result); break;
        case 1: round_trip(in, decode_hello, encode_hello); break;
        case 2: round_trip(in, decode_exit, encode_exit); break;
        case 3: round_trip(in, decode_usage, encode_usage); break;
        case 4: round_trip(in, decode_ready, encode_ready); break;
        case 5: round_trip(in, decode_agent_error, encode_agent_error); break;
        case 6: round_trip(in, decode_exec, encode_exec); break;
        case 7: round_trip(in, decode_setup, encode_setup); break;
        case 8: round_trip(in, decode_kill, encode_kill); break;
        case 9: round_trip(in, decode_job, encode_job); break;
        case 10: (void)read_result_frame(in); break;
        default: (void)read_exec_frame(in); break;
    }
    return 0;
}
