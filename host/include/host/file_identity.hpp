// What a file is, as the kernel tells it (device and inode), whatever name reaches it: another
// mount of the same directory, a bind elsewhere, a hard link. Checks that compare paths alone
// miss those names; these compare identities.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <compare>
#include <optional>
#include <string>

namespace microvm::host {

struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    auto operator<=>(const FileIdentity&) const = default;
};

inline FileIdentity identity_of(const struct stat& st) { return FileIdentity{st.st_dev, st.st_ino}; }

// What path names now (stat: a last symlink is followed); nullopt when it cannot be read.
std::optional<FileIdentity> identity_at(const std::string& path);
// The directory entry path itself (lstat: a symlink is the link).
std::optional<FileIdentity> identity_of_entry(const std::string& path);
// What fd names.
std::optional<FileIdentity> identity_of_fd(int fd);

// Whether `below` (an absolute path) is `above` or lies under it, judged by identity at each
// level of below: another mount of `above` names it otherwise. False when above cannot be read.
bool lies_within_by_identity(const std::string& below, const std::string& above);

}  // namespace microvm::host
