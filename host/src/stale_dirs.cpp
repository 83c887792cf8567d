#include "host/stale_dirs.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "host/remove_tree.hpp"
#include "host/dir_stream.hpp"
#include "microvm/decimal.hpp"
#include "microvm/random.hpp"

namespace microvm::host {
namespace {

// This process's pid namespace (the inode of /proc/self/ns/pid); 0 when it cannot be told.
uint64_t own_pid_namespace() {
    static const uint64_t id = [] {
        struct stat st;
        return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
    }();
    return id;
}

// Where this process's serials start: random, so that a later process given the same pid (a
// host killed and restarted at boot often is) does not name what it makes as the dead one did,
// whose leftovers its sweep leaves alone as its own (every run of such a CLI failed on the
// dead one's cgroup; red team, 2026-12-06).
// Below a million: six digits at most, as paths built on these names have little room (a QMP
// socket's path must fit a Unix socket address).
uint64_t first_serial() {
    return random_u32() % 1'000'000;
}

}  // namespace

std::string owned_name(std::string_view prefix) {
    static std::atomic<uint64_t> serial{first_serial()};
    return std::string(prefix) + std::to_string(::getpid()) + "." +
           std::to_string(own_pid_namespace()) + "-" + std::to_string(serial.fetch_add(1));
}

bool left_by_dead_owner(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix)) return false;
    name.remove_prefix(prefix.size());
    const std::string_view owner = name.substr(0, name.find('-'));
    const size_t dot = owner.find('.');
    const std::optional<pid_t> pid = parse_decimal<pid_t>(owner.substr(0, dot));
    if (!pid || *pid <= 0 || *pid >= (1 << 30)) return false;
    if (dot != std::string_view::npos) {
        const std::optional<uint64_t> ns = parse_decimal<uint64_t>(owner.substr(dot + 1));
        if (!ns || *ns == 0 || *ns != own_pid_namespace()) return false;  // another namespace's pid
    }
    if (*pid == ::getpid()) return false;
    return ::kill(*pid, 0) != 0 && errno == ESRCH;
}

size_t remove_left_by_dead_owners(const std::string& parent, std::string_view prefix,
                                  const std::function<bool(const std::string& path)>& remove) {
    std::vector<std::string> stale;
    for (std::string& name : entry_names(parent)) {
        if (left_by_dead_owner(name, prefix)) stale.push_back(std::move(name));
    }
    size_t removed = 0;
    for (const std::string& name : stale) {
        // Judged again: the pid may be a new process's by now, with the same first name.
        if (left_by_dead_owner(name, prefix) && remove(parent + "/" + name)) ++removed;
    }
    return removed;
}

size_t remove_dirs_of_dead_owners(const std::string& parent, std::string_view prefix) {
    return remove_left_by_dead_owners(parent, prefix, [](const std::string& dir) {
        // What a sandbox or QEMU wrote there: by descriptor, at any depth (remove_all held one
        // descriptor per level, and a tree deeper than the limit stayed, red team 2026-12-04).
        remove_tree(dir);
        struct stat st;
        return ::lstat(dir.c_str(), &st) != 0;
    });
}

}  // namespace microvm::host
