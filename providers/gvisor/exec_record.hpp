// The launcher's record of a failed execve (launch_format.hpp: kExecFailedMarker, the errno,
// " ", the launch's digits, "\n", alone on stdout, exit 127) told apart from the program's
// output: the record is the launcher's, so it is never streamed, capped or reported as the
// program's, and the run ends as the exec failure it is (program_not_found, not_executable,
// exec_failed), as on the process provider. The digits are drawn for each launch and never
// reach the program: output of the program is never taken for a record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gvisor/launch_format.hpp"
#include "host/output_capture.hpp"
#include "host/sandbox.hpp"
#include "microvm/context.hpp"

namespace microvm::gvisor {

// The longest record: the marker, an int's digits, " ", the launch's digits, "\n".
inline constexpr uint64_t kMaxExecRecordBytes = sizeof kExecFailedMarker - 1 + 10 + 1 + kExecNonceBytes + 1;

// The errno (1-4095) of out when out is exactly a record carrying nonce (the launch's digits),
// else nullopt (always when nonce is empty: no launch message was sent).
std::optional<int> exec_record_errno(std::string_view out, std::string_view nonce);

// Between the capture (whose cap must be at least kMaxExecRecordBytes, so that a record is seen
// whole) and the request's sink: stdout is held back while everything so far could still be a
// record (so such output may reach the sink after stderr written later), and each stream is
// passed on within the request's own cap. Called on the run's thread only.
class ExecRecordHold {
  public:
    ExecRecordHold(OutputSink sink, uint64_t max_output_bytes, std::string nonce)
        : sink_(std::move(sink)), max_(max_output_bytes), nonce_(std::move(nonce)) {}
    void operator()(OutputStream stream, std::string_view chunk);
    // At the run's end, when it was no exec failure: what is still held goes to the sink.
    void release();

  private:
    void pass(OutputStream stream, std::string_view chunk);

    OutputSink sink_;
    uint64_t max_;
    std::string nonce_;
    std::string held_;     // stdout's start, while it could be a record
    bool holding_ = true;  // until stdout is known not to be a record
    uint64_t passed_[2] = {0, 0};
};

// The output of a run whose process was the launcher, settled: when the run ended with exit 127,
// stdout exactly a record (not cut by the capture's cap) and nothing on stderr, the report
// becomes the exec failure and stdout, the launcher's, is emptied; otherwise stdout and stderr
// are cut to max_output_bytes (the capture's cap was raised for the record). program: for the
// message; nonce: the launch's digits (empty: none sent, so no record).
void settle_launcher_output(host::SandboxReport& report, host::CapturedStream& out, host::CapturedStream& err,
                            uint64_t max_output_bytes, const std::string& program, std::string_view nonce);

}  // namespace microvm::gvisor
