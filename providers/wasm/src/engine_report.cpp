#include "engine_report.hpp"

#include <cstdint>

#include "codec_io.hpp"
#include "rtfs/effects.hpp"

namespace microvm::wasm {
namespace {

// A string of at most bound bytes; the reader refuses longer (codec::Reader bounds it by what is
// left already, so nothing is allocated beyond the report's own size).
bool bounded(codec::Reader& r, std::string& out, size_t bound) {
    std::string_view view = r.bytes();
    if (!r.ok() || view.size() > bound) return false;
    out.assign(view);
    return true;
}

bool flag(codec::Reader& r, bool& out) {
    const auto b = r.pod<uint8_t>();
    out = b == 1;
    return r.ok() && b <= 1;
}

}  // namespace

std::string encode_report(const RunOutcome& o) {
    const ExecutionMetadata& m = o.metadata;
    codec::Writer w;
    w.pod<uint8_t>(o.failure ? 1 : 0);
    w.pod<uint32_t>(o.failure ? static_cast<uint32_t>(*o.failure) : 0);
    w.string(std::string_view(o.error_message).substr(0, kMaxReportMessage));
    w.pod<uint8_t>(m.exit_code ? 1 : 0);
    w.pod<uint32_t>(static_cast<uint32_t>(m.exit_code.value_or(0)));
    w.pod<uint8_t>(m.memory_peak_mb ? 1 : 0);
    w.pod<double>(m.memory_peak_mb.value_or(0));
    w.pod<uint8_t>(m.stdout_truncated ? 1 : 0);
    w.pod<uint8_t>(m.stderr_truncated ? 1 : 0);
    w.vec(m.network_requests, [&w](const rtfs::NetworkRequest& r) {
        w.string(r.url);
        w.string(r.method);
        w.pod<uint32_t>(static_cast<uint32_t>(r.status));
        w.pod<uint64_t>(r.bytes);
        w.string(r.error);
    });
    w.string(o.result_bytes);
    w.pod<uint8_t>(o.result_truncated ? 1 : 0);
    return w.take();
}

std::optional<RunOutcome> decode_report(std::string_view bytes, size_t result_cap) {
    constexpr size_t kText = rtfs::EffectLog::kMaxRecordText;
    constexpr size_t kRecordBytes = 4 + 4 + 4 + 8 + 4;  // a record's least encoding
    codec::Reader r(bytes);
    RunOutcome o;
    ExecutionMetadata& m = o.metadata;
    bool has_failure, has_exit, has_memory;
    if (!flag(r, has_failure)) return std::nullopt;
    const auto failure = r.pod<uint32_t>();
    if (!bounded(r, o.error_message, kMaxReportMessage) || !flag(r, has_exit)) return std::nullopt;
    const auto exit_code = r.pod<uint32_t>();
    if (!flag(r, has_memory)) return std::nullopt;
    const auto memory = r.pod<double>();
    if (!flag(r, m.stdout_truncated) || !flag(r, m.stderr_truncated)) return std::nullopt;
    const uint32_t count = r.count(kRecordBytes);
    if (!r.ok() || count > rtfs::EffectLog::kMaxRecords) return std::nullopt;
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
        if (!bounded(r, q.url, kText) || !bounded(r, q.method, kText)) return std::nullopt;
        const auto status = r.pod<uint32_t>();
        q.bytes = r.pod<uint64_t>();
        if (!r.ok() || status > 999 || !bounded(r, q.error, kText)) return std::nullopt;
        q.status = static_cast<int>(status);
        q.reported_by_sandbox = true;  // the child's word: a module that took it over wrote it
        m.network_requests.push_back(std::move(q));
    }
    if (!bounded(r, o.result_bytes, result_cap) || !flag(r, o.result_truncated) || !r.at_end()) return std::nullopt;
    return o;
}

}  // namespace microvm::wasm
