// The reader on arbitrary bytes: it must return forms or a ReadError, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtfs/printer.hpp"
#include "rtfs/reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view src(reinterpret_cast<const char*>(data), size);
    auto forms = rtfs::read_all(src);
    if (!forms) {
        if (forms.error().kind() != rtfs::ErrorKind::ReadError) __builtin_trap();
        return 0;
    }
    // What was read prints, and the printed form reads back.
    for (const auto& f : *forms) {
        auto again = rtfs::read_all(rtfs::print(f));
        if (!again) __builtin_trap();
    }
    return 0;
}
