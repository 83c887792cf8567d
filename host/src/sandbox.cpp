#include "host/sandbox.hpp"

namespace microvm::host {

bool same_shape(const SandboxRequest& a, const SandboxRequest& b) {
    return a.egress == nullptr && b.egress == nullptr && a.program == b.program &&
           a.runtime_dirs == b.runtime_dirs && a.fs_policy == b.fs_policy &&
           a.host_network == b.host_network && a.limits == b.limits && a.guest == b.guest &&
           a.seccomp_filter == b.seccomp_filter;
}

PreparedRun::PreparedRun(const SandboxRequest& shape) : shape_(shape) {
    shape_.on_output = {};
    shape_.cancel = {};
}

bool PreparedRun::fits(const SandboxRequest& request) const {
    return same_shape(shape_, request);
}

Expected<SandboxReport> PreparedRun::launch(const SandboxRequest& request) {
    if (launched_) return fail(Failure::Kind::SetupError, "this sandbox was already used");
    if (!fits(request)) {
        return fail(Failure::Kind::SetupError,
                    "the request is not of the shape this sandbox was built for");
    }
    if (!sources_unchanged()) {
        return fail(Failure::Kind::SetupError,
                    "a host file bound into this sandbox was replaced since it was built");
    }
    launched_ = true;  // used once, whatever happens
    return launch_checked(request);
}

Expected<std::unique_ptr<PreparedRun>> SandboxBackend::prepare(const SandboxRequest&) const {
    return fail(Failure::Kind::Unsupported, describe() + ": no sandbox is built ahead");
}

}  // namespace microvm::host
