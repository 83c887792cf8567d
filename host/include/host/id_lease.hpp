// Numbers a host hands to one sandbox at a time (a root host's per-sandbox host ids): a lease is
// a number from [0, kIdLeaseCount) that no other live lease on this host holds, in this process
// or in any other (the CLI, microvmd, tests in parallel), until it is destroyed or its process
// dies.
//
// The claim is an abstract Unix socket bound to a name of the number: the kernel refuses a second
// bind of a name while the first socket exists and drops the name with its last descriptor, so a
// crashed host leaves nothing behind and nothing has to be swept. Numbers are drawn at random: a
// process that binds such names itself (a local user, a sandbox on the host network) can only
// make the numbers it holds unavailable, and cannot predict which ones a host will try.
// Abstract names are per network namespace: host processes in different network namespaces
// (different containers) are kept apart by the random draw only (one pair in 2^24).
#pragma once

#include <cstdint>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

inline constexpr uint32_t kIdLeaseCount = 1u << 24;

class IdLease {
  public:
    // SetupError when no free number was drawn in a few dozen tries (numbers held by others),
    // or a socket could not be made.
    static Expected<IdLease> take();

    uint32_t number() const { return number_; }

  private:
    IdLease(UniqueFd claim, uint32_t number) : claim_(std::move(claim)), number_(number) {}
    UniqueFd claim_;
    uint32_t number_;
};

}  // namespace microvm::host
