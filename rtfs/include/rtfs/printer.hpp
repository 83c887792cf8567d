// Printing values. The readable form reads back to an equal value (except functions and errors).
#pragma once

#include <string>

#include "rtfs/value.hpp"

namespace rtfs {

// Readable form: strings quoted and escaped, floats always with '.' or an exponent.
std::string print(const Value& v);
// At most about max_bytes of the readable form; a longer one ends with "..." (for showing
// values a program built, which may be enormous: [v v] nested 40 times).
std::string print(const Value& v, size_t max_bytes);
void print_to(std::string& out, const Value& v);
// `str` form: strings raw, everything else as print().
std::string to_display(const Value& v);
// Shortest round-trip float text, always with '.' or an exponent: 4.0, 3.5, 1.0e300, ##NaN.
std::string format_float(double d);

}  // namespace rtfs
