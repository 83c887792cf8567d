// Resource limits of a sandboxed program that cgroups do not cover: no core dumps (nor a core
// handler started), a cap on the
// size of any file it writes, and on its open descriptors. (Process counts are limited by the
// pids cgroup: RLIMIT_NPROC counts per host uid, across concurrent sandboxes.) The settings are
// shared by the OS-level providers; each applies the values its own way (the process init with
// setrlimit, gvisor's OCI spec, a VM's agent).
#pragma once

#include <cstdint>
#include <vector>

namespace microvm::host {

// Budgets the kernel keeps per user, which a sandbox of the invoking user's uid (a host that is
// not root) drew from until the user had none: 96367 queued signals (the user's sigqueue then
// failed with EAGAIN) and every POSIX message queue byte (mq_open: EMFILE) (red team,
// 2026-12-04). Per sandbox now; nested user namespaces charge each level, so a sandbox adds at
// most these to its user's count. One message queue of the default size (10 x 8 KiB) fits.
inline constexpr uint64_t kSandboxPendingSignals = 1024;
inline constexpr uint64_t kSandboxMessageQueueBytes = 128 << 10;

// RLIMIT_CORE of a sandboxed program (soft and hard), and of every process the host starts
// for a guest (QEMU): 1, not 0. A core_pattern that pipes (systemd-coredump, apport) ignores
// the limit but for the value 1, so a crash under 0 started the host's handler as root, in the
// host's namespaces and cgroups, outside every limit and after the result, streaming the
// program's memory to it: 438 handlers alive after one 3 s run (red team, 2026-12-07). Under a
// file pattern, 1 byte writes nothing. A socket pattern (Linux 6.16+) ignores the limit: not
// stopped (docs/security.md). The seccomp filters keep the program from changing it
// (seccomp_policy.hpp, kCoreLimit).
inline constexpr uint64_t kSandboxCoreLimit = 1;

struct RlimitSettings {
    uint64_t max_file_size_bytes = 1ull << 30;
    uint64_t max_open_files = 1024;
    bool operator==(const RlimitSettings&) const = default;
};

struct Rlimit {
    int resource;    // RLIMIT_*
    uint64_t value;  // soft and hard
};

// wanted, or this process's hard limit of resource when that is lower: a process without
// CAP_SYS_RESOURCE (a dropped uid) cannot raise it, and a host run under `ulimit -f` or a unit's
// LimitFSIZE= would otherwise fail every sandbox.
Rlimit capped(int resource, uint64_t wanted);

// The values to apply (never above this host's own hard limits).
std::vector<Rlimit> sandbox_rlimits(const RlimitSettings& settings);

}  // namespace microvm::host
