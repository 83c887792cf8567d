// The result of a successful platform probe, remembered until the next boot (in /run) for the
// same runsc binary: a probe costs a whole sandbox start, and one-shot users such as the CLI would
// pay it on every execution. Any change (another runsc binary or version, a reboot, another
// cgroup parent or requested platform) makes the record stale and the next start probes again.
// Failed probes are never recorded. Stored and checked by host/boot_cache.hpp (trusted records).
#pragma once

#include <optional>
#include <string>

namespace microvm::gvisor {

struct ProbeKey {
    std::string runsc;            // binary path
    std::string wanted_platform;  // "" = the first that works
    std::string cgroup_parent;
};

// The platform a previous probe with this key proved, if the record is current.
std::optional<std::string> cached_platform(const std::string& dir, const ProbeKey& key);
// Records that a probe with this key succeeded on platform (best effort).
void remember_platform(const std::string& dir, const ProbeKey& key, const std::string& platform);

}  // namespace microvm::gvisor
