// Child side (async-signal-safe): a fresh network namespace starts with its loopback interface
// down; bring it up so the program can still talk to itself on 127.0.0.1.
#pragma once

#include <cstdint>

#include "process/child_failure.hpp"

namespace microvm::process {

bool bring_up_loopback(ChildFailure& f);

// Allow/block lists: binds a listening TCP socket on 127.0.0.1:port in this (the sandbox's)
// network namespace and sends it over the Unix socket to_host (SCM_RIGHTS); the host's egress
// proxy accepts on it. The socket stays in this namespace, so it is the sandbox's loopback the
// proxy answers on: no forwarder runs inside, and the init keeps no copy (the program cannot
// take the port over; it can only connect to it).
bool hand_over_egress_listener(int to_host, uint16_t port, ChildFailure& f);

}  // namespace microvm::process
