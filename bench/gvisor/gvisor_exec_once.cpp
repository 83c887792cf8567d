// One execution through the gvisor provider, as a process of its own: what a one-shot user (the
// CLI) pays, minus the CLI. bench/gvisor/compare.sh runs it side by side with raw
// `runsc --platform=ptrace do /bin/true` under hyperfine.
//
//   gvisor_exec_once [PROGRAM [ARGS...]]      (default /bin/true; exit status = the program's)
#include <cstdio>

#include "gvisor/gvisor_provider.hpp"

int main(int argc, char** argv) {
    microvm::GvisorProvider provider;
    if (auto ok = provider.initialize(); !ok) {
        std::fprintf(stderr, "gvisor: %s\n", ok.error().message.c_str());
        return 125;
    }
    microvm::ExecutionContext ctx;
    microvm::ExternalProgram program{argc > 1 ? argv[1] : "/bin/true", {}};
    for (int i = 2; i < argc; ++i) program.args.emplace_back(argv[i]);
    ctx.program = std::move(program);
    microvm::ExecutionResult r = provider.execute_program(ctx);
    std::fwrite(r.metadata.stdout_data.data(), 1, r.metadata.stdout_data.size(), stdout);
    std::fwrite(r.metadata.stderr_data.data(), 1, r.metadata.stderr_data.size(), stderr);
    if (r.error && r.status != microvm::Status::RuntimeError) {
        std::fprintf(stderr, "gvisor: %s: %s\n", r.error->kind.c_str(), r.error->message.c_str());
        return 125;
    }
    return r.metadata.exit_code.value_or(125);
}
