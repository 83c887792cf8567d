// A seccomp filter for a process the project runs unconfined otherwise but that writes files on
// a guest's behalf: QEMU, whose 9p server creates and chmods the files a VM writes into an rw=
// share. It refuses (EPERM) S_ISUID and S_ISGID in the mode argument of every call that takes one
// (seccomp_policy::kModeArguments), character and block devices in mknod and mknodat
// (kDeniedFileTypes), setting extended attributes (EOPNOTSUPP, kUnsupportedCalls), and openat2
// and io_uring (ENOSYS: their modes never reach the filter), and allows
// everything else. So a guest cannot plant a setuid or setgid file on the host, as the process
// and gvisor sandboxes cannot (docs/security.md). System calls of another ABI (32-bit, x32)
// are refused whole: the filter reads arguments by the native ABI's numbers.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <vector>

namespace microvm::host {

class ModeBitsFilter {
  public:
    // The program, built in the parent (no allocation in the child).
    ModeBitsFilter();
    ModeBitsFilter(const ModeBitsFilter&) = delete;  // the program points into code_
    ModeBitsFilter& operator=(const ModeBitsFilter&) = delete;
    // Child side, async-signal-safe; needs no_new_privs set first.
    bool install() const noexcept;
    size_t size() const { return code_.size(); }

  private:
    std::vector<sock_filter> code_;
    sock_fprog program_{};
};

}  // namespace microvm::host
