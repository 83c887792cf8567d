// Directory listing with the DIR* owned (closed on every path), and the common case of it: the
// names in a directory.
#pragma once

#include <dirent.h>

#include <memory>
#include <string>
#include <vector>

namespace microvm::host {

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};
using DirStream = std::unique_ptr<DIR, DirCloser>;

// A stream over the directory fd names; it takes fd, closing it if no stream can be made (empty
// then, errno set).
DirStream adopt_dir(int fd);
// A stream over the directory at path; empty (errno set) when it cannot be opened.
DirStream open_dir(const std::string& path);

// The names in dir, "." and ".." left out; empty when it cannot be read.
std::vector<std::string> entry_names(const std::string& dir);

}  // namespace microvm::host
