#include "process/seccomp.hpp"

#include <dlfcn.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "host/boot_cache.hpp"
#include "host/seccomp_policy.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"
#include "process/seccomp_ranges.hpp"

namespace microvm::process {

using host::UniqueFd;
using host::sys_failure;
namespace {

namespace policy = host::seccomp_policy;
using FilterPtr =
    std::unique_ptr<std::remove_pointer_t<scmp_filter_ctx>, void (*)(scmp_filter_ctx)>;

Expected<void> check(int rc, const std::string& what) {
    if (rc < 0) return sys_failure("seccomp " + what, -rc);
    return Ok{};
}

Expected<FilterPtr> new_filter(uint32_t default_action) {
    FilterPtr ctx(::seccomp_init(default_action), &::seccomp_release);
    if (!ctx) return fail(Failure::Kind::SetupError, "seccomp_init failed");
    RTFS_CHECK(check(::seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                     "bad-arch action"));
    // A binary tree: a few comparisons per system call instead of one per listed call.
    RTFS_CHECK(check(::seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize"));
    return ctx;
}

Expected<void> add_allow_list(scmp_filter_ctx ctx) {
    for (std::string_view name : policy::allowed_syscalls()) {
        int nr = ::seccomp_syscall_resolve_name(std::string(name).c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: stays denied
        RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0),
                         "rule " + std::string(name)));
    }
    return Ok{};
}

// Answers the call with -err when its argument matches (err 0: success, the call not made).
Expected<void> refuse(scmp_filter_ctx ctx, int err, int nr, const scmp_arg_cmp& a,
                      const std::string& what) {
    return check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 1, a), what);
}

// EPERM when the call's argument holds its flag.
Expected<void> refuse_flag(scmp_filter_ctx ctx, const policy::FlagArgument& call, const std::string& what) {
    const int nr = ::seccomp_syscall_resolve_name(std::string(call.name).c_str());
    if (nr == __NR_SCMP_ERROR) return Ok{};  // unknown to this libseccomp: not allowed at all
    return refuse(ctx, EPERM, nr, scmp_arg_cmp{call.index, SCMP_CMP_MASKED_EQ, call.flag, call.flag}, what);
}

// One rule per listed value: the call answered with -err when its argument (the int the kernel
// reads) is that value.
template <size_t N>
Expected<void> refuse_values(scmp_filter_ctx ctx, int err, const policy::ArgumentValue (&calls)[N]) {
    for (const policy::ArgumentValue& call : calls) {
        int nr = ::seccomp_syscall_resolve_name(std::string(call.name).c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: not allowed at all
        RTFS_CHECK(refuse(ctx, err, nr, scmp_arg_cmp{call.index, SCMP_CMP_MASKED_EQ, 0xffffffffu, call.value},
                          "rule " + std::string(call.name)));
    }
    return Ok{};
}

Expected<void> add_argument_rules(scmp_filter_ctx ctx, bool unix_sockets) {
    for (uint64_t flag : policy::kDeniedCloneFlags) {
        RTFS_CHECK(refuse(ctx, EPERM, SCMP_SYS(clone), SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag),
                          "rule clone"));
    }
    // personality(): a bit outside the allowed ones while bit 31 is clear, or bit 31 set in
    // anything but the query 0xffffffff (one of bits 0-30 clear).
    for (uint32_t bit = 0; bit < 31; ++bit) {
        const uint32_t b = 1u << bit;
        if (!(b & policy::kPersonalityAllowedBits)) {
            RTFS_CHECK(refuse(ctx, EPERM, SCMP_SYS(personality),
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u | b, b), "rule personality"));
        }
        RTFS_CHECK(refuse(ctx, EPERM, SCMP_SYS(personality),
                          SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u | b, 0x80000000u),
                          "rule personality"));
    }
    // Mode arguments with S_ISUID or S_ISGID (seccomp_policy.hpp says why).
    for (const policy::ModeArgument& call : policy::kModeArguments) {
        int nr = ::seccomp_syscall_resolve_name(std::string(call.name).c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: not allowed at all
        for (uint64_t bit : policy::kDeniedModeBits) {
            RTFS_CHECK(refuse(ctx, EPERM, nr, scmp_arg_cmp{call.index, SCMP_CMP_MASKED_EQ, bit, bit},
                              "rule mode"));
        }
    }
    for (const policy::ModeArgument& call : policy::kNodeArguments) {
        int nr = ::seccomp_syscall_resolve_name(std::string(call.name).c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: not allowed at all
        for (uint64_t type : policy::kDeniedFileTypes) {
            RTFS_CHECK(refuse(ctx, EPERM, nr, scmp_arg_cmp{call.index, SCMP_CMP_MASKED_EQ, policy::kFileTypeMask, type},
                              "rule device node"));
        }
    }
    RTFS_CHECK(refuse_flag(ctx, policy::kDeniedRenameFlag, "rule rename whiteout"));
    {
        const int nr = ::seccomp_syscall_resolve_name(std::string(policy::kPrlimit.name).c_str());
        if (nr != __NR_SCMP_ERROR) {
            // All 64 bits compared: a pid of 0 with high bits set (0 to the kernel) is refused too.
            RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 2,
                                                scmp_arg_cmp{policy::kPrlimit.pid_index, SCMP_CMP_NE, 0, 0},
                                                scmp_arg_cmp{policy::kPrlimit.new_limit_index, SCMP_CMP_NE, 0, 0}),
                             "rule prlimit64"));
            RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 2,
                                                scmp_arg_cmp{policy::kCoreLimit.prlimit_resource_index, SCMP_CMP_MASKED_EQ,
                                                             0xffffffffu, policy::kCoreLimit.resource},
                                                scmp_arg_cmp{policy::kPrlimit.new_limit_index, SCMP_CMP_NE, 0, 0}),
                             "rule prlimit64 core"));
        }
    }
    RTFS_CHECK(refuse(ctx, 0, SCMP_SYS(setrlimit),
                      scmp_arg_cmp{policy::kCoreLimit.setrlimit_resource_index, SCMP_CMP_MASKED_EQ, 0xffffffffu,
                                   policy::kCoreLimit.resource},  // the kernel reads an unsigned int
                      "rule setrlimit core"));
    for (const policy::FlagArgument& call : policy::kDeniedFlagArguments) {
        RTFS_CHECK(refuse_flag(ctx, call, "rule huge pages"));
    }
    for (std::string_view name : policy::kUnsupportedCalls) {
        int nr = ::seccomp_syscall_resolve_name(std::string(name).c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: not allowed at all
        RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(policy::kUnsupportedErrno), nr, 0),
                         "rule " + std::string(name)));
    }
    RTFS_CHECK(refuse_values(ctx, 0, policy::kIgnoredArguments));
    RTFS_CHECK(refuse_values(ctx, EPERM, policy::kDeniedCommands));
    for (unsigned long request : policy::kDeniedIoctls) {
        RTFS_CHECK(refuse(ctx, EPERM, SCMP_SYS(ioctl),
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request), "rule ioctl"));
    }
    // socket(): one rule per refused family (a rule cannot compare one argument twice).
    for (int family = 0; family < policy::kFirstUnknownFamily; ++family) {
        bool allowed = false;
        for (int a : policy::kAllowedFamilies) allowed |= a == family;
        if (family == policy::kFamilyUnix && !unix_sockets) {
            RTFS_CHECK(refuse(ctx, EPERM, SCMP_SYS(socket),
                              SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(family)), "rule socket"));
        } else if (!allowed) {
            RTFS_CHECK(refuse(ctx, EAFNOSUPPORT, SCMP_SYS(socket),
                              SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(family)), "rule socket"));
        }
    }
    // Unknown families, and any value with bits above the int the kernel reads.
    RTFS_CHECK(refuse(ctx, EAFNOSUPPORT, SCMP_SYS(socket),
                      SCMP_A0(SCMP_CMP_GE, static_cast<uint64_t>(policy::kFirstUnknownFamily)),
                      "rule socket"));
    return Ok{};
}

Expected<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    // libseccomp 2.5 exports BPF only to a descriptor.
    UniqueFd mem(::memfd_create("microvm-seccomp", MFD_CLOEXEC));
    if (!mem.valid()) return sys_failure("memfd_create", errno);
    RTFS_CHECK(check(::seccomp_export_bpf(ctx, mem.get()), "export"));
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
        return fail(Failure::Kind::SetupError, "seccomp export produced no program");
    }
    std::vector<sock_filter> code(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(mem.get(), code.data(), static_cast<size_t>(size), 0) != size) {
        return sys_failure("reading the seccomp program", errno);
    }
    return code;
}

// The two programs as one record value: the existence program's length in instructions (4 bytes,
// host order), then both programs as the kernel takes them.
std::string to_record(const std::vector<sock_filter>& existence,
                      const std::vector<sock_filter>& arguments) {
    const uint32_t count = static_cast<uint32_t>(existence.size());
    std::string out(reinterpret_cast<const char*>(&count), sizeof count);
    out.append(reinterpret_cast<const char*>(existence.data()), existence.size() * sizeof(sock_filter));
    out.append(reinterpret_cast<const char*>(arguments.data()), arguments.size() * sizeof(sock_filter));
    return out;
}

// The programs from a record: whole instructions, at least one each, each within the kernel's
// limit.
std::optional<std::pair<std::vector<sock_filter>, std::vector<sock_filter>>> from_record(
    const std::string& bytes) {
    uint32_t count = 0;
    if (bytes.size() < sizeof count) return std::nullopt;
    std::memcpy(&count, bytes.data(), sizeof count);
    const size_t rest = bytes.size() - sizeof count;
    if (rest % sizeof(sock_filter) != 0) return std::nullopt;
    const size_t total = rest / sizeof(sock_filter);
    if (count == 0 || count >= total || count > BPF_MAXINSNS || total - count > BPF_MAXINSNS) {
        return std::nullopt;
    }
    std::vector<sock_filter> existence(count), arguments(total - count);
    const char* at = bytes.data() + sizeof count;
    std::memcpy(existence.data(), at, count * sizeof(sock_filter));
    std::memcpy(arguments.data(), at + count * sizeof(sock_filter),
                arguments.size() * sizeof(sock_filter));
    return std::pair{std::move(existence), std::move(arguments)};
}

// The library that compiles the filters: another libseccomp may compile them differently.
nlohmann::json libseccomp_identity() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&::seccomp_init), &info) == 0 || !info.dli_fname) {
        return nullptr;
    }
    return host::file_identity(info.dli_fname).value_or(nlohmann::json());
}

}  // namespace

Expected<SeccompFilter> SeccompFilter::build_cached(bool unix_sockets) {
    const nlohmann::json key = {{"binary", host::own_binary_identity()},
                                {"libseccomp", libseccomp_identity()},
                                {"unix_sockets", unix_sockets}};
    const auto dir = host::boot_cache_dir();
    const std::string name = "process-seccomp.programs";
    constexpr size_t kMaxRecordBytes = 4 + 2 * BPF_MAXINSNS * sizeof(sock_filter);
    if (dir && !key["binary"].is_null() && !key["libseccomp"].is_null()) {
        if (auto bytes = host::read_boot_bytes(*dir, name, key, kMaxRecordBytes)) {
            if (auto programs = from_record(*bytes)) {
                SeccompFilter filter;
                filter.existence_ = std::move(programs->first);
                filter.arguments_ = std::move(programs->second);
                return filter;
            }
        }
    }
    RTFS_TRY(SeccompFilter filter, build(unix_sockets));
    if (dir && !key["binary"].is_null() && !key["libseccomp"].is_null()) {
        host::write_boot_bytes(*dir, name, key, to_record(filter.existence_, filter.arguments_));
    }
    return filter;
}

Expected<SeccompFilter> SeccompFilter::build(bool unix_sockets, bool existence_as_ranges) {
    SeccompFilter filter;
    RTFS_TRY(FilterPtr existence, new_filter(SCMP_ACT_ERRNO(policy::kNotAllowedErrno)));
    RTFS_CHECK(add_allow_list(existence.get()));
    RTFS_TRY(filter.existence_, export_bpf(existence.get()));
    // The same answers in a quarter of the instructions (seccomp_ranges.hpp), checked against
    // libseccomp's program; a program of another form is used as libseccomp compiled it.
    if (existence_as_ranges) {
        if (auto ranges = ranges_program(filter.existence_, ::seccomp_arch_native())) {
            filter.existence_ = std::move(*ranges);
        }
    }
    RTFS_TRY(FilterPtr arguments, new_filter(SCMP_ACT_ALLOW));
    RTFS_CHECK(add_argument_rules(arguments.get(), unix_sockets));
    RTFS_TRY(filter.arguments_, export_bpf(arguments.get()));
    return filter;
}

Expected<SeccompFilter> SeccompFilter::with_unix_sockets(bool unix_sockets) const {
    SeccompFilter filter;
    filter.existence_ = existence_;
    RTFS_TRY(FilterPtr arguments, new_filter(SCMP_ACT_ALLOW));
    RTFS_CHECK(add_argument_rules(arguments.get(), unix_sockets));
    RTFS_TRY(filter.arguments_, export_bpf(arguments.get()));
    return filter;
}

sock_fprog SeccompFilter::program(const std::vector<sock_filter>& code) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(code.size());
    prog.filter = const_cast<sock_filter*>(code.data());
    return prog;
}

bool install_seccomp(const sock_fprog* program) {
    return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program, 0, 0) == 0;
}

}  // namespace microvm::process
