// The OCI linux.seccomp section every gvisor container gets (runsc --oci-seccomp installs it in
// the sentry, on top of gVisor's own system-call implementation): the process provider's policy
// (process/seccomp_policy.hpp) as allow rules over a denying default. runsc 2022 ignores
// errnoRet and answers EPERM for every refusal.
#pragma once

#include <nlohmann/json.hpp>

namespace microvm::gvisor {

nlohmann::json oci_seccomp();

}  // namespace microvm::gvisor
