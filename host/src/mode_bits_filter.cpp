#include "host/mode_bits_filter.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <string_view>
#include <vector>

#include "host/seccomp_policy.hpp"

namespace microvm::host {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
constexpr uint32_t kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT: same arch, other numbers
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
constexpr uint32_t kX32Bit = 0;
#else
#error "ModeBitsFilter: add this architecture's AUDIT_ARCH"
#endif

// The native numbers of seccomp_policy::kModeArguments' and kUnsupportedCalls' calls (-1: not on
// this architecture).
long native_number(std::string_view name) {
    struct Entry {
        std::string_view name;
        long nr;
    };
    static constexpr Entry kNumbers[] = {
#ifdef __NR_chmod
        {"chmod", __NR_chmod},
#endif
        {"fchmod", __NR_fchmod},
        {"fchmodat", __NR_fchmodat},
#ifdef __NR_fchmodat2
        {"fchmodat2", __NR_fchmodat2},
#else
        {"fchmodat2", 452},  // Linux 6.6 on every architecture; older headers lack the name
#endif
#ifdef __NR_creat
        {"creat", __NR_creat},
#endif
#ifdef __NR_open
        {"open", __NR_open},
#endif
        {"openat", __NR_openat},
#ifdef __NR_mknod
        {"mknod", __NR_mknod},
#endif
        {"mknodat", __NR_mknodat},
        {"setxattr", __NR_setxattr},
        {"lsetxattr", __NR_lsetxattr},
        {"fsetxattr", __NR_fsetxattr},
#ifdef __NR_setxattrat
        {"setxattrat", __NR_setxattrat},
#else
        {"setxattrat", 463},  // Linux 6.13 on every architecture; older headers lack the name
#endif
    };
    for (const Entry& e : kNumbers) {
        if (e.name == name) return e.nr;
    }
    return -1;
}

#ifdef __NR_openat2
constexpr long kOpenat2 = __NR_openat2;
#else
constexpr long kOpenat2 = 437;
#endif

#ifdef __NR_io_uring_setup
constexpr long kIoUringSetup = __NR_io_uring_setup, kIoUringEnter = __NR_io_uring_enter,
               kIoUringRegister = __NR_io_uring_register;
#else
constexpr long kIoUringSetup = 425, kIoUringEnter = 426, kIoUringRegister = 427;
#endif

sock_filter stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return BPF_JUMP(code, k, jt, jf); }

uint32_t argument_low_word(unsigned index) {
    const uint32_t at = static_cast<uint32_t>(offsetof(seccomp_data, args) + index * sizeof(uint64_t));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return at;
#else
    return at + 4;
#endif
}

}  // namespace

ModeBitsFilter::ModeBitsFilter() {
    constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
    constexpr uint32_t kRefuse = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
    uint32_t denied_bits = 0;
    for (uint64_t bit : seccomp_policy::kDeniedModeBits) denied_bits |= static_cast<uint32_t>(bit);

    code_.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
    code_.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0));
    code_.push_back(stmt(BPF_RET | BPF_K, kRefuse));
    code_.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    if (kX32Bit != 0) {
        code_.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 1));
        code_.push_back(stmt(BPF_RET | BPF_K, kRefuse));
    }
    // Per call: not this number -> skip the block; else refuse when a denied bit is set, or (mknod)
    // when the file type is a device's.
    for (const seccomp_policy::ModeArgument& call : seccomp_policy::kModeArguments) {
        const long nr = native_number(call.name);
        if (nr < 0) continue;
        std::vector<sock_filter> block;
        block.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, argument_low_word(call.index)));
        block.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, denied_bits, 0, 1));
        block.push_back(stmt(BPF_RET | BPF_K, kRefuse));
        if (seccomp_policy::makes_nodes(call.name)) {
            block.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, static_cast<uint32_t>(seccomp_policy::kFileTypeMask)));
            for (uint64_t type : seccomp_policy::kDeniedFileTypes) {
                block.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(type), 0, 1));
                block.push_back(stmt(BPF_RET | BPF_K, kRefuse));
            }
        }
        block.push_back(stmt(BPF_RET | BPF_K, kAllow));
        code_.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0,
                             static_cast<uint8_t>(block.size())));
        code_.insert(code_.end(), block.begin(), block.end());
    }
    // Extended attributes are not set, as in the sandboxes (seccomp_policy::kUnsupportedCalls):
    // `user.overlay.*` set through a share hid files wherever the directory became a layer of a
    // rootless overlay (red team, 2026-12-07). EOPNOTSUPP, as on a file system without them.
    for (std::string_view name : seccomp_policy::kUnsupportedCalls) {
        const long nr = native_number(name);
        if (nr < 0) continue;
        code_.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
        code_.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (seccomp_policy::kUnsupportedErrno & SECCOMP_RET_DATA)));
    }
    // Calls whose mode the filter cannot see: openat2 (in memory) and io_uring (its IORING_OP_OPENAT
    // never passes through seccomp). ENOSYS: callers fall back as on an older kernel.
    for (long nr : {kOpenat2, kIoUringSetup, kIoUringEnter, kIoUringRegister}) {
        code_.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
        code_.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    }
    code_.push_back(stmt(BPF_RET | BPF_K, kAllow));
    program_.len = static_cast<unsigned short>(code_.size());
    program_.filter = code_.data();
}

bool ModeBitsFilter::install() const noexcept {
    return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program_, 0, 0) == 0;
}

}  // namespace microvm::host
