// The address of a Unix socket file: the one way the project turns a path into a sockaddr_un.
// A path that does not fit sun_path is refused, never cut (cut, it names another file, perhaps
// one another user made); so is an empty one (the kernel would autobind an abstract name) and
// one holding a NUL (an abstract name, or a shorter path than the one checked).
#pragma once

#include <sys/un.h>

#include <cstddef>
#include <optional>
#include <string_view>

namespace microvm::host {

// The longest path a Unix socket file may have (sun_path holds it with its NUL).
inline constexpr size_t kMaxUnixSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

// path's address, or nullopt when it is empty, longer than kMaxUnixSocketPath or holds a NUL.
std::optional<sockaddr_un> unix_address(std::string_view path);

}  // namespace microvm::host
