#include "gvisor/oci_seccomp.hpp"

#include <optional>

#include "host/seccomp_policy.hpp"

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

json equal(unsigned index, uint64_t value) {
    return {{"index", index}, {"value", value}, {"op", "SCMP_CMP_EQ"}};
}

json allow(std::vector<std::string> names, json args = json::array()) {
    json rule = {{"names", std::move(names)}, {"action", "SCMP_ACT_ALLOW"}};
    if (!args.empty()) rule["args"] = std::move(args);
    return rule;
}

}  // namespace

json oci_seccomp() {
    namespace policy = host::seccomp_policy;
    // Only allow rules, so that no rule's action depends on how runsc orders overlapping ones:
    // the argument-checked calls are allowed in their permitted forms and fall to the default
    // otherwise. (gVisor's sentry serves AF_UNIX sockets itself and cannot reach host socket
    // files, so AF_UNIX stays allowed under every network policy.)
    auto mode_index = [](std::string_view name) -> std::optional<unsigned> {
        for (const policy::ModeArgument& call : policy::kModeArguments) {
            if (call.name == name) return call.index;
        }
        return std::nullopt;
    };
    std::vector<std::string> plain;
    json mode_rules = json::array();
    uint64_t mode_bits = 0;
    for (uint64_t bit : policy::kDeniedModeBits) mode_bits |= bit;
    for (std::string_view name : policy::allowed_syscalls()) {
        if (auto index = mode_index(name)) {  // allowed only without S_ISUID and S_ISGID
            if (!policy::makes_nodes(name)) {
                mode_rules.push_back(allow({std::string(name)}, {masked_eq(*index, mode_bits, 0)}));
                continue;
            }
            // mknod: and of a file type other than a device's, each allowed type a rule.
            for (uint64_t type = 0; type <= policy::kFileTypeMask; type += 0010000) {
                bool denied = false;
                for (uint64_t d : policy::kDeniedFileTypes) denied = denied || d == type;
                if (denied) continue;
                mode_rules.push_back(
                    allow({std::string(name)}, {masked_eq(*index, mode_bits | policy::kFileTypeMask, type)}));
            }
        } else if (name == policy::kDeniedRenameFlag.name) {  // without RENAME_WHITEOUT
            const policy::FlagArgument& rename = policy::kDeniedRenameFlag;
            mode_rules.push_back(allow({std::string(name)}, {masked_eq(rename.index, rename.flag, 0)}));
        } else if (name == policy::kPrlimit.name) {  // its own limits, or reading another's
            mode_rules.push_back(allow({std::string(name)}, {equal(policy::kPrlimit.pid_index, 0)}));
            mode_rules.push_back(allow({std::string(name)}, {equal(policy::kPrlimit.new_limit_index, 0)}));
        } else if (name != "clone" && name != "personality" && name != "socket") {
            plain.emplace_back(name);
        }
    }
    // clone3 is passed to gVisor, which does not implement it and answers ENOSYS, so that libc
    // falls back to clone (checked below); runsc's EPERM for a refusal would stop that fallback.
    plain.emplace_back("clone3");
    json rules = json::array({allow(plain)});
    for (json& rule : mode_rules) rules.push_back(std::move(rule));
    uint64_t namespace_flags = 0;
    for (uint64_t flag : policy::kDeniedCloneFlags) namespace_flags |= flag;
    rules.push_back(allow({"clone"}, {masked_eq(0, namespace_flags, 0)}));
    for (uint64_t value : {uint64_t{0}, uint64_t{0x0008}, uint64_t{0x0020000},
                           uint64_t{policy::kPersonalityAllowedBits},
                           uint64_t{policy::kPersonalityQuery}}) {
        rules.push_back(allow({"personality"}, {equal(0, value)}));
    }
    for (int family : policy::kAllowedFamilies) {
        rules.push_back(allow({"socket"}, {equal(0, static_cast<uint64_t>(family))}));
    }
    return {{"defaultAction", "SCMP_ACT_ERRNO"},
            {"defaultErrnoRet", policy::kNotAllowedErrno},
            {"architectures", {native_architecture()}},
            {"syscalls", std::move(rules)}};
}

}  // namespace microvm::gvisor
