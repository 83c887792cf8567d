#include "gvisor/probe_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "gvisor/fs_tree.hpp"

namespace microvm::gvisor {
namespace {

constexpr const char* kFileName = "microvm-gvisor.probe";

std::string boot_id() {
    auto id = read_file_capped("/proc/sys/kernel/random/boot_id", 64);
    return id ? id->data : "";
}

// Everything that makes a record stale.
std::optional<nlohmann::json> identity(const ProbeKey& key) {
    struct stat st;
    if (::stat(key.runsc.c_str(), &st) != 0) return std::nullopt;
    return nlohmann::json{
        {"runsc", key.runsc},
        {"runsc_file", {st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec}},
        {"boot_id", boot_id()},
        {"wanted_platform", key.wanted_platform},
        {"cgroup_parent", key.cgroup_parent},
        {"euid", ::geteuid()},
    };
}

}  // namespace

std::optional<std::string> cached_platform(const std::string& dir, const ProbeKey& key) {
    auto current = identity(key);
    auto text = read_file_capped(dir + "/" + kFileName, 4096);
    if (!current || !text) return std::nullopt;
    auto record = nlohmann::json::parse(text->data, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || record.value("identity", nlohmann::json()) != *current) {
        return std::nullopt;
    }
    std::string platform = record.value("platform", "");
    if (platform != "ptrace" && platform != "systrap") return std::nullopt;
    return platform;
}

void remember_platform(const std::string& dir, const ProbeKey& key, const std::string& platform) {
    auto current = identity(key);
    if (!current) return;
    const std::string path = dir + "/" + kFileName;
    const std::string temp = path + "." + std::to_string(::getpid());
    nlohmann::json record = {{"identity", *current}, {"platform", platform}};
    if (write_whole_file(temp, record.dump())) {
        if (std::rename(temp.c_str(), path.c_str()) != 0) ::unlink(temp.c_str());
    } else {
        ::unlink(temp.c_str());
    }
}

}  // namespace microvm::gvisor
