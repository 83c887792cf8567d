#include "gvisor/runsc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "host/child_process.hpp"
#include "host/output_capture.hpp"
#include "microvm/trusted_path.hpp"
#include "host/paths.hpp"
#include "host/unique_fd.hpp"
#include "rtfs/ascii_text.hpp"

namespace microvm::gvisor {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kToolOutputCap = 64 * 1024;

}  // namespace

bool ToolOutput::succeeded() const {
    return !timed_out && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

Expected<ToolOutput> run_short(const std::string& binary, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout) {
    using host::make_pipe;
    RTFS_TRY(host::Pipe in, make_pipe());
    RTFS_TRY(host::Pipe out, make_pipe());
    RTFS_TRY(host::Pipe err, make_pipe());
    RTFS_TRY(host::ChildProcess child,
             host::ChildProcess::spawn(
                 {binary, argv, {kRunscPath}, in.read.get(), out.write.get(), err.write.get()}));
    in = {};  // EOF on the child's stdin
    out.write.reset();
    err.write.reset();

    host::CaptureTargets targets;
    targets.stdout_fd = out.read.get();
    targets.stderr_fd = err.read.get();
    targets.pidfd = child.pidfd();
    targets.max_output_bytes = kToolOutputCap;
    targets.deadline = std::chrono::steady_clock::now() + timeout;
    targets.on_deadline = [&child] { child.kill(); };
    host::Captured captured = host::capture_until_exit(std::move(targets));

    ToolOutput result;
    result.timed_out = captured.deadline_hit;
    result.wait_status = child.wait().wait_status;
    result.out = std::move(captured.out.data);
    result.err = std::move(captured.err.data);
    return result;
}

std::vector<std::string> Runsc::argv(const std::vector<std::string>& global_flags,
                                     const std::vector<std::string>& subcommand) const {
    std::vector<std::string> args = {settings_.binary, "--root=" + settings_.root,
                                     "--platform=" + settings_.platform};
    args.insert(args.end(), global_flags.begin(), global_flags.end());
    args.insert(args.end(), subcommand.begin(), subcommand.end());
    return args;
}

Expected<std::string> find_runsc(const std::string& configured) {
    // runsc runs as the host's user (root): it must lie where no sandbox could have planted it.
    if (!configured.empty()) return trusted_executable(configured, "runsc");
    std::string found = host::find_in_dirs("runsc", host::program_search_dirs());
    if (found.empty()) return fail(Failure::Kind::SetupError, "runsc not found on PATH");
    return trusted_executable(found, "runsc");
}

std::vector<std::string> runsc_platforms(const std::string& binary) {
    std::vector<std::string> names;
    auto r = run_short(binary, {binary, "help", "platforms"}, 10s);
    if (!r || !r->succeeded()) return names;
    std::istringstream in(r->out);
    for (std::string line; std::getline(in, line);) {
        const std::string_view name = rtfs::trim_ascii(line);
        if (!name.empty()) names.emplace_back(name);
    }
    return names;
}

}  // namespace microvm::gvisor
