// The RTFS runtime context: which host capabilities a program may call. Checked by the
// evaluator before any capability call reaches the host.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace rtfs {

struct RuntimeContext {
    enum class Level { Pure, Controlled, Full };

    Level level = Level::Pure;
    std::vector<std::string> allowed;  // only meaningful for Controlled

    static RuntimeContext pure() { return {}; }
    static RuntimeContext controlled(std::vector<std::string> ids) {
        return {Level::Controlled, std::move(ids)};
    }
    static RuntimeContext full() { return {Level::Full, {}}; }

    bool allows(std::string_view capability_id) const {
        switch (level) {
            case Level::Pure: return false;
            case Level::Full: return true;
            case Level::Controlled:
                return std::find(allowed.begin(), allowed.end(), capability_id) != allowed.end();
        }
        return false;
    }
};

inline std::string_view to_string(RuntimeContext::Level l) {
    switch (l) {
        case RuntimeContext::Level::Pure: return "pure";
        case RuntimeContext::Level::Controlled: return "controlled";
        case RuntimeContext::Level::Full: return "full";
    }
    return "pure";
}

}  // namespace rtfs
