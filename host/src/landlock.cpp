#include "host/landlock.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host::landlock {
namespace {

// Debian 12's kernel headers stop at ABI 1; later rights and the scopes by value.
constexpr uint64_t kRefer = 1ULL << 13;     // ABI 2
constexpr uint64_t kTruncate = 1ULL << 14;  // ABI 3
constexpr uint64_t kIoctlDev = 1ULL << 15;  // ABI 5
constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ULL << 1;              // ABI 6

constexpr uint64_t kReadRights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
// Never granted, even in a writable directory: a device node would be a door to the host's disks
// and memory; a FIFO or a socket file left in an output directory blocks, or answers, whatever
// host tool or later run opens it (red team, 2026-12-07). Files and directories are what a
// writable tree is for.
constexpr uint64_t kDeviceRights = LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                                   LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SOCK;

// The ruleset attribute as of ABI 6 (the kernel takes a shorter size from older callers).
struct RulesetAttr {
    uint64_t handled_access_fs = 0;
    uint64_t handled_access_net = 0;
    uint64_t scoped = 0;
};

uint64_t handled_fs_rights(int abi) {
    uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: bits 0-12
    if (abi >= 2) rights |= kRefer;
    if (abi >= 3) rights |= kTruncate;
    if (abi >= 5) rights |= kIoctlDev;
    return rights;
}

}  // namespace

int abi_version() {
    const long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v > 0 ? static_cast<int>(v) : 0;
}

Expected<UniqueFd> open_rule(const Rule& rule) {
    UniqueFd fd(rule.fd >= 0 ? ::fcntl(rule.fd, F_DUPFD_CLOEXEC, 0) : ::open(rule.path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd.valid() && errno != ENOENT && errno != ENOTDIR) {
        return sys_failure("open " + rule.path + " for a Landlock rule", errno);
    }
    return fd;
}

Expected<void> restrict_self(const std::vector<Rule>& rules, bool files_unrestricted) {
    const int abi = abi_version();
    if (abi == 0) return fail(Failure::Kind::SetupError, "this kernel has no Landlock (or it is disabled)");
    RulesetAttr attr;
    size_t attr_size = sizeof attr.handled_access_fs;
    const uint64_t handled = handled_fs_rights(abi);
    if (!files_unrestricted) attr.handled_access_fs = handled;
    if (abi >= 6) {
        attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
        attr_size = sizeof attr;
    } else if (files_unrestricted) {
        // A domain all the same, for what every domain has: no ptrace of (nor /proc/PID/mem
        // into) a process outside it. Only exec is handled, and refused.
        attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE;
    }
    UniqueFd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0)));
    if (!ruleset.valid()) return sys_failure("landlock_create_ruleset", errno);
    if (!files_unrestricted) {
        for (const Rule& rule : rules) {
            RTFS_TRY(const UniqueFd dir, open_rule(rule));
            if (!dir.valid()) continue;  // nothing there to reach
            struct landlock_path_beneath_attr beneath {};
            beneath.parent_fd = dir.get();
            beneath.allowed_access = rule.access == Access::List   ? LANDLOCK_ACCESS_FS_READ_DIR
                                     : rule.access == Access::Read ? kReadRights
                                                                   : handled & ~kDeviceRights;
            // A file takes only the rights that apply to files.
            struct stat st;
            if (::fstat(dir.get(), &st) == 0 && !S_ISDIR(st.st_mode)) {
                beneath.allowed_access &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                          LANDLOCK_ACCESS_FS_EXECUTE | kTruncate | kIoctlDev;
            }
            if (::syscall(SYS_landlock_add_rule, ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0) {
                return sys_failure("landlock_add_rule " + rule.path, errno);
            }
        }
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sys_failure("prctl(PR_SET_NO_NEW_PRIVS)", errno);
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) return sys_failure("landlock_restrict_self", errno);
    return Ok{};
}

}  // namespace microvm::host::landlock
