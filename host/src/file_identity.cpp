#include "host/file_identity.hpp"

#include "host/paths.hpp"

namespace microvm::host {

std::optional<FileIdentity> identity_at(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return identity_of(st);
}

std::optional<FileIdentity> identity_of_entry(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    return identity_of(st);
}

std::optional<FileIdentity> identity_of_fd(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::nullopt;
    return identity_of(st);
}

bool lies_within_by_identity(const std::string& below, const std::string& above) {
    const std::optional<FileIdentity> target = identity_at(above);
    if (!target) return false;
    for (std::string p = below;; p = parent_path(p)) {
        if (identity_at(p) == target) return true;
        if (p == "/" || p.empty()) return false;
    }
}

}  // namespace microvm::host
