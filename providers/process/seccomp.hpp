// The seccomp-bpf filter every sandboxed program runs under: everything is allowed except the
// system calls a sandboxed program has no business making, which fail with EPERM (clone3 fails
// with ENOSYS so that libc falls back to clone, whose flags the filter can inspect). The full
// list and the reasons are in docs/security.md. Built once with libseccomp; installed by the
// child right before exec.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::process {

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
