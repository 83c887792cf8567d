// A gVisor sandbox built ahead (Runtime::prepare): its container runs with the launcher as its
// process (launch_format.hpp), waiting for one launch message. launch() checks the request's
// shape, restarts the cgroup's measurements, sends the request's argv and environment followed
// by its stdin, and then supervises exactly as a fresh run does (same deadline, output caps,
// cancellation, classification), all measured from that moment. Used once; destroyed unused, it
// tears the container down (LiveContainer). It dies with the host thread that prepared it, as
// runsc run does (PR_SET_PDEATHSIG), and must not outlive its Runtime.
#pragma once

#include <memory>

#include "gvisor/live_container.hpp"
#include "host/deferred_teardown.hpp"
#include "host/sandbox.hpp"

namespace microvm::gvisor {

// teardown takes the container once its launch returned (deferred_teardown.hpp).
std::unique_ptr<host::PreparedRun> make_prepared_run(std::unique_ptr<LiveContainer> container,
                                                     const host::SandboxRequest& shape,
                                                     std::shared_ptr<host::DeferredTeardown> teardown);

}  // namespace microvm::gvisor
