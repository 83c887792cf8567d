// Lexical containment and joining of absolute, normalised paths (no "..", no "//"): the core's
// policy gates and the host kit (host/paths.hpp) judge "inside a directory" the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace microvm {

// True when path is dir or lies below it ("/" contains everything).
inline bool is_within(std::string_view path, std::string_view dir) {
    if (dir == "/") return true;
    return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

// True when path is within one of dirs.
inline bool is_within_any(std::string_view path, const std::vector<std::string>& dirs) {
    for (const std::string& d : dirs) {
        if (is_within(path, d)) return true;
    }
    return false;
}

// dir + "/" + name, without a second slash when dir is "/".
inline std::string join_path(std::string_view dir, std::string_view name) {
    std::string out(dir == "/" ? std::string_view() : dir);
    out += '/';
    out += name;
    return out;
}

}  // namespace microvm
