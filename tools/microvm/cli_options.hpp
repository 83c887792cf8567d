// The command line of `microvm` (spec section 4): options shared by eval/run/wasm, and how they
// combine with the settings file into an ExecutionContext.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/context.hpp"
#include "microvm/settings.hpp"

namespace microvm::cli {

struct PolicyFlags {
    std::string provider;  // -p; empty = the settings' default_provider
    std::string timeout, memory, cpu, net, fs;
    std::vector<std::string> env;    // KEY=VALUE
    std::string security;            // pure | controlled | full
    std::vector<std::string> allow;  // capability ids
    std::string config_file, profile;
    bool json = false;
};

struct Invocation {
    Settings settings;
    std::string provider;
    MicroVMConfig config;
    rtfs::RuntimeContext runtime_context;
    std::vector<std::string> capability_permissions;
};

// Settings file + profile + flags. Errors are usage errors (bad flag values) or settings errors.
Expected<Invocation> resolve(const PolicyFlags& flags);

// A fresh execution id: "exec-" + 16 hex digits.
std::string new_execution_id();

}  // namespace microvm::cli
