// A host process for the host-death test: runs one long sandboxed sleep, so that the test can
// kill this host and watch the sandbox (runsc, its gofer and sentry, all named after this
// host's pid) die with it.
#include <chrono>
#include <cstdio>

#include "gvisor/gvisor_provider.hpp"

int main() {
    microvm::GvisorProvider provider;
    if (auto ok = provider.initialize(); !ok) {
        std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        return 125;
    }
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/sleep", {"1000"}};
    ctx.config.timeout = std::chrono::seconds(600);
    microvm::ExecutionResult r = provider.execute_program(ctx);
    std::printf("%s\n", microvm::to_string(r.status));
    return 0;
}
