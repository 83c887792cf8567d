#include "gvisor/oci_spec.hpp"

#include <algorithm>
#include <cmath>

#include "gvisor/oci_seccomp.hpp"
#include "host/cgroup.hpp"
#include "host/rlimits.hpp"

namespace microvm::gvisor {
namespace {

using nlohmann::json;


json rlimit(const char* type, uint64_t value) {
    return {{"type", type}, {"hard", value}, {"soft", value}};
}

json process_section(const ContainerSpec& s) {
    const json none = json::array();
    return {
        {"terminal", false},
        {"user", {{"uid", kSandboxUid}, {"gid", kSandboxGid}, {"additionalGids", none}}},
        {"args", s.argv},
        {"env", s.env},
        {"cwd", s.filesystem.cwd},
        {"capabilities",
         {{"bounding", none},
          {"effective", none},
          {"inheritable", none},
          {"permitted", none},
          {"ambient", none}}},
        {"noNewPrivileges", true},
        {"rlimits",
         {rlimit("RLIMIT_NOFILE", s.max_open_files), rlimit("RLIMIT_CORE", host::kSandboxCoreLimit),
          rlimit("RLIMIT_FSIZE", s.max_file_size_bytes), rlimit("RLIMIT_NPROC", s.max_processes)}},
    };
}

json mounts_section(const OciFilesystem& fs) {
    json mounts = json::array();
    for (const OciMount& m : fs.mounts) {
        mounts.push_back({{"destination", m.destination},
                          {"type", m.type},
                          {"source", m.source},
                          {"options", m.options}});
    }
    return mounts;
}

json linux_section(const ContainerSpec& s) {
    json namespaces = json::array();
    for (const char* ns : {"pid", "ipc", "uts", "mount"}) namespaces.push_back({{"type", ns}});
    if (s.network_namespace) {
        namespaces.push_back({{"type", "network"}});
    } else if (!s.host_network_namespace.empty()) {
        namespaces.push_back({{"type", "network"}, {"path", s.host_network_namespace}});
    }
    const uint64_t quota = host::cpu_quota_us(s.cpu_fraction);
    json linux = {
        {"namespaces", std::move(namespaces)},
        {"resources",
         {{"memory", {{"limit", s.memory_bytes}, {"swap", s.memory_bytes}}},
          {"cpu", {{"quota", quota}, {"period", host::kCpuPeriodUs}}},
          {"pids", {{"limit", s.host_tasks}}}}},
        {"maskedPaths", json::array()},
        {"readonlyPaths", json::array()},
    };
    if (s.seccomp_filter) linux["seccomp"] = oci_seccomp();
    return linux;
}

}  // namespace

json oci_config(const ContainerSpec& s) {
    return {
        {"ociVersion", "1.0.2"},
        {"process", process_section(s)},
        {"root", {{"path", s.filesystem.root_path}, {"readonly", true}}},
        {"hostname", s.hostname},
        {"mounts", mounts_section(s.filesystem)},
        {"linux", linux_section(s)},
    };
}

}  // namespace microvm::gvisor
