// The seccomp-bpf filters every sandboxed program runs under, compiled with libseccomp from the
// policy in seccomp_policy.hpp. Two filters are installed, and the kernel applies the stricter
// answer of the two:
//   existence  default ENOSYS; the allow list passes unconditionally;
//   arguments  default allow; the refused argument forms of allowed calls fail with EPERM or
//              EAFNOSUPPORT (libseccomp lets an unconditional allow override a conditional
//              refusal of the same call within one filter, so they cannot share one).
// System calls of other architectures (the 32-bit and x32 ABIs on x86_64) kill the process.
// Built once per sandbox; installed by the child right before exec.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::process {

class SeccompFilter {
  public:
    // unix_sockets: whether socket(AF_UNIX, ...) is allowed (network policy full).
    // existence_as_ranges: the existence filter as a search over ranges of call numbers
    // (seccomp_ranges.hpp), same answers, a quarter of the kernel's installation cost; false
    // keeps libseccomp's program (for comparing the two).
    static Expected<SeccompFilter> build(bool unix_sockets, bool existence_as_ranges = true);
    // build(), remembered until the next boot for this binary and libseccomp (host/boot_cache.hpp:
    // a trusted record only) so that one-shot processes do not compile it every time.
    static Expected<SeccompFilter> build_cached(bool unix_sockets);
    // This filter with only its arguments part rebuilt for unix_sockets (the existence part does
    // not depend on it; compiling a filter is most of a one-shot sandbox's user time).
    Expected<SeccompFilter> with_unix_sockets(bool unix_sockets) const;

    // Both programs, valid while this object lives.
    sock_fprog existence() const { return program(existence_); }
    sock_fprog arguments() const { return program(arguments_); }
    size_t instruction_count() const { return existence_.size() + arguments_.size(); }

  private:
    static sock_fprog program(const std::vector<sock_filter>& code);
    std::vector<sock_filter> existence_;
    std::vector<sock_filter> arguments_;
};

// Child side (async-signal-safe): installs a filter; needs no_new_privs set first.
bool install_seccomp(const sock_fprog* program);

}  // namespace microvm::process
