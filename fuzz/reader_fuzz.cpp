// The reader on arbitrary bytes: it must return forms or a ReadError, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>
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
    // What was read prints, and the printed form reads back. print_bounded, not print: print is
    // the message form, cut at 4096 bytes as "...", which does not read back (a fuzzing run,
    // 2026-12-06). A form too deep to print is left: each #( is one reader level but two lists.
    for (const auto& f : *forms) {
        std::string out;
        auto printed = rtfs::print_bounded(out, f, size_t{1} << 30, false);
        if (!printed || *printed == rtfs::PrintOutcome::TooLong) __builtin_trap();
        if (*printed != rtfs::PrintOutcome::Complete) continue;
        if (!rtfs::read_all(out)) __builtin_trap();
    }
    return 0;
}
