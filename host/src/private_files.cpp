#include "host/private_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "host/file_identity.hpp"
#include "host/paths.hpp"
#include "host/policy_source.hpp"

namespace microvm::host {
namespace {

struct Kept {
    std::string real_path;
};

std::mutex g_mutex;
std::vector<Kept> g_kept;
std::atomic<bool> g_any{false};

// The kept list, copied under the lock and judged outside it: a slow file system under one
// kept path holds no other run's file calls.
std::vector<Kept> kept_snapshot() {
    std::lock_guard lock(g_mutex);
    return g_kept;
}

}  // namespace

bool covered_by(const std::string& path, const std::string& own) {
    if (is_within(path, own)) return true;
    return path.starts_with(own + ".") && path.find('/', own.size()) == std::string::npos;
}

void keep_private(const std::string& path) {
    Kept kept{resolved_path(path)};
    std::lock_guard lock(g_mutex);
    g_kept.push_back(std::move(kept));
    g_any = true;
}

std::vector<std::string> kept_private_paths() {
    std::vector<std::string> out;
    for (const Kept& kept : kept_snapshot()) out.push_back(kept.real_path);
    return out;
}

// Whether a kept path covers real (or, by identity, the object of fd >= 0 is one), and the access
// did not start inside that kept path.
bool private_to(std::optional<std::string> real, const std::optional<FileIdentity>& identity, int from) {
    // A file replaced (renamed over) since it was opened is "PATH (deleted)": judged as PATH.
    constexpr std::string_view kDeleted = " (deleted)";
    if (real && real->ends_with(kDeleted)) real->resize(real->size() - kDeleted.size());
    const std::vector<Kept> kept_now = kept_snapshot();
    std::optional<std::string> from_real;
    for (const Kept& kept : kept_now) {
        const bool inside = !real || covered_by(*real, kept.real_path) || (identity && identity_at(kept.real_path) == identity);
        if (!inside) continue;
        if (!from_real) from_real = fd_real_path(from).value_or("");
        if (from_real->empty() || !is_within(*from_real, kept.real_path)) return true;
    }
    return false;
}

bool reaches_private(int fd, int from) {
    if (!g_any) return false;
    const std::optional<FileIdentity> identity = identity_of_fd(fd);
    if (!identity) return true;  // cannot tell: refused
    return private_to(fd_real_path(fd), identity, from);
}

bool binds_private(const std::string& real_path, const std::vector<std::string>& granted) {
    if (!g_any) return false;
    const std::vector<Kept> kept_now = kept_snapshot();
    // A grant judged where it is, never through a symlink: a client's own rw= directory swapped
    // for a link into another session made that session's files "its own" (a review, 2026-12-07).
    std::vector<std::string> granted_real;
    for (const std::string& g : granted)
        if (auto real = real_path_without_planted_links(g)) granted_real.push_back(*real);
    for (const Kept& kept : kept_now) {
        const bool inside = covered_by(real_path, kept.real_path) || lies_within_by_identity(real_path, kept.real_path);
        if (!inside) continue;
        const bool own_grant = std::any_of(granted_real.begin(), granted_real.end(), [&](const std::string& g) {
            return is_within(g, kept.real_path) && g != kept.real_path && is_within(real_path, g);
        });
        if (!own_grant) return true;
    }
    return false;
}

bool names_private(int parent, const std::string& name, int from) {
    if (!g_any) return false;
    std::optional<std::string> real = fd_real_path(parent);
    if (real) *real = join_path(*real, name);
    return private_to(real, std::nullopt, from);
}

}  // namespace microvm::host
