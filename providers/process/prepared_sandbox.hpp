// A process sandbox built ahead (Sandbox::prepare): the init has built namespaces, root and
// cgroup for a request shape and waits on its launch socket. launch() restarts the cgroup's
// measurements, sends the program's argv and environment and supervises it as a fresh run
// would, with the request's time limit, input and output caps counted from the launch.
#pragma once

#include <memory>

#include "host/deferred_teardown.hpp"
#include "host/sandbox.hpp"

namespace microvm::process {

struct LiveSandbox;

// teardown takes the sandbox once its launch returned (deferred_teardown.hpp).
std::unique_ptr<host::PreparedRun> make_prepared_run(std::unique_ptr<LiveSandbox> live,
                                                     const host::SandboxRequest& shape,
                                                     std::shared_ptr<host::DeferredTeardown> teardown);

}  // namespace microvm::process
