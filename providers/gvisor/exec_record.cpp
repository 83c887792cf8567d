#include "gvisor/exec_record.hpp"
#include "host/sys_error.hpp"
#include "microvm/decimal.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>


namespace microvm::gvisor {
namespace {

constexpr std::string_view kMarker = kExecFailedMarker;

// Whether text could still grow into a record carrying nonce: the marker, then decimal digits
// without a leading zero, then " ", nonce and "\n", within kMaxExecRecordBytes. One rule for the
// stream and the result. Never with an empty nonce (no launch message was sent).
bool could_be_record(std::string_view text, std::string_view nonce) {
    if (nonce.empty()) return false;
    const size_t head = std::min(text.size(), kMarker.size());
    if (text.substr(0, head) != kMarker.substr(0, head)) return false;
    if (text.size() > kMaxExecRecordBytes) return false;
    size_t i = kMarker.size();
    for (; i < text.size() && text[i] != ' '; ++i) {
        const bool first_digit = i == kMarker.size();
        if (text[i] < (first_digit ? '1' : '0') || text[i] > '9') return false;
    }
    if (i >= text.size()) return true;  // the digits so far
    if (i == kMarker.size()) return false;  // no digit before the space
    const std::string tail = std::string(nonce) + "\n";
    const std::string_view rest = text.substr(i + 1);
    return rest.size() <= tail.size() && tail.starts_with(rest);
}

void cut(host::CapturedStream& s, uint64_t max) {
    if (s.data.size() <= max) return;
    s.data.resize(max);
    s.truncated = true;
}

}  // namespace

std::optional<int> exec_record_errno(std::string_view out, std::string_view nonce) {
    if (!could_be_record(out, nonce) || !out.ends_with('\n')) return std::nullopt;
    const size_t space = out.find(' ', kMarker.size());
    if (space == std::string_view::npos || out.size() != space + 1 + nonce.size() + 1) return std::nullopt;
    const std::string_view digits = out.substr(kMarker.size(), space - kMarker.size());
    const std::optional<int> value = parse_decimal<int>(digits);
    if (!value || *value < 1 || *value > 4095) return std::nullopt;
    return *value;
}

void ExecRecordHold::operator()(OutputStream stream, std::string_view chunk) {
    if (stream != OutputStream::Stdout || !holding_) return pass(stream, chunk);
    held_.append(chunk);
    if (could_be_record(held_, nonce_)) return;
    holding_ = false;
    const std::string held = std::move(held_);
    held_.clear();
    pass(OutputStream::Stdout, held);
}

void ExecRecordHold::release() {
    holding_ = false;
    if (held_.empty()) return;
    const std::string held = std::move(held_);
    held_.clear();
    pass(OutputStream::Stdout, held);
}

void ExecRecordHold::pass(OutputStream stream, std::string_view chunk) {
    uint64_t& passed = passed_[stream == OutputStream::Stdout ? 0 : 1];
    if (passed >= max_ || chunk.empty()) return;
    chunk = chunk.substr(0, static_cast<size_t>(std::min<uint64_t>(chunk.size(), max_ - passed)));
    passed += chunk.size();
    if (sink_) sink_(stream, chunk);
}

void settle_launcher_output(host::SandboxReport& report, host::CapturedStream& out, host::CapturedStream& err,
                            uint64_t max_output_bytes, const std::string& program, std::string_view nonce) {
    // Only the launcher's whole output: exit 127, stdout exactly a record, nothing cut, nothing
    // on stderr (the launcher writes none).
    const std::optional<int> error =
        report.end == host::SandboxReport::End::Exited && report.exit_code == kLauncherExecFailed &&
                !out.truncated && err.data.empty()
            ? exec_record_errno(out.data, nonce)
            : std::nullopt;
    if (!error) {
        cut(out, max_output_bytes);
        cut(err, max_output_bytes);
        return;
    }
    report.end = host::SandboxReport::End::ExecFailed;
    report.exec_errno = *error;
    report.exit_code = *error == ENOENT ? 127 : 126;  // as a shell, and the process provider
    report.exec_error = "the launcher could not execute " + program + ": " + host::errno_text(*error);
    out = {};
}

}  // namespace microvm::gvisor
