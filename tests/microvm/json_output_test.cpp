// The --json shape of spec section 4 and the exit status table.
#include <gtest/gtest.h>

#include <csignal>

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
    r.status = Status::Killed;
    r.error = ExecutionError{"killed", "signal 9"};
    r.metadata.signal = 9;
    json j = to_json(r);
    EXPECT_TRUE(j["value"].is_null());
    EXPECT_TRUE(j["exit_code"].is_null());
    EXPECT_EQ(j["signal"], 9);
    EXPECT_EQ(j["status"], "killed");
    EXPECT_EQ(j["error"], json({{"kind", "killed"}, {"message", "signal 9"}}));
    EXPECT_TRUE(j["metadata"]["cpu_time_ms"].is_null());
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

ExecutionResult with(Status s, std::string kind = {}, std::optional<int> exit = {},
                     std::optional<int> sig = {}) {
    ExecutionResult r;
    r.status = s;
    if (s != Status::Ok) r.error = ExecutionError{std::move(kind), "m"};
    r.metadata.exit_code = exit;
    r.metadata.signal = sig;
    return r;
}

TEST(ExitStatus, Table) {
    EXPECT_EQ(exit_status_for(with(Status::Ok, {}, 0), false), 0);
    EXPECT_EQ(exit_status_for(with(Status::Ok), true), 0);
    EXPECT_EQ(exit_status_for(with(Status::RuntimeError, "exit", 3), false), 3);
    EXPECT_EQ(exit_status_for(with(Status::RuntimeError, "DivisionByZero"), true), 1);
    EXPECT_EQ(exit_status_for(with(Status::RuntimeError, "trap"), false), 1);
    EXPECT_EQ(exit_status_for(with(Status::RuntimeError, kProgramNotFound), false), 127);
    EXPECT_EQ(exit_status_for(with(Status::Timeout), false), 124);
    EXPECT_EQ(exit_status_for(with(Status::Timeout), true), 124);
    EXPECT_EQ(exit_status_for(with(Status::SetupError), false), 125);
    EXPECT_EQ(exit_status_for(with(Status::Unavailable), true), 125);
    EXPECT_EQ(exit_status_for(with(Status::PolicyViolation), true), 126);
    EXPECT_EQ(exit_status_for(with(Status::MemoryExceeded), false), 137);
    EXPECT_EQ(exit_status_for(with(Status::Killed, "killed", {}, SIGTERM), false), 128 + SIGTERM);
    EXPECT_EQ(exit_status_for(with(Status::InvalidInput, "ReadError"), true), 2);
    EXPECT_EQ(exit_status_for(with(Status::InvalidInput, "invalid_config"), true), 64);
    EXPECT_EQ(exit_status_for(with(Status::InvalidInput, "bad_module"), false), 64);
}

}  // namespace
}  // namespace microvm
