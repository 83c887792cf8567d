// The shape of a JSON text, measured before it is parsed: a parse builds a tree several times
// the text's size, and nlohmann::json copies, prints and compares recursively, so a text from
// the other side of a trust boundary (a guest's reply, QEMU's) is judged by its shape first.
#pragma once

#include <cstddef>
#include <string_view>

namespace microvm {

struct JsonShape {
    int depth = 0;       // the deepest nesting of arrays and objects
    size_t values = 0;   // separators (',' ':' '[' '{'): at least one per value but the first
    size_t longest_string = 0;  // characters of a string, an escape counted once: at most what
                                // it decodes to
    size_t longest_token = 0;   // bytes of the longest number or literal (true, false, null)
    size_t strings = 0;         // characters of all strings (keys too), escapes counted once
};

// Outside strings only (brackets and commas inside a string are text): a linear scan, no
// allocation. An unbalanced closing bracket is not counted (the parser refuses the text anyway).
JsonShape json_shape(std::string_view text);

}  // namespace microvm
