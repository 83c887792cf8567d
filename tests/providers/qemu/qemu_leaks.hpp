// What a qemu test checks is left behind by a host process: its QEMU processes, VM directories
// and cgroups (each named after the host's pid).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace qemutest {

namespace fs = std::filesystem;

inline constexpr const char* kStateDir = "/run/microvm-qemu";

// The QEMU processes working in a VM directory of host pid `owner`, with their
// real uids.
inline std::vector<std::pair<pid_t, uid_t>> qemus_of(pid_t owner) {
    std::vector<std::pair<pid_t, uid_t>> found;
    const std::string needle = std::string(kStateDir) + "/vm-" + std::to_string(owner) + ".";
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::ifstream in(e.path() / "cmdline");
        std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmd.find("qemu-system") == std::string::npos) continue;
        // Its VM directory is its working directory (a restored QEMU's command line names none).
        std::error_code ec;
        const std::string cwd = fs::read_symlink(e.path() / "cwd", ec).string();
        if (ec || cwd.rfind(needle, 0) != 0) continue;
        struct stat st;
        if (::stat(e.path().c_str(), &st) != 0) continue;  // /proc/PID belongs to the real uid
        found.emplace_back(static_cast<pid_t>(std::stol(e.path().filename())), st.st_uid);
    }
    return found;
}

inline int qemu_processes_of(pid_t owner) { return static_cast<int>(qemus_of(owner).size()); }

inline int vm_dirs_of(pid_t owner) {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(kStateDir, ec)) {
        if (e.path().filename().string().rfind("vm-" + std::to_string(owner) + ".", 0) == 0) ++n;
    }
    return n;
}

// cgroups named microvm-qemu-<owner>.<pid namespace>-* in any hierarchy.
inline int cgroups_of(pid_t owner) {
    int n = 0;
    const std::string prefix = "microvm-qemu-" + std::to_string(owner) + ".";
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator("/sys/fs/cgroup", ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_directory(ec) && it->path().filename().string().rfind(prefix, 0) == 0) {
            ++n;
            it.disable_recursion_pending();
        }
    }
    return n;
}

}  // namespace qemutest
