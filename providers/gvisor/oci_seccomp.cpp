#include "gvisor/oci_seccomp.hpp"

#include <sys/ioctl.h>

#include "process/seccomp.hpp"

namespace microvm::gvisor {
namespace {

using nlohmann::json;

const char* native_architecture() {
#if defined(__x86_64__)
    return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
    return "SCMP_ARCH_AARCH64";
#else
#error "gvisor runs on x86_64 and aarch64 only"
#endif
}

json masked_eq(unsigned index, uint64_t mask, uint64_t value) {
    return {{"index", index}, {"value", mask}, {"valueTwo", value}, {"op", "SCMP_CMP_MASKED_EQ"}};
}

json deny(const std::string& name, json args = json::array()) {
    json rule = {{"names", {name}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}};
    if (!args.empty()) rule["args"] = std::move(args);
    return rule;
}

}  // namespace

json oci_seccomp() {
    json rules = json::array();
    json plain = json::array();
    for (const std::string& name : process::SeccompFilter::denied_syscalls()) plain.push_back(name);
    rules.push_back({{"names", plain}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}});
    // OCI rules AND their argument conditions, so each flag or bit is a rule of its own.
    for (uint64_t flag : process::kDeniedCloneFlags) {
        rules.push_back(deny("clone", {masked_eq(0, flag, flag)}));
    }
    // personality(): deny a bit outside the allowed ones while bit 31 is clear, and any value
    // with bit 31 set other than the query 0xffffffff (one of bits 0-30 clear).
    for (uint32_t bit = 0; bit < 31; ++bit) {
        uint32_t b = 1u << bit;
        if (!(b & process::kPersonalityAllowedBits)) {
            rules.push_back(deny("personality", {masked_eq(0, 0x80000000u | b, b)}));
        }
        rules.push_back(deny("personality", {masked_eq(0, 0x80000000u | b, 0x80000000u)}));
    }
    for (unsigned long request :
         {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
        rules.push_back(deny("ioctl", {masked_eq(1, 0xffffffffu, request)}));
    }
    return {{"defaultAction", "SCMP_ACT_ALLOW"},
            {"architectures", {native_architecture()}},
            {"syscalls", std::move(rules)}};
}

}  // namespace microvm::gvisor
