// The daemon's counters in the Prometheus text format (version 0.0.4): executions by provider
// and status, a duration histogram per provider, running and queued executions, active
// sessions, warm-pool sizes, hits and misses, egress-proxy connections by decision, and HTTP
// responses by status.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace microvm::service {

class Metrics {
  public:
    void execution_finished(const std::string& provider, const std::string& status,
                            std::chrono::nanoseconds duration);
    // Connections the sandbox's egress proxy judged in one execution (the result's
    // metadata.network_requests that carry a decision), by provider and decision.
    void proxy_connections(const std::string& provider, uint64_t allowed, uint64_t denied);
    void http_response(int status);
    void session_event(const std::string& what);  // "created", "deleted", "expired", "shutdown"
    // A request or connection refused over a per-client quota ("executions", "sandboxes",
    // "body_bytes", "connections_per_peer").
    void quota_refused(const std::string& quota);

    struct PoolFigures {
        size_t ready = 0;
        size_t target = 0;
        uint64_t hits = 0;
        uint64_t misses = 0;
        uint64_t failures = 0;  // instances or sandboxes the pool could not make
    };
    // Gauges read at scrape time (pools, admission, sessions): the renderer asks for them.
    struct Gauges {
        std::map<std::string, std::pair<size_t, size_t>> running_and_queued;  // by provider
        size_t active_sessions = 0;
        std::map<std::string, PoolFigures> pools;  // by pool name
        size_t body_bytes_held = 0;                // request bodies being received now
        size_t body_bytes_limit = 0;               // ... and the daemon-wide budget for them
    };
    std::string render(const Gauges& gauges) const;

    // Upper bounds of the duration histogram's buckets, in seconds.
    static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1,    5,     30};

  private:
    struct Histogram {
        std::array<uint64_t, kBuckets.size()> counts{};
        uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, uint64_t> executions_;
    std::map<std::string, Histogram> durations_;
    std::map<int, uint64_t> http_;
    std::map<std::pair<std::string, std::string>, uint64_t> proxy_;  // (provider, decision)
    std::map<std::string, uint64_t> sessions_;
    std::map<std::string, uint64_t> quota_refusals_;
};

}  // namespace microvm::service
