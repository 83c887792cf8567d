#include "engine_report.hpp"

#include <cstdint>
#include <cstring>

#include "rtfs/effects.hpp"

namespace microvm::wasm {
namespace {

class Writer {
  public:
    void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(uint32_t v) { raw(&v, sizeof v); }
    void u64(uint64_t v) { raw(&v, sizeof v); }
    void f64(double v) { raw(&v, sizeof v); }
    void text(std::string_view s) {
        u32(static_cast<uint32_t>(s.size()));
        out_.append(s);
    }
    std::string take() { return std::move(out_); }

  private:
    void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
    std::string out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool u8(uint8_t& v) { return raw(&v, sizeof v); }
    bool u32(uint32_t& v) { return raw(&v, sizeof v); }
    bool u64(uint64_t& v) { return raw(&v, sizeof v); }
    bool f64(double& v) { return raw(&v, sizeof v); }
    bool flag(bool& v) {
        uint8_t b;
        if (!u8(b) || b > 1) return false;
        v = b == 1;
        return true;
    }
    bool text(std::string& s, size_t bound) {
        uint32_t n;
        if (!u32(n) || n > bound || n > in_.size()) return false;
        s.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return true;
    }
    bool at_end() const { return in_.empty(); }

  private:
    bool raw(void* p, size_t n) {
        if (in_.size() < n) return false;
        std::memcpy(p, in_.data(), n);
        in_.remove_prefix(n);
        return true;
    }
    std::string_view in_;
};

}  // namespace

std::string encode_report(const RunOutcome& o) {
    const ExecutionMetadata& m = o.metadata;
    Writer w;
    w.u8(o.failure ? 1 : 0);
    w.u32(o.failure ? static_cast<uint32_t>(*o.failure) : 0);
    w.text(std::string_view(o.error_message).substr(0, kMaxReportMessage));
    w.u8(m.exit_code ? 1 : 0);
    w.u32(static_cast<uint32_t>(m.exit_code.value_or(0)));
    w.u8(m.memory_peak_mb ? 1 : 0);
    w.f64(m.memory_peak_mb.value_or(0));
    w.u8(m.stdout_truncated ? 1 : 0);
    w.u8(m.stderr_truncated ? 1 : 0);
    w.u32(static_cast<uint32_t>(m.network_requests.size()));
    for (const rtfs::NetworkRequest& r : m.network_requests) {
        w.text(r.url);
        w.text(r.method);
        w.u32(static_cast<uint32_t>(r.status));
        w.u64(r.bytes);
        w.text(r.error);
    }
    w.text(o.result_bytes);
    w.u8(o.result_truncated ? 1 : 0);
    return w.take();
}

std::optional<RunOutcome> decode_report(std::string_view bytes, size_t result_cap) {
    constexpr size_t kText = rtfs::EffectLog::kMaxRecordText;
    Reader r(bytes);
    RunOutcome o;
    ExecutionMetadata& m = o.metadata;
    bool has_failure, has_exit, has_memory;
    uint32_t failure, exit_code, count;
    double memory;
    if (!r.flag(has_failure) || !r.u32(failure) || !r.text(o.error_message, kMaxReportMessage) ||
        !r.flag(has_exit) || !r.u32(exit_code) || !r.flag(has_memory) || !r.f64(memory) ||
        !r.flag(m.stdout_truncated) || !r.flag(m.stderr_truncated) || !r.u32(count) ||
        count > rtfs::EffectLog::kMaxRecords) {
        return std::nullopt;
    }
    if (has_failure) {
        if (failure > static_cast<uint32_t>(kLastReason)) return std::nullopt;
        o.failure = static_cast<Reason>(failure);
    }
    if (has_exit) m.exit_code = static_cast<int>(exit_code);
    if (has_memory) {
        if (!(memory >= 0 && memory <= 1e9)) return std::nullopt;  // NaN too
        m.memory_peak_mb = memory;
    }
    for (uint32_t i = 0; i < count; ++i) {
        rtfs::NetworkRequest q;
        uint32_t status;
        if (!r.text(q.url, kText) || !r.text(q.method, kText) || !r.u32(status) || status > 999 ||
            !r.u64(q.bytes) || !r.text(q.error, kText)) {
            return std::nullopt;
        }
        q.status = static_cast<int>(status);
        q.reported_by_sandbox = true;  // the child's word: a module that took it over wrote it
        m.network_requests.push_back(std::move(q));
    }
    if (!r.text(o.result_bytes, result_cap) || !r.flag(o.result_truncated) || !r.at_end()) return std::nullopt;
    return o;
}

}  // namespace microvm::wasm
