// The share-swap race (docs/security.md, QEMU): someone on the host who can write a share's
// parent directory (or a guest that planted a symlink through an earlier rw share) swaps the
// share's directory for a symlink to another directory after the host checked it and before
// QEMU opens it. QEMU's 9p server opens its export's root by path, following symlinks, so the
// host never gives it the path: QEMU inherits a descriptor of the checked directory and opens
// /proc/self/fd/N (qemu_shares.hpp). The test hooks (ShareWindowHooks) make the race
// deterministic: the swap happens exactly in the window an attacker would aim at.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "qemu/qemu_backend.hpp"
#include "qemu/qemu_provider.hpp"
#include "qemu_fixture.hpp"
#include "qemu_leaks.hpp"
#include "support/expectations.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The directory "data" holding f = "checked", and "secret" holding f = "secret" (standing for
// /etc, /root or the daemon's state): the attacker replaces data with a symlink to secret,
// keeping the checked directory under another name.
struct SwapScene {
    fs::path dir;
    fs::path data, checked, secret;
    SwapScene() {
        char tmpl[] = "/tmp/qemu-share-swap-XXXXXX";
        dir = ::mkdtemp(tmpl);
        data = dir / "data";
        checked = dir / "data.checked";
        secret = dir / "secret";
        for (const fs::path& d : {dir, data, secret}) {
            fs::create_directories(d);
            fs::permissions(d, fs::perms::all);  // QEMU's unprivileged uid may write here
        }
        std::ofstream(data / "f") << "checked\n";
        std::ofstream(secret / "f") << "secret\n";
    }
    ~SwapScene() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void swap_in_symlink() const {
        fs::rename(data, checked);
        fs::create_directory_symlink(secret, data);
    }
};

// Reads data/f and writes data/planted, data shared writable.
microvm::host::SandboxRequest reader_writer(const fs::path& data) {
    microvm::host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c",
                "cat '" + (data / "f").string() + "'; echo planted > '" + (data / "planted").string() + "'"};
    req.fs_policy = microvm::FileSystemPolicy::read_write({data.string()});
    req.limits.memory_bytes = 128ull << 20;
    req.limits.max_pids = 64;
    req.timeout = 20s;
    return req;
}

class QemuShareSwapTest : public ::testing::Test {
  protected:
    void SetUp() override {
        bool available = false;
        std::string why;
        qemutest::read_availability(microvm::QemuProvider(), available, why);
        MICROVM_REQUIRE("qemu", available, why);
        auto backend = microvm::qemu::QemuBackend::create({});
        ASSERT_TRUE(backend) << backend.error().message;
        backend_ = std::move(*backend);
    }
    void TearDown() override {
        backend_.reset();
        EXPECT_EQ(qemutest::qemu_processes_of(::getpid()), 0);
        EXPECT_EQ(qemutest::vm_dirs_of(::getpid()), 0);
    }
    std::unique_ptr<microvm::qemu::QemuBackend> backend_;
};

// The swap right before QEMU starts: QEMU exports the directory that was checked (its inherited
// descriptor), so the program reads and writes that one and never sees the symlink's target.
// Before, QEMU opened the path and exported `secret`: the program printed "secret" and planted
// its file there.
TEST_F(QemuShareSwapTest, QemuExportsTheCheckedDirectoryNotASymlinkSwappedInBeforeItStarts) {
    SwapScene scene;
    backend_->set_share_window_hooks_for_tests({.before_qemu = [&] { scene.swap_in_symlink(); }});
    auto r = backend_->run(reader_writer(scene.data));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stdout_data.data, "checked\n") << r->stderr_data.data;
    EXPECT_EQ(r->exit_code, 0) << r->stderr_data.data;
    EXPECT_FALSE(fs::exists(scene.secret / "planted"));
    EXPECT_EQ(read_text(scene.checked / "planted"), "planted\n");
}

// The same swap between the check and the opening: the object at the path is no longer the one
// checked, and the run is refused naming the path; no QEMU is started.
TEST_F(QemuShareSwapTest, ARunIsRefusedWhenAShareIsSwappedBeforeItIsOpened) {
    SwapScene scene;
    backend_->set_share_window_hooks_for_tests({.after_check = [&] { scene.swap_in_symlink(); }});
    auto r = backend_->run(reader_writer(scene.data));
    ASSERT_FALSE(r) << "ran: " << r->stdout_data.data;
    EXPECT_EQ(r.error().kind, microvm::Failure::Kind::SetupError);
    EXPECT_NE(r.error().message.find("bind source '" + scene.data.string() +
                                     "' was replaced after it was checked"),
              std::string::npos)
        << r.error().message;
    EXPECT_FALSE(fs::exists(scene.secret / "planted"));
}

}  // namespace
