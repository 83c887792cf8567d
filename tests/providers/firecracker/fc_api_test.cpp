// The Firecracker API client against a fake Firecracker (fake_firecracker.hpp) that checks every
// request against the swagger (1.17.0-dev, commit 004d935399ba6062240af269638635d54229f5bf) and
// the API's order rules. The first tests prove the fake refuses what Firecracker refuses, so that
// its acceptance of the client's requests means something.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "fake_firecracker.hpp"
#include "firecracker/fc_api_client.hpp"
#include "firecracker/fc_http.hpp"
#include "firecracker/fc_sequences.hpp"
#include "firecracker/fc_vsock.hpp"

namespace {

using namespace microvm::firecracker;
using namespace std::chrono_literals;
using fcfake::FakeFirecracker;
using nlohmann::json;

class FcApi : public ::testing::Test {
  protected:
    void SetUp() override {
        kernel_ = touch("vmlinux");
        initrd_ = touch("initrd.cpio");
        rootfs_ = touch("rootfs.ext4");
    }
    std::string touch(const std::string& name) {
        std::string p = dir_.file(name);
        std::ofstream(p) << name;
        return p;
    }
    std::unique_ptr<FakeFirecracker> fake(const std::string& name = "api.sock",
                                          bool vsock_echo = false) {
        return std::make_unique<FakeFirecracker>(dir_.file(name), vsock_echo);
    }
    // A raw request, for bodies the typed client would never build.
    HttpResponse raw(const FakeFirecracker& f, const std::string& method,
                     const std::string& target, const std::string& body) {
        auto r = http_call(f.socket_path(), method, target, body, HttpLimits{});
        EXPECT_TRUE(r.has_value()) << r.error().message();
        return r ? *r : HttpResponse{};
    }
    ColdBoot boot_plan() {
        ColdBoot plan;
        plan.logger = Logger{dir_.file("fc.log"), LogLevel::Warning, true, false};
        plan.metrics = Metrics{dir_.file("fc.metrics")};
        plan.boot_source = {kernel_, "console=ttyS0 reboot=k panic=1", initrd_};
        plan.machine = {2, 256, false, true};
        plan.drives = {Drive{"rootfs", rootfs_, true, true, std::nullopt}};
        plan.vsock = VsockDevice{3, dir_.file("v.sock")};
        return plan;
    }

    fcfake::SocketDir dir_;
    std::string kernel_, initrd_, rootfs_;
};

std::vector<std::string> requests(const FakeFirecracker& f) {
    std::vector<std::string> out;
    for (const auto& c : f.calls()) out.push_back(c.method + " " + c.path);
    return out;
}

// --- the fake refuses what Firecracker refuses -------------------------------------------------

TEST_F(FcApi, FakeRefusesUnknownMissingAndMistypedFields) {
    auto f = fake();
    struct Case {
        const char* target;
        std::string body;
        const char* expected;
    } cases[] = {
        {"/boot-source", json{{"kernel_image_path", kernel_}, {"bogus", 1}}.dump(),
         "unknown field `bogus`"},
        {"/boot-source", json{{"boot_args", "x"}}.dump(), "missing field `kernel_image_path`"},
        {"/machine-config", json{{"vcpu_count", 1}}.dump(), "missing field `mem_size_mib`"},
        {"/machine-config", json{{"vcpu_count", "2"}, {"mem_size_mib", 128}}.dump(),
         "invalid type for `vcpu_count`"},
        {"/machine-config", json{{"vcpu_count", 33}, {"mem_size_mib", 128}}.dump(),
         "`vcpu_count` out of range"},
        {"/machine-config", json{{"vcpu_count", 1}, {"mem_size_mib", 128}, {"smt", 0}}.dump(),
         "invalid type for `smt`"},
        {"/vsock", json{{"guest_cid", 2}, {"uds_path", "/x"}}.dump(), "`guest_cid` out of range"},
        {"/actions", json{{"action_type", "Reboot"}}.dump(), "unknown variant `Reboot`"},
        {"/snapshot/create",
         json{{"snapshot_path", "a"}, {"mem_file_path", "b"}, {"snapshot_type", "Partial"}}.dump(),
         "unknown variant `Partial`"},
        {"/snapshot/load",
         json{{"snapshot_path", "a"}, {"mem_backend", {{"backend_type", "File"}}}}.dump(),
         "missing field `backend_path`"},
        {"/drives/rootfs", json{{"drive_id", "rootfs"}, {"is_root_device", true},
                                {"path_on_host", rootfs_}, {"is_read_only", true},
                                {"rate_limiter", {{"ops", {{"size", 1}}}}}}.dump(),
         "missing field `refill_time`"},
    };
    for (const Case& c : cases) {
        HttpResponse r = raw(*f, "PUT", c.target, c.body);
        EXPECT_EQ(r.status, 400) << c.target << " " << c.body;
        EXPECT_NE(fault_text(r.body).find(c.expected), std::string::npos)
            << c.target << ": " << r.body;
    }
    EXPECT_EQ(f->state(), "Not started");
}

TEST_F(FcApi, FakeRefusesUnknownPathsMethodsAndNonJsonBodies) {
    auto f = fake();
    EXPECT_EQ(raw(*f, "PUT", "/boot-sauce", "{}").status, 400);
    EXPECT_EQ(raw(*f, "POST", "/actions", R"({"action_type":"InstanceStart"})").status, 400);
    EXPECT_EQ(raw(*f, "PUT", "/balloon", R"({"amount_mib":1,"deflate_on_oom":true})").status, 400);
    HttpResponse r = raw(*f, "PUT", "/boot-source", "kernel please");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(fault_text(r.body).find("deserializing"), std::string::npos) << r.body;
    // A mismatch between the path's drive id and the body's, as Firecracker checks.
    r = raw(*f, "PUT", "/drives/a",
            json{{"drive_id", "b"}, {"is_root_device", false}, {"path_on_host", rootfs_},
                 {"is_read_only", true}}.dump());
    EXPECT_NE(fault_text(r.body).find("does not match"), std::string::npos) << r.body;
}

// --- cold boot -----------------------------------------------------------------------------------

TEST_F(FcApi, ColdBootSendsTheDocumentedBodiesInOrder) {
    auto f = fake();
    FcApiClient client(f->socket_path());
    auto booted = cold_boot(client, boot_plan());
    ASSERT_TRUE(booted.has_value()) << booted.error().message();

    EXPECT_EQ(requests(*f), (std::vector<std::string>{
                                "PUT /logger", "PUT /metrics", "PUT /boot-source",
                                "PUT /machine-config", "PUT /drives/rootfs", "PUT /vsock",
                                "PUT /actions"}));
    auto calls = f->calls();
    for (const auto& c : calls) EXPECT_EQ(c.status, 204) << c.path << ": " << c.fault;
    EXPECT_EQ(calls[2].body, (json{{"kernel_image_path", kernel_},
                                   {"boot_args", "console=ttyS0 reboot=k panic=1"},
                                   {"initrd_path", initrd_}}));
    EXPECT_EQ(calls[3].body, (json{{"vcpu_count", 2}, {"mem_size_mib", 256}, {"smt", false},
                                   {"track_dirty_pages", true}}));
    EXPECT_EQ(calls[4].body, (json{{"drive_id", "rootfs"}, {"path_on_host", rootfs_},
                                   {"is_root_device", true}, {"is_read_only", true}}));
    EXPECT_EQ(calls[5].body, (json{{"guest_cid", 3}, {"uds_path", dir_.file("v.sock")}}));
    EXPECT_EQ(calls[6].body, (json{{"action_type", "InstanceStart"}}));

    auto info = client.describe_instance();
    ASSERT_TRUE(info.has_value()) << info.error().message();
    EXPECT_EQ(info->state, "Running");
    EXPECT_EQ(info->app_name, "Firecracker");
}

TEST_F(FcApi, ConfigurationAfterTheStartIsRefusedNamingTheCall) {
    auto f = fake();
    FcApiClient client(f->socket_path());
    ASSERT_TRUE(cold_boot(client, boot_plan()).has_value());
    auto again = client.put_boot_source({kernel_, "", std::nullopt});
    ASSERT_FALSE(again.has_value());
    const FcError& e = again.error();
    EXPECT_EQ(e.kind, FcError::Kind::Api);
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(e.call, "PUT /boot-source");
    EXPECT_EQ(e.detail, "The requested operation is not supported after starting the microVM.");
    EXPECT_EQ(e.message(), "firecracker PUT /boot-source: HTTP 400: The requested operation is "
                           "not supported after starting the microVM.");
    EXPECT_EQ(to_failure(e).kind, microvm::Failure::Kind::SetupError);
    EXPECT_FALSE(client.instance_start().has_value());
    EXPECT_FALSE(client.put_machine_config({1, 128, false, false}).has_value());
}

TEST_F(FcApi, StartWithoutBootSourceAndRuntimeCallsBeforeStartAreRefused) {
    auto f = fake();
    FcApiClient client(f->socket_path());
    auto start = client.instance_start();
    ASSERT_FALSE(start.has_value());
    EXPECT_NE(start.error().detail.find("without kernel configuration"), std::string::npos);
    auto pause = client.pause();
    ASSERT_FALSE(pause.has_value());
    EXPECT_EQ(pause.error().call, "PATCH /vm");
    EXPECT_NE(pause.error().detail.find("before starting"), std::string::npos);
    EXPECT_FALSE(client.send_ctrl_alt_del().has_value());
    EXPECT_FALSE(client.create_snapshot({dir_.file("s"), dir_.file("m")}).has_value());
}

TEST_F(FcApi, MissingKernelFileIsRefusedAtPutLikeFirecracker) {
    auto f = fake();
    FcApiClient client(f->socket_path());
    auto r = client.put_boot_source({dir_.file("no-such-vmlinux"), "", std::nullopt});
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().detail.find("kernel file cannot be opened"), std::string::npos);
}

TEST_F(FcApi, RequestsThatCouldNeverBeValidAreNotSent) {
    auto f = fake();
    FcApiClient client(f->socket_path());
    ColdBoot plan = boot_plan();
    plan.drives.clear();
    plan.boot_source.initrd_path.reset();
    auto nothing = cold_boot(client, plan);
    ASSERT_FALSE(nothing.has_value());
    EXPECT_EQ(nothing.error().kind, FcError::Kind::InvalidRequest);

    auto traversal = client.put_drive({"../vm", rootfs_, false, true, std::nullopt});
    ASSERT_FALSE(traversal.has_value());
    EXPECT_EQ(traversal.error().kind, FcError::Kind::InvalidRequest);

    auto bad_utf8 = client.put_boot_source({std::string("/k\xff\xfe"), "", std::nullopt});
    ASSERT_FALSE(bad_utf8.has_value());
    EXPECT_EQ(bad_utf8.error().kind, FcError::Kind::InvalidRequest);
    EXPECT_TRUE(f->calls().empty());
}

// --- snapshots -----------------------------------------------------------------------------------

TEST_F(FcApi, SnapshotCreateNeedsAPausedVm) {
    auto f = fake();
    FcApiClient client(f->socket_path());
    ASSERT_TRUE(cold_boot(client, boot_plan()).has_value());
    SnapshotCreate files{dir_.file("vm.snap"), dir_.file("vm.mem")};
    auto running = client.create_snapshot(files);
    ASSERT_FALSE(running.has_value());
    EXPECT_EQ(running.error().call, "PUT /snapshot/create");
    EXPECT_NE(running.error().detail.find("not paused"), std::string::npos);

    auto taken = snapshot_vm(client, files, /*resume_after=*/true);
    ASSERT_TRUE(taken.has_value()) << taken.error().message();
    EXPECT_EQ(f->state(), "Running");
    auto calls = f->calls();
    ASSERT_GE(calls.size(), 3u);
    size_t n = calls.size();
    EXPECT_EQ(calls[n - 3].body, (json{{"state", "Paused"}}));
    EXPECT_EQ(calls[n - 2].body, (json{{"snapshot_type", "Full"},
                                       {"snapshot_path", files.snapshot_path},
                                       {"mem_file_path", files.mem_file_path}}));
    EXPECT_EQ(calls[n - 1].body, (json{{"state", "Resumed"}}));
    EXPECT_TRUE(std::ifstream(files.snapshot_path).good());
    EXPECT_TRUE(std::ifstream(files.mem_file_path).good());
}

TEST_F(FcApi, SnapshotRestoreOnAFreshProcess) {
    SnapshotCreate files{dir_.file("vm.snap"), dir_.file("vm.mem")};
    {
        auto source = fake("source.sock");
        FcApiClient client(source->socket_path());
        ASSERT_TRUE(cold_boot(client, boot_plan()).has_value());
        ASSERT_TRUE(snapshot_vm(client, files, /*resume_after=*/false).has_value());
        EXPECT_EQ(source->state(), "Paused");
    }
    auto f = fake("restored.sock");
    FcApiClient client(f->socket_path());
    Restore plan;
    plan.logger = Logger{dir_.file("restored.log")};
    plan.load = {files.snapshot_path, files.mem_file_path, false, /*resume_vm=*/false,
                 dir_.file("restored-v.sock")};
    auto restored = restore_vm(client, plan);
    ASSERT_TRUE(restored.has_value()) << restored.error().message();
    EXPECT_EQ(requests(*f), (std::vector<std::string>{"PUT /logger", "PUT /snapshot/load",
                                                       "PATCH /vm"}));
    EXPECT_EQ(f->calls()[1].body,
              (json{{"snapshot_path", files.snapshot_path},
                    {"mem_backend", {{"backend_type", "File"}, {"backend_path", files.mem_file_path}}},
                    {"resume_vm", false},
                    {"vsock_override", {{"uds_path", dir_.file("restored-v.sock")}}}}));
    EXPECT_EQ(f->state(), "Running");
    // Restored is started: the boot path is closed now.
    EXPECT_FALSE(client.instance_start().has_value());
}

TEST_F(FcApi, SnapshotLoadIsRefusedAfterBootConfiguration) {
    SnapshotCreate files{touch("vm.snap"), touch("vm.mem")};
    auto f = fake();
    FcApiClient client(f->socket_path());
    ASSERT_TRUE(client.put_machine_config({1, 128, false, false}).has_value());
    auto load = client.load_snapshot({files.snapshot_path, files.mem_file_path, true, true, {}});
    ASSERT_FALSE(load.has_value());
    EXPECT_EQ(load.error().call, "PUT /snapshot/load");
    EXPECT_NE(load.error().detail.find("not allowed after configuring boot-specific resources"),
              std::string::npos);
    EXPECT_EQ(f->calls().back().body["track_dirty_pages"], true);
    EXPECT_FALSE(f->calls().back().body.contains("enable_diff_snapshots"));
}

TEST_F(FcApi, ResumeVmInTheLoadNeedsNoPatch) {
    SnapshotCreate files{touch("vm.snap"), touch("vm.mem")};
    auto f = fake();
    FcApiClient client(f->socket_path());
    Restore plan;
    plan.load = {files.snapshot_path, files.mem_file_path, false, /*resume_vm=*/true, {}};
    ASSERT_TRUE(restore_vm(client, plan).has_value());
    EXPECT_EQ(requests(*f), (std::vector<std::string>{"PUT /snapshot/load"}));
    EXPECT_FALSE(f->calls()[0].body.contains("track_dirty_pages"));
    EXPECT_FALSE(f->calls()[0].body.contains("vsock_override"));
    EXPECT_EQ(f->state(), "Running");
}

// --- readiness and the agent channel -------------------------------------------------------------

TEST_F(FcApi, WaitReadyWaitsForTheSocketToAppear) {
    std::unique_ptr<FakeFirecracker> f;
    std::thread late([&] {
        std::this_thread::sleep_for(150ms);
        f = fake();
    });
    FcApiClient client(dir_.file("api.sock"));
    auto info = client.wait_ready(5s);
    late.join();
    ASSERT_TRUE(info.has_value()) << info.error().message();
    EXPECT_EQ(info->state, "Not started");

    FcApiClient nobody(dir_.file("nobody.sock"));
    auto start = std::chrono::steady_clock::now();
    auto none = nobody.wait_ready(200ms);
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().kind, FcError::Kind::Timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(FcApi, AgentChannelThroughTheVsockOnceTheVmRuns) {
    auto f = fake("api.sock", /*vsock_echo=*/true);
    FcApiClient client(f->socket_path());
    ColdBoot plan = boot_plan();
    plan.logger.reset();
    plan.metrics.reset();
    ASSERT_TRUE(client.put_boot_source(plan.boot_source).has_value());
    ASSERT_TRUE(client.put_vsock(*plan.vsock).has_value());
    // Configured but not started: nothing listens in the guest yet.
    auto early = connect_vsock(plan.vsock->uds_path, 52, 2s);
    ASSERT_FALSE(early.has_value());
    EXPECT_EQ(early.error().kind, FcError::Kind::Refused);

    ASSERT_TRUE(client.instance_start().has_value());
    auto stream = connect_vsock(plan.vsock->uds_path, 52, 2s);
    ASSERT_TRUE(stream.has_value()) << stream.error().message();
    EXPECT_EQ(stream->host_port, 1073741824u);
}

}  // namespace
