#include "service/metrics.hpp"

#include <cstdio>
#include <sstream>

namespace microvm::service {

namespace {

// Label values are provider names and statuses, but escape as the format demands anyway.
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

}  // namespace

void Metrics::execution_finished(const std::string& provider, const std::string& status,
                                 std::chrono::nanoseconds duration) {
    const double s = std::chrono::duration<double>(duration).count();
    std::lock_guard lock(mu_);
    ++executions_[{provider, status}];
    Histogram& h = durations_[provider];
    for (size_t i = 0; i < kBuckets.size(); ++i)
        if (s <= kBuckets[i]) ++h.counts[i];
    ++h.count;
    h.sum += s;
}

void Metrics::proxy_connections(const std::string& provider, uint64_t allowed, uint64_t denied) {
    std::lock_guard lock(mu_);
    if (allowed) proxy_[{provider, "allowed"}] += allowed;
    if (denied) proxy_[{provider, "denied"}] += denied;
}

void Metrics::http_response(int status) {
    std::lock_guard lock(mu_);
    ++http_[status];
}

void Metrics::session_event(const std::string& what) {
    std::lock_guard lock(mu_);
    ++sessions_[what];
}

void Metrics::quota_refused(const std::string& quota) {
    std::lock_guard lock(mu_);
    ++quota_refusals_[quota];
}

std::string Metrics::render(const Gauges& g) const {
    std::ostringstream o;
    std::lock_guard lock(mu_);
    o << "# HELP microvmd_executions_total Executions finished, by provider and result status.\n"
         "# TYPE microvmd_executions_total counter\n";
    for (const auto& [k, n] : executions_)
        o << "microvmd_executions_total{provider=\"" << label(k.first) << "\",status=\""
          << label(k.second) << "\"} " << n << "\n";
    o << "# HELP microvmd_execution_duration_seconds Measured wall-clock duration of executions.\n"
         "# TYPE microvmd_execution_duration_seconds histogram\n";
    for (const auto& [p, h] : durations_) {
        const std::string l = "provider=\"" + label(p) + "\"";
        for (size_t i = 0; i < kBuckets.size(); ++i)
            o << "microvmd_execution_duration_seconds_bucket{" << l << ",le=\"" << number(kBuckets[i])
              << "\"} " << h.counts[i] << "\n";
        o << "microvmd_execution_duration_seconds_bucket{" << l << ",le=\"+Inf\"} " << h.count << "\n";
        o << "microvmd_execution_duration_seconds_sum{" << l << "} " << number(h.sum) << "\n";
        o << "microvmd_execution_duration_seconds_count{" << l << "} " << h.count << "\n";
    }
    o << "# HELP microvmd_active_executions Executions running now (active sandboxes), by provider.\n"
         "# TYPE microvmd_active_executions gauge\n";
    for (const auto& [p, rq] : g.running_and_queued)
        o << "microvmd_active_executions{provider=\"" << label(p) << "\"} " << rq.first << "\n";
    o << "# HELP microvmd_queued_executions Executions waiting for a slot, by provider.\n"
         "# TYPE microvmd_queued_executions gauge\n";
    for (const auto& [p, rq] : g.running_and_queued)
        o << "microvmd_queued_executions{provider=\"" << label(p) << "\"} " << rq.second << "\n";
    o << "# HELP microvmd_active_sandboxes Sessions (stateful sandboxes) alive now.\n"
         "# TYPE microvmd_active_sandboxes gauge\n"
      << "microvmd_active_sandboxes " << g.active_sessions << "\n";
    o << "# HELP microvmd_request_body_bytes_held Bytes of request bodies reserved by requests being received.\n"
         "# TYPE microvmd_request_body_bytes_held gauge\n"
      << "microvmd_request_body_bytes_held " << g.body_bytes_held << "\n";
    o << "# HELP microvmd_request_body_bytes_limit The daemon-wide budget of request bodies held at once (over it: 503).\n"
         "# TYPE microvmd_request_body_bytes_limit gauge\n"
      << "microvmd_request_body_bytes_limit " << g.body_bytes_limit << "\n";
    o << "# HELP microvmd_sandbox_events_total Session lifecycle events.\n"
         "# TYPE microvmd_sandbox_events_total counter\n";
    for (const auto& [w, n] : sessions_)
        o << "microvmd_sandbox_events_total{event=\"" << label(w) << "\"} " << n << "\n";
    o << "# HELP microvmd_client_quota_refusals_total Requests and connections refused over a per-client quota.\n"
         "# TYPE microvmd_client_quota_refusals_total counter\n";
    for (const auto& [q, n] : quota_refusals_)
        o << "microvmd_client_quota_refusals_total{quota=\"" << label(q) << "\"} " << n << "\n";
    o << "# HELP microvmd_pool_ready Warm instances or sandboxes built ahead ready in each pool.\n"
         "# TYPE microvmd_pool_ready gauge\n";
    for (const auto& [p, f] : g.pools) o << "microvmd_pool_ready{pool=\"" << label(p) << "\"} " << f.ready << "\n";
    o << "# HELP microvmd_pool_target Configured size of each pool.\n"
         "# TYPE microvmd_pool_target gauge\n";
    for (const auto& [p, f] : g.pools) o << "microvmd_pool_target{pool=\"" << label(p) << "\"} " << f.target << "\n";
    o << "# HELP microvmd_pool_hits_total Executions served by a warm instance or a sandbox built ahead.\n"
         "# TYPE microvmd_pool_hits_total counter\n";
    for (const auto& [p, f] : g.pools) o << "microvmd_pool_hits_total{pool=\"" << label(p) << "\"} " << f.hits << "\n";
    o << "# HELP microvmd_pool_misses_total Executions of the pool's provider it could not serve (docs/service.md).\n"
         "# TYPE microvmd_pool_misses_total counter\n";
    for (const auto& [p, f] : g.pools) o << "microvmd_pool_misses_total{pool=\"" << label(p) << "\"} " << f.misses << "\n";
    o << "# HELP microvmd_pool_failures_total Instances or sandboxes a pool failed to make (retried later).\n"
         "# TYPE microvmd_pool_failures_total counter\n";
    for (const auto& [p, f] : g.pools) o << "microvmd_pool_failures_total{pool=\"" << label(p) << "\"} " << f.failures << "\n";
    o << "# HELP microvmd_proxy_connections_total Connections the egress proxy judged, by provider and decision.\n"
         "# TYPE microvmd_proxy_connections_total counter\n";
    for (const auto& [k, n] : proxy_)
        o << "microvmd_proxy_connections_total{provider=\"" << label(k.first) << "\",decision=\""
          << label(k.second) << "\"} " << n << "\n";
    o << "# HELP microvmd_http_responses_total HTTP responses, by status code.\n"
         "# TYPE microvmd_http_responses_total counter\n";
    for (const auto& [c, n] : http_) o << "microvmd_http_responses_total{code=\"" << c << "\"} " << n << "\n";
    return o.str();
}

}  // namespace microvm::service
