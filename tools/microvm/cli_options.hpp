// The command line of `microvm` (spec section 4): options shared by eval/run/wasm, and how they
// combine with the settings file into an ExecutionContext.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/context.hpp"
#include "microvm/execution_id.hpp"
#include "microvm/settings.hpp"

namespace microvm::cli {

// A flag given with an empty value (--memory '') is a usage error, never "the default": each
// optional is set exactly when its flag was given.
struct PolicyFlags {
    std::optional<std::string> provider;  // -p; unset = the settings' default_provider
    std::optional<std::string> timeout, memory, cpu, net;
    std::vector<std::string> fs;  // repeatable: --fs ro --fs rw=/out combine
    std::vector<std::string> env;    // KEY=VALUE
    std::optional<std::string> security;  // pure | controlled | full
    std::vector<std::string> allow;  // capability ids
    // The capability this execution performs: its [capability_configs."ID"] applies, and it
    // must be one of `allow`.
    std::optional<std::string> capability;
    std::optional<std::string> config_file, profile;
    bool json = false;
};

struct Invocation {
    Settings settings;
    std::string provider;
    MicroVMConfig config;
    rtfs::RuntimeContext runtime_context;
    std::vector<std::string> capability_permissions;
    std::optional<std::string> capability_id;
};

// Every flag given carries a value (an empty one is a usage error).
Expected<void> check_given(const PolicyFlags& flags);
// The policy flags (--timeout ... --env) over c; a bad value is a usage error naming the flag.
Expected<void> apply_policy_flags(const PolicyFlags& flags, MicroVMConfig& c);

// Settings file + profile + flags. Errors are usage errors (bad flag values) or settings errors.
Expected<Invocation> resolve(const PolicyFlags& flags);

}  // namespace microvm::cli
