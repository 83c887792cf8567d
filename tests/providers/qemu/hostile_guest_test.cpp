// The qemu provider against a hostile guest agent in a real VM: images whose /init is
// hostile_init.c (built into test images by vm/image/build.sh when the suite starts) send junk
// or an oversized frame after their Hello, never answer the Exec, or say nothing at all. Each
// execution ends in a typed failure within its deadline, no QEMU process, VM directory or cgroup
// is left, and the host process carries on (its next, normal execution works).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "qemu/qemu_provider.hpp"
#include "qemu_fixture.hpp"
#include "qemu_leaks.hpp"
#include "support/expectations.hpp"
#include "support/run_command.hpp"
#include "support/trusted_temp.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::Reason;
using microvm::Status;
namespace fs = std::filesystem;

class QemuHostileGuest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        qemutest::read_availability(microvm::QemuProvider(), available_, why_);
        if (!available_) return;
        // The standard image cache (its kernel is built already), leaving its `current` alone.
        for (const char* mode : {"garbage", "oversized", "mute", "silent"}) {
            const std::string agent = std::string(QEMU_HOSTILE_INIT_DIR) + "/qemu_hostile_init_" + mode;
            auto r = testsupport::run_command({QEMU_IMAGE_BUILD, "--agent", agent, "--no-current"});
            std::string dir = r.out;
            while (!dir.empty() && dir.back() == '\n') dir.pop_back();
            dir = dir.substr(dir.rfind('\n') == std::string::npos ? 0 : dir.rfind('\n') + 1);
            if (r.status != 0 || dir.empty()) {
                available_ = false;
                why_ = std::string("cannot build the ") + mode + " image: " + r.err;
                return;
            }
            images_[mode] = dir;
        }
    }
    void SetUp() override { MICROVM_REQUIRE("qemu", available_, why_); }
    void TearDown() override {
        std::error_code ec;
        if (!templates_.empty()) fs::remove_all(templates_, ec);
        if (!available_) return;
        // Whatever happened in the VM, nothing of it is left on the host ...
        EXPECT_EQ(qemutest::qemu_processes_of(::getpid()), 0);
        EXPECT_EQ(qemutest::vm_dirs_of(::getpid()), 0);
        EXPECT_EQ(qemutest::cgroups_of(::getpid()), 0);
        // ... and this host process runs a normal execution as before.
        auto r = qemutest::echo_in_new_provider(nlohmann::json::object(), "fine");
        EXPECT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
        EXPECT_EQ(r.metadata.stdout_data, "fine\n");
    }

    // One execution in a VM of the mode's image; `settings` added to the provider's.
    ExecutionResult run_in(const std::string& mode, nlohmann::json settings, std::chrono::seconds timeout = 20s) {
        settings["image"] = images_.at(mode);
        if (!settings.contains("start")) settings["start"] = "cold";
        microvm::QemuProvider p;
        auto ok = p.initialize(settings);
        EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
        ExecutionContext ctx;
        ctx.program = microvm::ExternalProgram{"/bin/sh", {"-c", "echo hello"}};
        ctx.config.timeout = timeout;
        auto r = p.execute_program(ctx);
        p.cleanup();
        return r;
    }

    // A private template cache where the host trusts it (not under /tmp).
    std::string private_templates() {
        std::string base = testsupport::state_temp_template("qemu-hostile");
        templates_ = ::mkdtemp(base.data()) ? base : "";
        return templates_ + "/templates";
    }

    static bool available_;
    static std::string why_;
    static std::map<std::string, std::string> images_;
    std::string templates_;
};

bool QemuHostileGuest::available_ = false;
std::string QemuHostileGuest::why_;
std::map<std::string, std::string> QemuHostileGuest::images_;

std::string message_of(const ExecutionResult& r) { return r.error ? r.error->message : "(no error)"; }

// Junk after the Hello: refused as a protocol error from the first bad frame header.
TEST_F(QemuHostileGuest, GarbageAfterHelloIsAProtocolError) {
    const auto t0 = Clock::now();
    auto r = run_in("garbage", {{"boot_timeout_ms", 15000}});
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::GuestProtocol) << message_of(r);
    EXPECT_NE(message_of(r).find("unknown frame type 238"), std::string::npos) << message_of(r);
    EXPECT_LT(Clock::now() - t0, 15s);
}

// A frame header announcing 60 MiB for a Ready frame (limit 64 KiB): refused by its header, not
// after buffering what follows.
TEST_F(QemuHostileGuest, OversizedFrameIsRefusedByItsHeader) {
    const auto t0 = Clock::now();
    auto r = run_in("oversized", {{"boot_timeout_ms", 15000}});
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::GuestProtocol) << message_of(r);
    EXPECT_NE(message_of(r).find("Ready frame of 62914559 bytes exceeds its limit"), std::string::npos)
        << message_of(r);
    EXPECT_LT(Clock::now() - t0, 15s);
}

// Hello and Ready, then nothing: the execution's timeout ends it (Kill unanswered too).
TEST_F(QemuHostileGuest, AgentThatNeverAnswersTheExecTimesOut) {
    const auto t0 = Clock::now();
    auto r = run_in("mute", {{"boot_timeout_ms", 15000}}, 2s);
    const auto took = Clock::now() - t0;
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::Timeout) << message_of(r);
    EXPECT_LT(took, 20s);  // boot, the 2 s timeout, the Kill's 1 s grace
}

// No Hello at all: a setup error when the boot timeout passes.
TEST_F(QemuHostileGuest, SilentAgentIsASetupErrorAtTheBootTimeout) {
    const auto t0 = Clock::now();
    auto r = run_in("silent", {{"boot_timeout_ms", 2000}});
    const auto took = Clock::now() - t0;
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::SetupError) << message_of(r);
    EXPECT_NE(message_of(r).find("no Hello in time"), std::string::npos) << message_of(r);
    EXPECT_GE(took, 2s);
    EXPECT_LT(took, 10s);  // not the default 30 s
}

// The fast-start path: a template is built from the hostile guest (its Hello is valid), the
// restored VM breaks the protocol, the template is dropped, and the cold boot that follows fails
// the same way. Nothing of the hostile VM is kept for the next execution.
TEST_F(QemuHostileGuest, HostileTemplateIsDroppedAndTheColdBootFailsToo) {
    const std::string cache = private_templates();
    ASSERT_FALSE(cache.empty());
    auto r = run_in("garbage", {{"boot_timeout_ms", 15000}, {"start", "auto"}, {"template_dir", cache}});
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::GuestProtocol) << message_of(r);
    size_t kept = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cache, ec)) {
        (void)e;
        ++kept;
    }
    EXPECT_EQ(kept, 0u) << "a template of the hostile guest was kept";
}

}  // namespace
