// The engine process's report (engine_report.hpp), read by the host as hostile input: exactly one
// report within its bounds, or nothing; never a deep or amplified parse.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

#include "engine_report.hpp"
#include "rtfs/effects.hpp"

namespace wasmtest {
namespace {

using microvm::Reason;
using microvm::wasm::decode_report;
using microvm::wasm::encode_report;
using microvm::wasm::RunOutcome;

RunOutcome sample() {
    RunOutcome o;
    o.failure = Reason::NonzeroExit;
    o.error_message = "the module exited with code 3";
    o.metadata.exit_code = 3;
    o.metadata.memory_peak_mb = 1.5;
    o.metadata.stdout_truncated = true;
    rtfs::NetworkRequest q;
    q.url = "http://allowed.test/";
    q.method = "GET";
    q.status = 200;
    q.bytes = 12;
    o.metadata.network_requests.push_back(q);
    o.result_bytes = std::string("\0\xff result", 9);
    o.result_truncated = true;
    return o;
}

TEST(EngineReport, RoundTripsAndMarksTheRecordsAsTheChilds) {
    auto decoded = decode_report(encode_report(sample()), 1024);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->failure, Reason::NonzeroExit);
    EXPECT_EQ(decoded->error_message, "the module exited with code 3");
    EXPECT_EQ(decoded->metadata.exit_code, 3);
    EXPECT_EQ(decoded->metadata.memory_peak_mb, 1.5);
    EXPECT_TRUE(decoded->metadata.stdout_truncated);
    EXPECT_FALSE(decoded->metadata.stderr_truncated);
    ASSERT_EQ(decoded->metadata.network_requests.size(), 1u);
    EXPECT_EQ(decoded->metadata.network_requests[0].url, "http://allowed.test/");
    EXPECT_TRUE(decoded->metadata.network_requests[0].reported_by_sandbox);
    EXPECT_EQ(decoded->result_bytes, std::string("\0\xff result", 9));
    EXPECT_TRUE(decoded->result_truncated);
}

TEST(EngineReport, AnythingButExactlyOneReportWithinItsBoundsIsRefused) {
    const std::string good = encode_report(sample());
    for (size_t cut = 0; cut < good.size(); ++cut) {
        EXPECT_FALSE(decode_report(good.substr(0, cut), 1024)) << "cut at " << cut;
    }
    EXPECT_FALSE(decode_report(good + "x", 1024));  // trailing bytes
    EXPECT_FALSE(decode_report(good, 8));           // a result past its cap

    auto patched = [&](size_t at, const void* bytes, size_t n) {
        std::string s = good;
        std::memcpy(s.data() + at, bytes, n);
        return s;
    };
    const uint32_t huge = 0xffffffffu;
    EXPECT_FALSE(decode_report(patched(1, &huge, 4), 1024));  // a reason past the last
    EXPECT_FALSE(decode_report(patched(5, &huge, 4), 1024));  // a message length past the bytes
    const uint8_t two = 2;
    EXPECT_FALSE(decode_report(patched(0, &two, 1), 1024));   // a flag that is not 0 or 1
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const size_t memory_at = 1 + 4 + 4 + sample().error_message.size() + 1 + 4 + 1;
    EXPECT_FALSE(decode_report(patched(memory_at, &nan, 8), 1024));
    const uint32_t many = rtfs::EffectLog::kMaxRecords + 1;
    EXPECT_FALSE(decode_report(patched(memory_at + 8 + 2, &many, 4), 1024));
}

// A result at its cap decodes (the format has no nesting and no per-element overhead to amplify:
// by construction, not measured here).
TEST(EngineReport, AResultAtItsCapDecodes) {
    RunOutcome o;
    o.result_bytes.assign(16u << 20, 'r');
    auto decoded = decode_report(encode_report(o), 16u << 20);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->result_bytes.size(), 16u << 20);
}

}  // namespace
}  // namespace wasmtest
