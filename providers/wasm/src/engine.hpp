// Runs one compiled module under one execution's config: its own wabt Store and Thread, the WASI
// and microvm host functions, preopens from the fs policy, the memory cap, and the deadline,
// checked between fuel slices of the interpreter (so is cancellation).
//
// This is also the entry point for the RTFS runtime compiled to wasm32-wasi (rtfs_guest.hpp):
// stdin carries the job, fd 3 is a write-only result sink (RunRequest::result_sink), the
// preopens follow at fd 4, 5, ...; http-fetch goes through the "microvm" import.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <chrono>
#include <string>
#include <vector>

#include "microvm/config.hpp"
#include "microvm/context.hpp"
#include "microvm/error.hpp"
#include "microvm/result.hpp"
#include "fd_table.hpp"
#include "guest_snapshot.hpp"

namespace microvm::wasm {

struct CompiledModule;
struct GuestSnapshot;

struct RunRequest {
    std::string program_name = "module.wasm";  // argv[0]
    std::vector<std::string> args;             // argv[1..], plain strings
    std::string stdin_data;                    // the guest's stdin (empty by default)
    bool result_sink = false;                  // fd 3 captures bytes written to it
    size_t result_cap = 64u << 20;
    size_t max_call_depth = 0;                 // wasm call frames; 0 = limits::kMaxCallDepth
    OutputSink on_output;                      // optional: output chunks as they are written
    const std::atomic<bool>* cancel = nullptr;  // optional: ends the run as cancelled
    // Allow/block lists: http_fetch sends through the execution's egress proxy at this URL
    // (host/egress.hpp), which judges, resolves and records; empty: straight, after the policy.
    std::string http_proxy;
    // Set with an http_proxy on a Unix socket: each connection to it is a descriptor this
    // returns (rtfs::host::HostOptions::proxy_socket), for an engine that may open no socket.
    std::function<int()> proxy_socket;
    // Entry: a command's _start; or a reactor's init_export, then run_export. With a snapshot
    // of the module after its init_export (guest_snapshot.hpp) that fits this run, the run starts
    // from it instead of running init_export (and the start function) itself.
    std::string init_export;
    std::string run_export = "_start";
    const GuestSnapshot* snapshot = nullptr;
    // Set: the execution's deadline, when it began before this call (a snapshot taken for it
    // counts against its timeout); else started + config.timeout.
    std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Status, error and measured metadata of one run (the provider adds id, provider name, ...).
struct RunOutcome {
    std::optional<Reason> failure;  // nullopt: ok
    std::string error_message;
    ExecutionMetadata metadata;
    std::string result_bytes;  // what the guest wrote to the result sink
    bool result_truncated = false;
};

// Memory rule: memory_limit_mb caps linear memory. A module whose declared initial memory is
// above the cap is refused (memory_exceeded) before it runs; memory.grow past the cap returns
// -1 to the module; and a run that then fails (trap, or non-zero exit) after such a refusal ends
// with memory_exceeded instead of runtime_error. A module that handles the refusal and exits 0
// is ok. memory_peak_mb is the linear memory high-water mark (wasm memory never shrinks), not
// the host process's RSS.
RunOutcome run_module(const CompiledModule& module, const MicroVMConfig& config,
                      const RunRequest& request);

// The file table a run starts with: stdio, the result sink when result_sink, and the fs policy's
// directories opened and checked (add_preopens). For a caller that opens them before it confines
// itself (engine_process.hpp); run_module above opens them itself.
Expected<FdTable> open_preopens(const FileSystemPolicy& policy, bool result_sink);
// As run_module, starting from that table (its failure is the run's invalid_config).
RunOutcome run_module(const CompiledModule& module, const MicroVMConfig& config,
                      const RunRequest& request, Expected<FdTable> preopens);


// The module's state after its start function and init_export, from a run of those alone in which
// every host function traps (guest_snapshot.hpp), with the default memory limit and a 10 s
// deadline (or the bounds' earlier one). InvalidInput naming why when there is none (a host call,
// a trap, a memory growth the limit refused, state a snapshot does not carry, the bounds).
Expected<GuestSnapshot> initialise_for_snapshot(const CompiledModule& module,
                                                const std::string& init_export,
                                                size_t max_call_depth, SnapshotBounds bounds = {});

}  // namespace microvm::wasm
