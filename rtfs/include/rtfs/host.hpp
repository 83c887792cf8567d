// The capability host: the embedding's side of `(call :id args...)`. The runtime never performs
// effects itself; it checks the runtime context, then hands the call to the host.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "rtfs/value.hpp"

namespace rtfs {

class Host {
public:
    virtual ~Host() = default;
    // Performs an allowed capability call. Unknown ids: an error naming the capability.
    virtual Result<Value> call(std::string_view capability_id, std::span<const Value> args) = 0;
    // `@name`: a value from the host's context; nullopt = not available.
    virtual std::optional<Value> context_value(std::string_view /*name*/) { return std::nullopt; }
};

}  // namespace rtfs
