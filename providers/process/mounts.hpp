// Child side of the root file system (async-signal-safe): executes the mount plan the host
// prepared (see rootfs.hpp) inside the new mount namespace.
#pragma once

#include "process/child_failure.hpp"
#include "process/child_plan.hpp"

namespace microvm::process {

struct MountState {
    int trees[kMaxChildMounts];  // detached trees of the binds, -1 for other mounts
};

// Phase 1, still with the host credentials (so host paths resolve with the host's permissions):
// makes every inherited mount private, then takes each bind's tree: the one the host cloned, or
// else a clone of the source opened here refusing every symlink, which must be the object the
// host checked (same device and inode: ESTALE otherwise), with its final attributes
// (read-only, nosuid, nodev).
bool clone_bind_sources(const ChildPlan& plan, MountState& state, ChildFailure& f);

// Phase 2, as the sandbox user: builds the new root (a fresh tmpfs) from the trees, a fresh
// /proc and tmpfs mounts, pivots into it, drops the old root and makes the root read-only. With
// a host root (fs Full) it only mounts a fresh /proc.
bool assemble_root(const ChildPlan& plan, MountState& state, ChildFailure& f);

}  // namespace microvm::process
