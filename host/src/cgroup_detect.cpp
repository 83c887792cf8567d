// Chooses cgroup v2 when the unified hierarchy offers memory, cpu and pids to our cgroup, else
// cgroup v1 when those controllers are mounted as v1 hierarchies; otherwise refuses.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/cgroup.hpp"
#include "host/cgroup_fs.hpp"
#include "host/paths.hpp"
#include "microvm/trusted_path.hpp"
#include "host/mountinfo.hpp"
#include "rtfs/ascii_text.hpp"

namespace microvm::host {

namespace {

namespace fs = cgroupfs;

constexpr const char* kRequired[] = {"memory", "cpu", "pids"};

bool has_word(const std::string& list, std::string_view word, char sep) {
    size_t i = 0;
    while (i <= list.size()) {
        size_t j = list.find(sep, i);
        if (j == std::string::npos) j = list.size();
        if (std::string_view(list).substr(i, j - i) == word) return true;
        i = j + 1;
    }
    return false;
}

// Why the parent's directory cannot hold sandbox cgroups, or empty: another user who can write
// it could rename a sandbox's cgroup away and put one of its own under the name the host writes
// and reads by, or (v1) make a sandbox's cgroup before the host does and own its control files
// (red team, 2026-12-06: a root run's limits lifted from a parent delegated to a user). Root's
// or this user's, writable by neither group nor others.
std::string parent_fault(const std::string& dir) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return {};  // the access check reports it
    return ownership_fault(st, "cgroup directory " + dir);
}

// The directory of cgroup `path` (from the hierarchy's root) under this mount.
std::string directory_of(const fs::CgroupMountInfo& m, std::string path) {
    if (m.root != "/" && is_within(path, m.root)) path = path.substr(m.root.size());
    if (path.empty() || path == "/") return m.mountpoint;
    return m.mountpoint + (path.front() == '/' ? "" : "/") + path;
}

// The cgroup_parent directories an attempt made: removed (deepest first) unless the attempt
// kept them. A refused v2 attempt left its parent behind as a stray cgroup before falling back
// to v1 (red team, 2026-12-06).
struct MadeParents {
    std::vector<std::string> dirs;
    bool kept = false;
    ~MadeParents() {
        if (kept) return;
        for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
    }
};

Expected<std::unique_ptr<CgroupManager>> try_v2(const fs::CgroupMountInfo& m,
                                                const fs::OwnCgroups& own_cgroups,
                                                const std::string& parent, std::string_view prefix,
                                                std::string& why) {
    auto own = own_cgroups.of("");
    std::string dir = directory_of(m, parent.empty() ? own.value_or("/") : parent);
    MadeParents made;
    if (!parent.empty()) RTFS_CHECK(fs::make_dirs(dir, &made.dirs));
    // Whose it is, before anything is written there (another user's cgroup was changed, then refused).
    if (::access(dir.c_str(), W_OK) != 0) {
        why = "cgroup v2 directory " + dir + " is not writable";
        return fail(Failure::Kind::SetupError, why);
    }
    if (why = parent_fault(dir); !why.empty()) return fail(Failure::Kind::SetupError, why);
    std::string offered(rtfs::trim_ascii(fs::read_file(dir + "/cgroup.controllers").value_or("")));
    for (const char* c : kRequired) {
        if (!has_word(offered, c, ' ')) {
            why = "cgroup v2 at " + dir + " does not offer the " + c + " controller";
            return fail(Failure::Kind::SetupError, why);
        }
    }
    std::string enabled(rtfs::trim_ascii(fs::read_file(dir + "/cgroup.subtree_control").value_or("")));
    bool all = std::all_of(std::begin(kRequired), std::end(kRequired),
                           [&](const char* c) { return has_word(enabled, c, ' '); });
    if (!all && !fs::write_file(dir + "/cgroup.subtree_control", "+memory +cpu +pids")) {
        why = "cgroup v2: cannot enable memory, cpu and pids for the children of " + dir +
              " (a cgroup holding processes cannot delegate them); set "
              "provider_configs.process.cgroup_parent to an empty, delegated cgroup";
        return fail(Failure::Kind::SetupError, why);
    }
    made.kept = true;
    return make_cgroup_v2(dir, prefix);
}

Expected<std::unique_ptr<CgroupManager>> try_v1(const std::vector<fs::CgroupMountInfo>& mounts,
                                                const fs::OwnCgroups& own_cgroups,
                                                const std::string& parent, std::string_view prefix,
                                                std::string& why) {
    auto dir_for = [&](const char* controller) -> std::string {
        for (const auto& m : mounts) {
            if (m.fstype != "cgroup" || !mount_option(m.options, controller)) continue;
            auto own = own_cgroups.of(controller);
            return directory_of(m, parent.empty() ? own.value_or("/") : parent);
        }
        return {};
    };
    std::string memory = dir_for("memory"), cpu = dir_for("cpu"), cpuacct = dir_for("cpuacct"),
                pids = dir_for("pids");
    // CPU time comes from cpuacct, also when it has a hierarchy of its own (one more cgroup per
    // run): the init's rusage misses whatever the kernel killed at a deadline, unreaped.
    for (auto [name, dir] : {std::pair{"memory", &memory}, {"cpu", &cpu}, {"pids", &pids}}) {
        if (dir->empty()) {
            why = std::string("no cgroup v1 hierarchy with the ") + name + " controller is mounted";
            return fail(Failure::Kind::SetupError, why);
        }
    }
    MadeParents made;
    for (const std::string* dir : {&memory, &cpu, &cpuacct, &pids}) {
        if (dir->empty()) continue;
        if (!parent.empty()) RTFS_CHECK(fs::make_dirs(*dir, &made.dirs));
        if (::access(dir->c_str(), W_OK) != 0) {
            why = "cgroup v1 directory " + *dir + " is not writable";
            return fail(Failure::Kind::SetupError, why);
        }
        if (why = parent_fault(*dir); !why.empty()) return fail(Failure::Kind::SetupError, why);
    }
    made.kept = true;
    return make_cgroup_v1(memory, cpu, cpuacct, pids, prefix);
}

}  // namespace

Expected<std::unique_ptr<CgroupManager>> detect_cgroups(const std::string& parent,
                                                        std::string_view name_prefix) {
    // A path below each hierarchy's root: ".." led out of the cgroup mount, to a plain
    // directory taken for a cgroup, whose "limits" were files (red team, 2026-12-06).
    for (const std::string& part : path_components("/" + parent)) {
        if (part == "..") {
            return fail(Failure::Kind::InvalidConfig,
                        "cgroup_parent '" + parent + "' climbs out of the cgroup hierarchy (\"..\")");
        }
    }
    auto mounts = fs::cgroup_mounts();
    const auto own = fs::OwnCgroups::read();  // read once, looked up per hierarchy
    std::string why_v2 = "no cgroup v2 hierarchy is mounted";
    for (const auto& m : mounts) {
        if (m.fstype != "cgroup2") continue;
        if (auto v2 = try_v2(m, own, parent, name_prefix, why_v2)) return v2;
        break;
    }
    std::string why_v1;
    if (auto v1 = try_v1(mounts, own, parent, name_prefix, why_v1)) return v1;
    return fail(Failure::Kind::SetupError, "no usable cgroup hierarchy: " + why_v2 + "; " + why_v1);
}

double CgroupManager::cpu_ceiling() const {
    return std::numeric_limits<double>::infinity();
}

double setup_cpu_share(const CgroupManager& cgroups, double wanted, double program_share) {
    return std::max(program_share, std::min(wanted, cgroups.cpu_ceiling()));
}

uint64_t cpu_quota_us(double fraction) {
    return static_cast<uint64_t>(std::llround(fraction * double(kCpuPeriodUs)));
}

}  // namespace microvm::host
