// Where the files this process keeps private (host/private_files.hpp) lie in their file systems,
// and where a mount table shows them: what a Landlock grant must be split around
// (host/landlock_private.hpp). Landlock's rules attach to what is mounted, not to paths, so a
// kept path is judged by its place (mountinfo's device and the path inside that file system):
// a bind mount of it, of a directory above it or of something inside it, and an rbind of /,
// show it again, and a red team read a token through each (2026-12-07). Pure arithmetic on one
// snapshot of the mount table.
#pragma once

#include <string>
#include <vector>

#include "host/mountinfo.hpp"

namespace microvm::host {

class KeptPlaces {
  public:
    // kept: real paths, in covered_by's sense (a kept file's rotated PATH.N too).
    KeptPlaces(std::vector<MountEntry> mounts, const std::vector<std::string>& kept);

    // Where a kept place appears strictly inside the directory real (a resolved path), through
    // the mount that shows real or any mount below it. Besides the kept paths, the places hold
    // the mount points under every mount that holds or shows one (or something inside one):
    // Landlock's walk from a file goes up through each mount point into the file system below,
    // so a rule on a directory above any of them grants what that mount shows (review,
    // 2026-12-07: a tree at a plain bind of a directory above a tmpfs holding the token).
    std::vector<std::string> inside(const std::string& real) const;

    // Whether real (a resolved path) is a kept place or lies inside one, whichever mount shows it.
    bool covers(const std::string& real) const;

  private:
    std::vector<MountEntry> mounts_;
    std::vector<FsPlace> places_;
};

}  // namespace microvm::host
