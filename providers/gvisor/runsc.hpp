// How the provider invokes runsc: the binary and the global flags every invocation of one
// provider shares (its private state root, the platform); short subcommands (help) run with a
// hard timeout, so that a wedged runsc never hangs the host.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::gvisor {

// The environment runsc itself runs with: nothing of the host's but a PATH.
inline constexpr const char* kRunscPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ToolOutput {
    bool timed_out = false;
    int wait_status = 0;
    std::string out;  // capped at 64 KiB each
    std::string err;
    bool succeeded() const;  // exited 0 before the timeout
};

// Runs binary with argv (argv[0] included) and no stdin; kills it at the timeout.
Expected<ToolOutput> run_short(const std::string& binary, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout);

struct RunscSettings {
    std::string binary;    // absolute path
    std::string platform;  // "ptrace" or "systrap"
    std::string root;      // private state directory (--root)
};

class Runsc {
  public:
    explicit Runsc(RunscSettings settings) : settings_(std::move(settings)) {}
    const RunscSettings& settings() const { return settings_; }

    // runsc --root=R --platform=P [extra global flags] SUBCOMMAND...
    std::vector<std::string> argv(const std::vector<std::string>& global_flags,
                                  const std::vector<std::string>& subcommand) const;

  private:
    RunscSettings settings_;
};

// The runsc binary: the configured path, else the first on PATH (or the usual sbin dirs).
// Error naming what was searched when there is none.
Expected<std::string> find_runsc(const std::string& configured);

// The platforms this runsc offers (`runsc help platforms`), e.g. {"kvm", "ptrace"}.
std::vector<std::string> runsc_platforms(const std::string& binary);

}  // namespace microvm::gvisor
