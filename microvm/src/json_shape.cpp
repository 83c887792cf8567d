#include "microvm/json_shape.hpp"

#include <algorithm>

namespace microvm {

JsonShape json_shape(std::string_view text) {
    JsonShape shape;
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
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
    return shape;
}

}  // namespace microvm
