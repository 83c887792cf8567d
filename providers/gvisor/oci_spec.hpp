// One container's OCI runtime-spec config.json, generated from the execution's policy: the
// process (argv, exactly the configured environment, an unprivileged user, no capabilities,
// no_new_privs, rlimits), the file system (oci_mounts.hpp), the namespaces, the resources of its
// cgroup and the seccomp section (oci_seccomp.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gvisor/oci_mounts.hpp"

namespace microvm::gvisor {

// The unprivileged identity programs run as inside the sandbox ("nobody").
inline constexpr uint32_t kSandboxUid = 65534;
inline constexpr uint32_t kSandboxGid = 65534;

struct ContainerSpec {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // the complete environment, "KEY=VALUE"
    OciFilesystem filesystem;
    bool network_namespace = true;  // false with --network=host
    // With --network=host: the network namespace the sandbox joins (the host's, by a path runsc
    // can open), since runsc itself starts in one of its own (container.hpp). Empty: runsc's.
    std::string host_network_namespace;
    std::string hostname = "microvm";
    uint64_t memory_bytes = 512ull << 20;
    double cpu_fraction = 1.0;
    // Resources, enforced by the execution's cgroup, which the provider creates and starts runsc
    // in (runsc --ignore-cgroups); stated in the spec too, where the sentry reads its memory
    // size. host_tasks: tasks (runsc, gofer and sentry threads, platform stubs) the cgroup may
    // hold.
    uint64_t host_tasks = 0;
    // Rlimits, enforced by the sentry. RLIMIT_NPROC counts the program's processes: the sandbox
    // has one kernel and one user of its own, so this is exactly max_processes.
    uint64_t max_processes = 256;
    uint64_t max_open_files = 1024;
    uint64_t max_file_size_bytes = 1ull << 30;
    bool seccomp_filter = true;  // false only in tests proving what the filter refuses
};

nlohmann::json oci_config(const ContainerSpec& spec);

}  // namespace microvm::gvisor
