// A host process for the host-death tests: runs one long sandboxed shell whose command line holds
// MARKER, so the test can kill this host and watch the sandbox die with it; with "ahead", builds
// two sandboxes ahead (no program in them yet), says "ready" and waits.
//   process_host_helper MARKER [ahead]
#include <unistd.h>

#include <cstdio>
#include <string>

#include "process/process_provider.hpp"

int main(int argc, char** argv) {
    if (argc < 2) return 64;
    microvm::ProcessProvider provider;
    if (auto ok = provider.initialize(); !ok) {
        std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        return 125;
    }
    if (argc > 2 && std::string(argv[2]) == "ahead") {
        microvm::ExecutionContext shape;
        shape.program = microvm::ExternalProgram{"/bin/true", {}};
        auto a = provider.prepare(shape), b = provider.prepare(shape);
        if (!a || !b) return 125;
        std::printf("ready\n");
        std::fflush(stdout);
        ::pause();
        return 0;
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
