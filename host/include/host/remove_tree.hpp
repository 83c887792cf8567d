// Removing a directory tree that a sandbox, QEMU or a guest may have written: by descriptor,
// never following a symlink, at any depth (a tree deeper than any recursion or descriptor limit
// could follow is taken apart from the top), through mode-000 directories, and never into what
// is mounted below it.
#pragma once

#include <string>

namespace microvm::host {

// Removes path and everything below it; a symlink or file at path is just unlinked.
void remove_tree(const std::string& path);

}  // namespace microvm::host
