// Gates that bound RTFS capability calls by an execution's policies, for runtimes whose
// capability calls run in a process the kernel does not confine (the in-process mock provider)
// and, as a second line with clearer errors, inside sandboxes (the guest runner).
#pragma once

#include "microvm/policy.hpp"
#include "rtfs/host/default_host.hpp"

namespace microvm {

// Denies http-fetch to hosts the network policy does not permit.
rtfs::host::NetworkGate network_gate(const NetworkPolicy& policy);
// Denies file capabilities outside what the file-system policy exposes: None nothing;
// ReadOnly{paths} reads under paths (empty: standard system dirs); ReadWrite{paths} reads and
// writes under paths; Full everything. Paths are compared after symlink resolution.
rtfs::host::FileGate file_gate(const FileSystemPolicy& policy);

}  // namespace microvm
