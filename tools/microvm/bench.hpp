// `microvm bench`: one-shot latency of each available provider and of the sandboxes a user would
// compare it with (bwrap, `runsc do`, srt, plain python3), measured as whole processes on this
// machine, interleaved round by round so that drift in the machine's load hits every row alike.
#pragma once

#include <string>
#include <vector>

namespace microvm::cli {

// What the options may be (larger is refused as a usage error).
inline constexpr int kMaxBenchRuns = 100000;
inline constexpr double kMaxComputeMs = 10000;
inline constexpr double kMaxRowBudgetS = 3600;

struct BenchOptions {
    int runs = 20;              // samples per row
    // A row stops sampling once it has spent this long (slow peers); one run longer than this
    // is killed and counted as failed.
    double row_budget_s = 30;
    double compute_ms = 100;    // CPU time of the compute job in plain RTFS / python3
    std::vector<std::string> providers;  // empty: every available provider
    bool peers = true;
    bool json = false;
    std::string svg_file;       // empty: no chart
    // Also each provider's eval and run rows through microvmd at this address (--daemon-rows):
    // the one-shot with a resident helper. The other rows run locally whatever $MICROVM_DAEMON says.
    std::string daemon;
};

int cmd_bench(const BenchOptions& options);

}  // namespace microvm::cli
