// The --json shape of spec section 4 and the exit status table.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>

#include "microvm/errors.hpp"
#include "microvm/json_output.hpp"

namespace microvm {
namespace {

using json = nlohmann::ordered_json;

ExecutionResult sample() {
    ExecutionResult r;
    r.execution_id = "exec-42";
    r.status = Status::Ok;
    r.value = "3";
    r.metadata.provider = "process";
    r.metadata.isolation = Isolation::Process;
    r.metadata.duration = std::chrono::microseconds(1900);
    r.metadata.cpu_time = std::chrono::microseconds(1100);
    r.metadata.memory_peak_mb = 2.5;
    r.metadata.exit_code = 0;
    r.metadata.stdout_data = "out";
    r.metadata.network_requests.push_back({"http://127.0.0.1/x", "GET", 200, 12, ""});
    r.metadata.network_requests.push_back({"http://evil.org/", "GET", 0, 0, "denied by policy"});
    r.metadata.file_operations.push_back({"/data/a", "read", 5, ""});
    return r;
}

TEST(JsonOutput, ExactShape) {
    json j = to_json(sample());
    json expected = json::parse(R"({
        "execution_id": "exec-42", "provider": "process", "status": "ok", "value": "3",
        "exit_code": 0, "signal": null, "stdout": "out", "stderr": "",
        "stdout_truncated": false, "stderr_truncated": false, "error": null,
        "metadata": {"duration_ms": 1.9, "cpu_time_ms": 1.1, "memory_peak_mb": 2.5,
                     "isolation": "process",
                     "network_requests": [
                        {"url": "http://127.0.0.1/x", "method": "GET", "status": 200, "bytes": 12},
                        {"url": "http://evil.org/", "method": "GET", "status": 0, "bytes": 0,
                         "error": "denied by policy"}],
                     "file_operations": [{"path": "/data/a", "operation": "read", "bytes": 5}]}
    })");
    EXPECT_EQ(j, expected) << j.dump(2);
}

TEST(JsonOutput, ProxyRecordsCarryDecisionBytesAndDuration) {
    ExecutionResult r = sample();
    rtfs::NetworkRequest q{"allowed.test:443", "CONNECT", 0, 300, ""};
    q.allowed = true;
    q.rule = "allow entry allowed.test";
    q.host = "allowed.test";
    q.port = 443;
    q.address = "127.0.0.1:443";
    q.bytes_sent = 120;
    q.bytes_received = 300;
    q.duration = std::chrono::microseconds(2500);
    r.metadata.network_requests = {q};
    rtfs::NetworkRequest refused{"other.test:443", "CONNECT", 0, 0, "refused: not in the allow list"};
    refused.allowed = false;
    refused.rule = "not in the allow list";
    refused.host = "other.test";
    refused.port = 443;
    r.metadata.network_requests.push_back(refused);
    json j = to_json(r)["metadata"]["network_requests"];
    json expected = json::parse(R"([
        {"url": "allowed.test:443", "method": "CONNECT", "status": 0, "bytes": 300,
         "allowed": true, "rule": "allow entry allowed.test", "host": "allowed.test", "port": 443,
         "address": "127.0.0.1:443", "bytes_sent": 120, "bytes_received": 300, "duration_ms": 2.5},
        {"url": "other.test:443", "method": "CONNECT", "status": 0, "bytes": 0,
         "error": "refused: not in the allow list", "allowed": false,
         "rule": "not in the allow list", "host": "other.test", "port": 443, "bytes_sent": 0,
         "bytes_received": 0, "duration_ms": 0.0}])");
    EXPECT_EQ(j, expected) << j.dump(2);
}

TEST(JsonOutput, UnknownMeasurementsAndErrors) {
    ExecutionResult r;
    set_error(r, Reason::Signaled, "signal 9");
    r.metadata.signal = 9;
    json j = to_json(r);
    EXPECT_TRUE(j["value"].is_null());
    EXPECT_TRUE(j["exit_code"].is_null());
    EXPECT_EQ(j["signal"], 9);
    EXPECT_EQ(j["status"], "killed");
    EXPECT_EQ(j["error"],
              json({{"reason", "signaled"}, {"kind", "signaled"}, {"message", "signal 9"}}));
    EXPECT_TRUE(j["metadata"]["cpu_time_ms"].is_null());
    EXPECT_FALSE(j["metadata"].contains("cpu_throttled_ms"));  // absent where not measured
    EXPECT_TRUE(j["metadata"]["memory_peak_mb"].is_null());
    EXPECT_TRUE(j["metadata"]["duration_ms"].is_number_float());
    EXPECT_EQ(j["metadata"]["isolation"], "none");
    EXPECT_EQ(j["metadata"]["network_requests"], json::array());
}

TEST(JsonOutput, InvalidUtf8OutputNeverBreaksDumping) {
    ExecutionResult r = sample();
    r.metadata.stdout_data = std::string("ok \xff\xfe bytes \xc3", 13);
    r.value = std::string("\xe2\x82", 2);
    json j = to_json(r);
    std::string dumped;
    EXPECT_NO_THROW(dumped = j.dump());
    EXPECT_EQ(j["stdout"].get<std::string>(), "ok \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD");
    r.metadata.stdout_data = "caf\xc3\xa9 \xf0\x9f\x98\x80";  // valid UTF-8 passes unchanged
    EXPECT_EQ(to_json(r)["stdout"], r.metadata.stdout_data);
}

ExecutionResult with(std::optional<Reason> reason, std::string kind = {},
                     std::optional<int> exit = {}, std::optional<int> sig = {}) {
    ExecutionResult r;
    if (reason) set_error(r, *reason, "m", kind);
    r.metadata.exit_code = exit;
    r.metadata.signal = sig;
    return r;
}

// One exit status per reason, the same for every provider (spec section 4).
TEST(ExitStatus, FromTheReason) {
    EXPECT_EQ(exit_status_for(with({}, {}, 0), false), 0);
    EXPECT_EQ(exit_status_for(with({}), true), 0);
    EXPECT_EQ(exit_status_for(with(Reason::NonzeroExit, {}, 3), false), 3);
    EXPECT_EQ(exit_status_for(with(Reason::NonzeroExit, {}, 3), true), 1);
    EXPECT_EQ(exit_status_for(with(Reason::RtfsError, "DivisionByZero"), true), 1);
    EXPECT_EQ(exit_status_for(with(Reason::RtfsError, "SecurityViolation"), true), 126);
    EXPECT_EQ(exit_status_for(with(Reason::RtfsError, "ReadError"), true), 2);
    EXPECT_EQ(exit_status_for(with(Reason::Trap), false), 1);
    EXPECT_EQ(exit_status_for(with(Reason::ProgramNotFound, {}, 127), false), 127);
    EXPECT_EQ(exit_status_for(with(Reason::NotExecutable, {}, 126), false), 126);
    EXPECT_EQ(exit_status_for(with(Reason::Timeout), false), 124);
    EXPECT_EQ(exit_status_for(with(Reason::Timeout), true), 124);
    EXPECT_EQ(exit_status_for(with(Reason::SetupError), false), 125);
    EXPECT_EQ(exit_status_for(with(Reason::Unavailable), true), 125);
    EXPECT_EQ(exit_status_for(with(Reason::GuestProtocol), true), 1);
    EXPECT_EQ(exit_status_for(with(Reason::PolicyRefused), true), 126);
    EXPECT_EQ(exit_status_for(with(Reason::CapabilityDenied, "SecurityViolation"), true), 126);
    EXPECT_EQ(exit_status_for(with(Reason::MemoryExceeded), false), 137);
    EXPECT_EQ(exit_status_for(with(Reason::Signaled, {}, {}, SIGTERM), false), 128 + SIGTERM);
    EXPECT_EQ(exit_status_for(with(Reason::Cancelled), false), 130);
    EXPECT_EQ(exit_status_for(with(Reason::ProcessLimit), false), 137);
    EXPECT_EQ(exit_status_for(with(Reason::InvalidConfig), true), 64);
    EXPECT_EQ(exit_status_for(with(Reason::InvalidProgram), false), 64);
}

TEST(Reasons, StatusFollowsTheReason) {
    EXPECT_EQ(status_for(Reason::NonzeroExit), Status::RuntimeError);
    EXPECT_EQ(status_for(Reason::Timeout), Status::Timeout);
    EXPECT_EQ(status_for(Reason::Cancelled), Status::Killed);
    EXPECT_EQ(status_for(Reason::PolicyRefused), Status::PolicyViolation);
    EXPECT_EQ(status_for(Reason::GuestProtocol), Status::RuntimeError);
    EXPECT_EQ(status_for(Reason::ProcessLimit), Status::Killed);
    EXPECT_STREQ(to_string(Reason::ProcessLimit), "process_limit");
    EXPECT_EQ(status_for(Reason::RtfsError, "Interrupted"), Status::Timeout);
    EXPECT_EQ(status_for(Reason::RtfsError, "ResourceLimit"), Status::MemoryExceeded);
    ExecutionResult r;
    set_error(r, Reason::Timeout, "late");
    EXPECT_EQ(r.status, Status::Timeout);
    EXPECT_EQ(r.error->kind, "timeout");  // the reason's name unless an RTFS variant is given
}


// result_from_json reads back what to_json writes (the daemon client prints and exits from it).
TEST(JsonInput, ReadsBackEveryKeyToJsonWrites) {
    ExecutionResult ok = sample();
    ok.metadata.provider_details = {{"accel", "tcg"}};
    ok.metadata.stdout_truncated = true;
    ok.metadata.cpu_throttling = CpuThrottling{40, 30, std::chrono::milliseconds(2700)};
    ExecutionResult failed = sample();
    set_error(failed, Reason::Signaled, "killed by SIGKILL");
    failed.value.reset();
    failed.metadata.cpu_time.reset();
    failed.metadata.memory_peak_mb.reset();
    failed.metadata.exit_code.reset();
    failed.metadata.signal = 9;
    rtfs::NetworkRequest q{"allowed.test:443", "CONNECT", 0, 300, ""};
    q.allowed = false;
    q.rule = "not in the allow list";
    q.host = "allowed.test";
    q.port = 443;
    q.bytes_sent = 7;
    q.duration = std::chrono::microseconds(2500);
    failed.metadata.network_requests.push_back(q);
    ExecutionResult rtfs_error = sample();
    set_error(rtfs_error, Reason::RtfsError, "division by zero", "DivisionByZero");
    for (const ExecutionResult& r : {ok, failed, rtfs_error}) {
        json doc = to_json(r);
        auto back = result_from_json(nlohmann::json::parse(doc.dump()));
        ASSERT_TRUE(back) << back.error().message;
        EXPECT_EQ(to_json(*back), doc) << doc.dump(2);
        EXPECT_EQ(back->status, r.status);
        EXPECT_EQ(exit_status_for(*back, true), exit_status_for(r, true));
        EXPECT_EQ(exit_status_for(*back, false), exit_status_for(r, false));
    }
}

TEST(JsonInput, RefusesWhatIsNotAResultNamingTheKey) {
    auto with = [](const std::function<void(nlohmann::json&)>& change) {
        nlohmann::json doc = nlohmann::json::parse(to_json(sample()).dump());
        change(doc);
        auto r = result_from_json(doc);
        return r ? std::string("accepted") : r.error().message;
    };
    EXPECT_NE(with([](auto& d) { d.erase("status"); }).find("status: missing"), std::string::npos);
    EXPECT_NE(with([](auto& d) { d["status"] = "fine"; }).find("unknown status 'fine'"), std::string::npos);
    EXPECT_NE(with([](auto& d) { d["exit_code"] = "0"; }).find("exit_code"), std::string::npos);
    EXPECT_NE(with([](auto& d) { d["metadata"]["isolation"] = 3; }).find("metadata.isolation"), std::string::npos);
    EXPECT_NE(with([](auto& d) { d["metadata"]["network_requests"][0] = 1; }).find("network_requests[0]"),
              std::string::npos);
    EXPECT_NE(with([](auto& d) { d["status"] = "timeout"; }).find("error: null"), std::string::npos);
    EXPECT_NE(with([](auto& d) { d["error"] = {{"reason", "nope"}, {"kind", "x"}, {"message", "m"}}; d["status"] = "timeout"; })
                  .find("unknown reason 'nope'"), std::string::npos);
    EXPECT_FALSE(result_from_json(nlohmann::json::array()));
}

}  // namespace
}  // namespace microvm
