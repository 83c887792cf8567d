// Small file-tree helpers for the provider's private directories (bundles, state roots).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::gvisor {

// Removes path and everything below it without ever crossing into another mount or following
// symlinks: what is mounted below is detached first, and while anything still is (a detach
// refused), nothing is removed. True when gone.
bool remove_tree(const std::string& path);

// mkdir with the given mode (umask ignored); EEXIST is an error.
Expected<void> make_dir(const std::string& path, mode_t mode);

Expected<void> write_whole_file(const std::string& path, const std::string& data);

// At most max_bytes of the file; truncated is set when it is longer. nullopt when unreadable.
struct FileContents {
    std::string data;
    bool truncated = false;
};
std::optional<FileContents> read_file_capped(const std::string& path, uint64_t max_bytes);

}  // namespace microvm::gvisor
