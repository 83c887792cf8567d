// Building a text a program gets back (str, join, println, log, serialize-json) at its size.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "rtfs/value.hpp"

namespace rtfs {

// Texts up to this long are written straight into their string: measuring every text first
// made str- and serialize-heavy programs a fifth slower or more, and a short text's doubling
// slack is negligible.
inline constexpr size_t kDirectTextBytes = 64 << 10;

// write(out, max) writes the text into *out (out null: only counts it), stopping once it would
// pass max bytes: Result<std::optional<size_t>>, the text's length, nullopt when it is longer
// than max, or the error that stopped it. too_long() is the error of a text past max_bytes;
// admit(n) -> Result<size_t> refuses a measured text of n bytes, or gives the bytes to charge
// to the heap while it is built.
// A text up to kDirectTextBytes is written straight into its string. A longer one is measured
// first, nothing built, then built once in a buffer of exactly its size: grown by doubling, it
// held up to twice the memory it needs, uncharged, and a refused one was built before refusal.
template <class Write, class TooLong, class Admit>
Result<std::string> build_text(size_t max_bytes, Write&& write, TooLong&& too_long, Admit&& admit) {
    const size_t direct = std::min(max_bytes, kDirectTextBytes);
    {
        std::string text;
        RTFS_TRY(std::optional<size_t> len, write(&text, direct));
        if (len) return text;
        if (direct == max_bytes) return unexpected(too_long());
    }
    RTFS_TRY(std::optional<size_t> len, write(nullptr, max_bytes));
    if (!len) return unexpected(too_long());
    RTFS_TRY(size_t charged, admit(*len));
    struct Charge {
        HeapStats* heap = current_heap_stats();
        int64_t bytes;
        explicit Charge(size_t n) : bytes(static_cast<int64_t>(n)) {
            if (heap) heap->add(bytes);
        }
        ~Charge() {
            if (heap) heap->live_bytes -= bytes;
        }
    } charge(charged);
    std::string text;
    text.reserve(*len);
    RTFS_TRY(std::optional<size_t> built, write(&text, *len));
    if (!built) return unexpected(too_long());
    return text;
}

}  // namespace rtfs
