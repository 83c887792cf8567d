// Printing values. The readable form reads back to an equal value (except functions and errors).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rtfs/value.hpp"

namespace rtfs {

// How much of a value a message shows (an error's text, a refusal): a program can build a value
// whose printed form is exponentially long from little memory ([v v] nested 40 times is 2^40
// leaves), and a message printed it whole, past every limit (red team, 2026-12-04).
inline constexpr size_t kMessageValueBytes = 4096;
// How much of an evaluation's result is printed for its caller (the guests, the rtfs CLI); the
// host refuses a guest's result longer than this (plus the "..." mark).
inline constexpr size_t kMaxResultBytes = 16u << 20;

// How much of an error's message leaves an evaluation for its caller (a guest's result, a
// provider's): the message of `(throw big-string)` is the string, and a 65 MB one went whole
// into a daemon's reply past every output cap, 400 MB of its memory (red team, 2026-12-04).
// A host refuses a guest's message longer than this plus kBoundedMessageMark.
inline constexpr size_t kMaxErrorMessageBytes = 64u << 10;
inline constexpr size_t kBoundedMessageMark = 64;  // room for the "... [N more bytes cut]" mark
// message, or its first max_bytes cut at a character boundary and marked
// "... [N more bytes cut<why>]".
std::string bounded_message(std::string message, size_t max_bytes = kMaxErrorMessageBytes,
                            std::string_view why = "");

// Readable form for messages: strings quoted and escaped, floats always with '.' or an exponent;
// at most kMessageValueBytes, then "...". Collections nested deeper than kMaxValueDepth show as
// "..." there (a program's own text comes from print_bounded, which refuses instead).
std::string print(const Value& v);
// At most max_bytes of the readable form, then "..." (for showing values a program built,
// which may be enormous).
std::string print(const Value& v, size_t max_bytes);
// `str` form for messages: a string raw (whole: its text is as long as the memory it takes),
// everything else as print().
std::string to_display(const Value& v);

// Printing text a program gets back (str, join) or writes (println, log): the text is bounded by
// what the caller may still allocate (a vector of 8000 references to one 1 MB string prints as
// 8 GB), and a value is never silently cut.
enum class PrintOutcome : uint8_t {
    Complete,
    TooLong,  // out would have grown past max_bytes; out holds a cut form
    TooDeep,  // a collection nested deeper than kMaxValueDepth
};
// Appends v's readable form (display: a string raw, as `str` shows it) to out, stopping once
// out would hold more than max_bytes. The evaluation's limits are polled as it goes (poll_limits:
// the deadline, cancellation, the step budget): their error when one ends it.
Expected<PrintOutcome, Error> print_bounded(std::string& out, const Value& v, size_t max_bytes, bool display);
// The display forms of values (print_bounded's, display true) joined by sep, then tail: the text
// of str, join, println and log, refused (print_error) past what the program may still
// allocate. A text past 64 KiB is measured before any of it is built, then built in a buffer of
// exactly its length, charged to the heap meanwhile (a text grown by doubling and charged only
// once made held up to twice the memory limit).
Result<std::string> display_text(std::string_view op, std::span<const Value> values,
                                 std::string_view sep, std::string_view tail = "");
// The error of op's print that stopped: RecursionLimit (TooDeep) or ResourceLimit (TooLong).
Error print_error(PrintOutcome outcome, std::string_view op, size_t max_bytes);
// Shortest round-trip float text, always with '.' or an exponent: 4.0, 3.5, 1.0e300, ##NaN.
std::string format_float(double d);

}  // namespace rtfs
