// Everything one execution's host functions share: the guest's inputs and descriptors, its
// captured outputs, and what the host observed (exit code, refused memory growth, requests).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cpu_pacing.hpp"
#include "fd_table.hpp"
#include "guest_memory.hpp"
#include "microvm/config.hpp"
#include "microvm/capped_text.hpp"
#include "microvm/context.hpp"
#include "rtfs/effects.hpp"

namespace microvm::wasm {

struct RunState {
    RunState(const MicroVMConfig& cfg, bool with_result_sink, size_t result_cap)
        : config(cfg),
          fds(with_result_sink),
          out(cfg.max_output_bytes),
          err(cfg.max_output_bytes),
          result(result_cap) {}

    const MicroVMConfig& config;
    std::vector<std::string> args;     // argv; argv[0] is the program name
    std::vector<std::string> environ;  // "KEY=VALUE", exactly config.env_vars
    std::string stdin_data;
    size_t stdin_offset = 0;
    size_t max_call_depth = 0;  // wasm call frames

    std::chrono::steady_clock::time_point deadline;

    FdTable fds;
    CappedText out, err, result;
    OutputSink on_output;                       // stdout/stderr chunks as the module writes them
    const std::atomic<bool>* cancel = nullptr;  // set: end the run (cancelled)
    wabt::interp::Memory* memory = nullptr;  // the module's exported "memory", once instantiated
    uint64_t memory_cap_pages = 0;           // memory_limit_mb in 64 KiB pages

    // While a reactor's init export runs (RunRequest::init_export): the guest sees no preopened
    // directory (fd_prestat_get answers EBADF), so wasi-libc's start-up scan finds none whatever
    // the fs policy, as when a snapshot is taken; the guest registers them when it runs.
    bool initialising = false;
    // Every host function traps (initialise_for_snapshot: an initialisation that calls the host
    // depends on it, so it gives no snapshot), except fd_prestat_get, which answers EBADF as
    // while initialising; refused_host_call then names the import.
    bool refuse_host_calls = false;
    std::string refused_host_call;
    std::optional<uint32_t> exit_code;  // set by proc_exit
    bool timed_out = false;             // a host call returned past the deadline
    bool cancelled = false;             // ended because cancel was set
    bool grow_refused_by_cap = false;   // a memory.grow failed because of memory_limit_mb
    // The import's records, bounded (rtfs::record_bounded): a module may fetch in a loop.
    std::vector<rtfs::NetworkRequest> network_requests;
    uint64_t network_unrecorded = 0;
    std::string http_proxy;  // RunRequest::http_proxy
    std::function<int()> proxy_socket;  // RunRequest::proxy_socket
    std::optional<std::string> http_response;  // the last http_fetch's response, until read

    CpuPacing pacing;  // config.cpu_limit, from the run's start

    GuestMemory mem() const { return GuestMemory(memory); }
    // Sleeps off CPU time used beyond the share (cpu_pacing.hpp); look at the deadline and
    // cancellation after it.
    void pace() const { pacing.pace(deadline, cancel); }
    bool past_deadline() const { return std::chrono::steady_clock::now() >= deadline; }
    bool cancel_requested() const { return cancel && cancel->load(); }
};

}  // namespace microvm::wasm
