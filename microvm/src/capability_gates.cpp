#include "microvm/capability_gates.hpp"

#include <cstdlib>
#include <string>

#include "microvm/path_within.hpp"

namespace microvm {

rtfs::host::NetworkGate network_gate(const NetworkPolicy& policy) {
    return [policy](const std::string& host, int port) -> std::optional<std::string> {
        if (policy.permits(host, port)) return std::nullopt;
        return "network policy '" + policy.to_string() + "' does not permit " + host + ":" +
               std::to_string(port);
    };
}

rtfs::host::FileGate file_gate(const FileSystemPolicy& policy) {
    // The host resolves symlinks in the paths it asks about; do the same for the policy's own
    // (on merged-/usr systems /lib is a link to /usr/lib).
    auto resolved = [](std::vector<std::string> dirs) {
        for (auto& d : dirs) {
            if (char* real = ::realpath(d.c_str(), nullptr)) {
                d = real;
                std::free(real);
            }
        }
        return dirs;
    };
    std::vector<std::string> readable = policy.readable_paths();
    if (policy.kind == FileSystemPolicy::Kind::ReadOnly && readable.empty()) {
        readable = standard_system_dirs();
    }
    const std::vector<std::string> dirs = resolved(std::move(readable));
    const std::vector<std::string> writable =
        policy.kind == FileSystemPolicy::Kind::ReadWrite ? resolved(policy.paths)
                                                         : std::vector<std::string>{};
    return [policy, dirs, writable](const std::string& path,
                                    std::string_view operation) -> std::optional<std::string> {
        const std::string denied = "file system policy '" + policy.to_string() + "' does not permit " +
                                   std::string(operation) + " of " + path;
        switch (policy.kind) {
            case FileSystemPolicy::Kind::Full: return std::nullopt;
            case FileSystemPolicy::Kind::None: return denied;
            case FileSystemPolicy::Kind::ReadOnly:
                if (operation == "write") return denied;
                return is_within_any(path, dirs) ? std::nullopt : std::optional<std::string>(denied);
            case FileSystemPolicy::Kind::ReadWrite:
                return is_within_any(path, operation == "write" ? writable : dirs)
                           ? std::nullopt
                           : std::optional<std::string>(denied);
        }
        return denied;
    };
}

}  // namespace microvm
