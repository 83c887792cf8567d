// What `microvm bench` measures: one row per (subject, workload), each an argv run as a whole
// process.
#pragma once

#include <string>
#include <vector>

namespace microvm::cli {

struct BenchRow {
    std::string subject;   // provider name, or the peer ("bwrap", "runsc do", ...)
    bool peer = false;
    std::string workload;  // "empty", "rtfs (+ 1 2)", "compute 100 ms"
    std::vector<std::string> argv;
    std::vector<double> samples_ms;
    int failures = 0;
    std::string note;      // why a row has no samples, or what it ran instead
};

struct BenchWorkloads {
    std::string self;          // this microvm binary
    std::string work_dir;      // private directory for the empty wasm module
    std::string python3;       // empty when not installed
    double compute_ms = 100;   // what the compute job costs natively
    std::string run_limit;     // --timeout of a provider's compute run: the row budget
    long compute_iterations;   // RTFS loop iterations that take about compute_ms natively
    long python_iterations;    // the same for python3
    std::string daemon;        // non-empty: the providers' eval and run rows again through microvmd there
};

// A peer's executable (bwrap, runsc, srt, python3): the system directories first (a version
// manager's shim on PATH, pyenv's a bash script, would time the shim), then PATH; empty when
// none. Run as root, only a trusted executable (root's, written by no one else, as the gvisor
// provider's runsc; the reason is printed otherwise): a directory on PATH that another user
// can write decided what root ran (red team, 2026-12-06).
std::string find_peer(const std::string& name);

// RTFS source of the compute job: a counting loop of n iterations.
std::string rtfs_compute_source(long n);
// python3 source of the compute job.
std::string python_compute_source(long n);

// Rows for the given providers (their names and what they run), through the daemon too when
// w.daemon is set (subject "NAME (microvmd)"; a module's row stays local: `wasm` is not sent),
// and, when wanted, for the peers found installed.
struct ProviderSummary {
    std::string name;
    bool runs_external = false;
    bool runs_rtfs = false;
    bool runs_wasm = false;
};
std::vector<BenchRow> bench_rows(const std::vector<ProviderSummary>& providers, bool peers,
                                 const BenchWorkloads& w);

}  // namespace microvm::cli
