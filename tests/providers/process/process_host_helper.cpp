// A host process for the host-death test: runs one long sandboxed shell whose command line holds
// MARKER, so the test can kill this host and watch the sandbox die with it.
//   process_host_helper MARKER
#include <cstdio>

#include "process/process_provider.hpp"

int main(int argc, char** argv) {
    if (argc < 2) return 64;
    microvm::ProcessProvider provider;
    if (auto ok = provider.initialize(); !ok) {
        std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        return 125;
    }
    microvm::ExecutionContext ctx;
    ctx.program =
        microvm::ExternalProgram{"/bin/sh", {"-c", "sleep 1000; : " + std::string(argv[1])}};
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_only();
    ctx.config.timeout = std::chrono::seconds(600);
    microvm::ExecutionResult r = provider.execute_program(ctx);
    std::printf("%s\n", microvm::to_string(r.status));
    return 0;
}
