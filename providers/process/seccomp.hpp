// The seccomp-bpf filter every sandboxed program runs under: everything is allowed except the
// system calls a sandboxed program has no business making, which fail with EPERM (clone3 fails
// with ENOSYS so that libc falls back to clone, whose flags the filter can inspect). The full
// list and the reasons are in docs/security.md. Built once with libseccomp; installed by the
// child right before exec.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::process {

// Beyond denied_syscalls(), argument rules (shared with providers that express the same filter
// in another form, e.g. gvisor's OCI seccomp section):
// namespace flags clone() may not carry (clone3 and unshare are denied wholesale) ...
inline constexpr uint64_t kDeniedCloneFlags[] = {0x00020000 /* NEWNS */,
                                                 0x02000000 /* NEWCGROUP */,
                                                 0x04000000 /* NEWUTS */,
                                                 0x08000000 /* NEWIPC */,
                                                 0x10000000 /* NEWUSER */,
                                                 0x20000000 /* NEWPID */,
                                                 0x40000000 /* NEWNET */};
// ... and personality(): only the harmless values Docker also allows (plain Linux, 32-bit uname,
// UNAME26 and the query 0xffffffff) pass; anything that weakens ASLR or memory protection
// (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) is denied.
inline constexpr uint32_t kPersonalityAllowedBits = 0x0008 | 0x0020000;  // PER_LINUX32 | UNAME26

class SeccompFilter {
  public:
    // Compiles the filter for the host architecture; other architectures' system calls (e.g.
    // the 32-bit ABI on x86_64) kill the process.
    static Expected<SeccompFilter> build();

    // Valid while this object lives.
    sock_fprog program() const;
    size_t instruction_count() const { return instructions_.size(); }

    // The system calls denied outright (without argument conditions), for documentation/tests.
    static const std::vector<std::string>& denied_syscalls();

  private:
    std::vector<sock_filter> instructions_;
};

// Child side (async-signal-safe): installs the filter; needs no_new_privs set first.
bool install_seccomp(const sock_fprog* program);

}  // namespace microvm::process
