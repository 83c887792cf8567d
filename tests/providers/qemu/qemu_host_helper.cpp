// A host process that starts one VM running `sleep 600` and waits: the test kills it with
// SIGKILL and checks that its QEMU died with it and that the next provider sweeps its directory.
#include <cstdio>

#include "qemu/qemu_provider.hpp"

int main() {
    microvm::QemuProvider p;
    if (!p.availability().available || !p.initialize(nlohmann::json::object())) return 2;
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/sleep", {"600"}};
    ctx.config.timeout = std::chrono::seconds(600);
    std::printf("started\n");
    std::fflush(stdout);
    p.execute_program(ctx);
    return 0;
}
