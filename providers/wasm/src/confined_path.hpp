// Path resolution confined to a directory tree: no escape through "..", absolute paths or
// symlinks. Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) when the kernel has it, else a
// component-wise walk that opens every component with O_NOFOLLOW and expands symlinks itself.
// An escape attempt fails with EXDEV (callers report it to the guest as ENOTCAPABLE).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "host/unique_fd.hpp"

namespace microvm::wasm {

using host::UniqueFd;

// Opens path below dir. Returns 0 and sets out, or a positive errno.
int open_beneath(int dir, std::string_view path, int flags, mode_t mode, bool follow_last,
                 UniqueFd& out);

// Resolves all but the last component of path below dir: the parent directory (an O_PATH fd) and
// the final name, for *at() calls that act on a name itself (mkdirat, unlinkat, renameat, ...).
// The name is a single component, never "", "." or ".." (EINVAL).
struct ParentAndName {
    UniqueFd parent;
    std::string name;
    bool trailing_slash = false;  // "dir/": the caller expects a directory
};
int resolve_parent(int dir, std::string_view path, ParentAndName& out);

// Test hook: true forces the component-wise walk even where openat2 exists.
void force_component_walk_for_testing(bool on);

}  // namespace microvm::wasm
