#include "microvm/json_shape.hpp"

#include <algorithm>

namespace microvm {

JsonShape json_shape(std::string_view text) {
    JsonShape shape;
    int depth = 0;
    bool in_string = false;
    size_t began = 0;       // where the current token began
    size_t string_len = 0;  // of the current string, each escape counted once
    bool in_token = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '"') {
                in_string = false;
                shape.longest_string = std::max(shape.longest_string, string_len);
                shape.strings += string_len;
                continue;
            }
            ++string_len;
            if (c == '\\') i += i + 1 < text.size() && text[i + 1] == 'u' ? 5 : 1;
            continue;
        }
        const bool token_char = c != '"' && c != '[' && c != '{' && c != ']' && c != '}' && c != ',' &&
                                c != ':' && c != ' ' && c != '\t' && c != '\n' && c != '\r';
        if (token_char && !in_token) {
            in_token = true;
            began = i;
        } else if (!token_char && in_token) {
            in_token = false;
            shape.longest_token = std::max(shape.longest_token, i - began);
        }
        switch (c) {
            case '"':
                in_string = true;
                string_len = 0;
                break;
            case '[':
            case '{':
                shape.depth = std::max(shape.depth, ++depth);
                ++shape.values;
                break;
            case ',':
            case ':': ++shape.values; break;
            case ']':
            case '}':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    // A string or token the text ends in counts to the end.
    if (in_string || in_token) {
        shape.longest_string = std::max(shape.longest_string, in_string ? string_len : 0);
        shape.strings += in_string ? string_len : 0;
        shape.longest_token = std::max(shape.longest_token, in_token ? text.size() - began : 0);
    }
    return shape;
}

}  // namespace microvm
