// The OCI linux.seccomp section every gvisor container gets (runsc --oci-seccomp installs it in
// the sentry, on top of gVisor's own system-call implementation): the same policy as the
// process provider's filter (process/seccomp.hpp) — the denied system calls, namespace flags of
// clone() and weakening personality() values fail with EPERM. (runsc 2022 ignores errnoRet and
// always answers EPERM, so clone3 is left to gVisor, which does not implement it: ENOSYS.)
#pragma once

#include <nlohmann/json.hpp>

namespace microvm::gvisor {

nlohmann::json oci_seccomp();

}  // namespace microvm::gvisor
