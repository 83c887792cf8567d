// A read-only bind inside a writable one protects a file under its own name only: a hard link to
// it elsewhere in the writable tree (planted by an earlier run given that tree, or there before)
// is the same inode, and writes through the link land in the "read-only" file (red team,
// 2026-12-06). The plan looks for such files below a nested read-only source and refuses it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "host/policy_source.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

struct HardLinkSearch {
    std::optional<std::string> linked_file;  // the first regular file found with st_nlink > 1
    nlink_t links = 0;
    bool too_large = false;  // more than max_entries entries, or deeper than 64 directories
};

// Walks the object `identity` names at real_path (opened again refusing every symlink, checked
// against the identity), never following a symlink nor entering another mount's file system
// (a file there cannot be linked from outside it), and stops at the first regular file with more
// than one link or after max_entries entries. A link made after the walk is not seen.
Expected<HardLinkSearch> find_hard_linked_file(const std::string& real_path, const FileIdentity& identity,
                                               bool directory, size_t max_entries);

}  // namespace microvm::host
