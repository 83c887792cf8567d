// Landlock (Linux 5.13 and later): a process gives up, for itself and what it starts afterwards,
// every file system access outside the paths it names, and (ABI 6, Linux 6.12) signals to
// processes outside its domain and abstract Unix sockets. Unprivileged, irreversible, enforced by
// the kernel on every path lookup: a symlink or `..` out of a granted directory is refused.
// A kernel without Landlock (or with it disabled) is reported as such, never taken for a
// restriction.
#pragma once

#include <string>
#include <vector>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host::landlock {

// The kernel's Landlock ABI version; 0 when it has none or it is disabled.
int abi_version();

enum class Access {
    List,       // list directories, read no file (a directory on the way to one kept private)
    Read,       // read files, list directories
    ReadWrite,  // also write, create, remove, rename and link; never make a device, FIFO or socket
};

struct Rule {
    std::string path;  // a directory (the rule covers all below it) or a file
    Access access = Access::Read;
    // Set: the rule is on this very descriptor (O_PATH or open), path only names it: a path
    // checked and opened once is never looked up again for its rule.
    int fd = -1;
};

// The descriptor a rule is on: a duplicate of rule.fd, or rule.path opened O_PATH (following
// links). Not valid, and no error, when the path does not exist: nothing there to reach.
Expected<UniqueFd> open_rule(const Rule& rule);

// Restricts the calling thread (a single-threaded process: all of it) to rules: every other path
// is refused every access this ABI handles; with files_unrestricted the file system is left as it
// is but exec, and only the scopes apply. Every domain also keeps its processes from tracing (or
// reading the memory of) any process outside it. Sets no_new_privs (Landlock requires it). A rule whose path does
// not exist is skipped (nothing there to reach). Not async-signal-safe (it allocates): for a
// forked child of a process whose allocator survives fork (glibc's). SetupError when the kernel
// has no Landlock (abi_version() == 0) or a step fails.
Expected<void> restrict_self(const std::vector<Rule>& rules, bool files_unrestricted = false);

}  // namespace microvm::host::landlock
