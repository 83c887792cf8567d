// What the qemu provider trusts on the host, attacked: a state directory of another user (the
// KVM probe's record written through its symlink), a planted KVM probe record, a `qemu` binary
// another user could have replaced (executed as root to ask its version), and a guest image
// whose files are not what its manifest says. Each is refused before anything is written,
// executed or booted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host/guest_image.hpp"
#include "qemu/qemu_backend.hpp"
#include "qemu/qemu_provider.hpp"
#include "qemu_fixture.hpp"
#include "support/expectations.hpp"
#include "support/trusted_temp.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::Status;
namespace fs = std::filesystem;

constexpr uid_t kOtherUid = 12345;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const std::string& path, const std::string& text, mode_t mode) {
    fs::remove(path);
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
}

class QemuTrust : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        qemutest::read_availability(microvm::QemuProvider(), available_, why_);
    }
    void SetUp() override {
        MICROVM_REQUIRE("qemu", available_, why_);
        // Where the host may trust what a test puts (not /tmp, which anyone may write).
        base_ = testsupport::state_temp_template("qemu-trust");
        ASSERT_NE(::mkdtemp(base_.data()), nullptr);
        ::chmod(base_.c_str(), 0755);
    }
    void TearDown() override {
        std::error_code ec;
        for (const auto& d : extra_dirs_) fs::remove_all(d, ec);
        if (!base_.empty()) fs::remove_all(base_, ec);
    }
    // A directory of another user under the trusted base.
    std::string others_dir(const std::string& name) {
        const std::string dir = base_ + "/" + name;
        EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
        EXPECT_EQ(::chown(dir.c_str(), kOtherUid, kOtherUid), 0);
        return dir;
    }
    // A private state directory of this (root) user.
    std::string own_state_dir() {
        const std::string dir = base_ + "/state";
        EXPECT_EQ(::mkdir(dir.c_str(), 0711), 0);
        return dir;
    }

    static bool available_;
    static std::string why_;
    std::string base_;
    std::vector<std::string> extra_dirs_;
};

bool QemuTrust::available_ = false;
std::string QemuTrust::why_;

// The red team's attack: another user's state directory holds `kvm-probe`, a symlink to a file
// only root may write. Root's provider must refuse the directory before the probe reads or
// writes anything in it.
TEST_F(QemuTrust, StateDirOfAnotherUserIsRefusedBeforeAnythingIsWrittenThere) {
    const std::string victim = base_ + "/victim";
    spit(victim, "root's secret\n", 0600);
    auto attack = [&](const std::string& state_dir, const std::string& fault) {
        ASSERT_EQ(::symlink(victim.c_str(), (state_dir + "/kvm-probe").c_str()), 0);
        ASSERT_EQ(::lchown((state_dir + "/kvm-probe").c_str(), kOtherUid, kOtherUid), 0);
        microvm::QemuProvider p;
        auto ok = p.initialize({{"state_dir", state_dir}});  // accel auto: the KVM probe runs
        EXPECT_EQ(slurp(victim), "root's secret\n") << "root wrote through another user's symlink";
        struct stat st;
        ASSERT_EQ(::stat(victim.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0600u);
        ASSERT_FALSE(ok) << "a state directory of uid " << kOtherUid << " was accepted";
        EXPECT_EQ(ok.error().kind, microvm::Failure::Kind::SetupError);
        EXPECT_NE(ok.error().message.find("state_dir"), std::string::npos) << ok.error().message;
        EXPECT_NE(ok.error().message.find(fault), std::string::npos) << ok.error().message;
        ExecutionContext ctx;
        ctx.program = microvm::ExternalProgram{"/bin/true", {}};
        auto r = p.execute_program(ctx);  // never initialized: refused, nothing started
        EXPECT_NE(r.status, Status::Ok);
    };
    attack(others_dir("others-state"), "owned by uid " + std::to_string(kOtherUid));

    // As reported: a directory in /tmp (anyone may rename entries of /tmp). Refused now for
    // where it lies, before its owner is even looked at.
    char tmpl[] = "/tmp/rtq-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    extra_dirs_.push_back(tmpl);
    ::chmod(tmpl, 0755);
    ASSERT_EQ(::chown(tmpl, kOtherUid, kOtherUid), 0);
    attack(tmpl, "is not where every run protects state");
}

// A service manager's umask (microvmd's unit has UMask=0077) made the state directory 0700, and
// every VM's QEMU, which runs as a user of its own, failed to reach its directory below it. The
// provider makes it 0711 whatever the umask, and refuses an existing one the VMs cannot pass.
TEST_F(QemuTrust, StateDirIsSearchableByTheVmsWhateverTheUmask) {
    const std::string state_dir = base_ + "/state";
    const mode_t old_umask = ::umask(077);
    auto r = qemutest::echo_in_new_provider({{"accel", "tcg"}, {"start", "cold"}, {"state_dir", state_dir}},
                                            "booted");
    ::umask(old_umask);
    struct stat st;
    ASSERT_EQ(::stat(state_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u);
    EXPECT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    EXPECT_EQ(r.metadata.stdout_data, "booted\n");

    // One left 0700 (by an older binary under that umask) is refused, naming the mode it needs.
    ASSERT_EQ(::chmod(state_dir.c_str(), 0700), 0);
    microvm::QemuProvider p;
    auto ok = p.initialize({{"accel", "tcg"}, {"start", "cold"}, {"state_dir", state_dir}});
    ASSERT_FALSE(ok) << "a state directory the VMs' users cannot pass was accepted";
    EXPECT_EQ(ok.error().kind, microvm::Failure::Kind::SetupError);
    EXPECT_NE(ok.error().message.find("0711"), std::string::npos) << ok.error().message;
}

// A record of the KVM probe is believed only as the host wrote it: the host's own record with
// its verdict changed to "kvm" is believed where root left it (the control), and ignored when
// another user owns it, when anyone may write it, or when it is a symlink.
TEST_F(QemuTrust, PlantedKvmProbeRecordIsIgnored) {
    if (int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC); fd < 0) {
        GTEST_SKIP() << "/dev/kvm cannot be opened here: the provider never probes KVM (nor reads "
                        "its record)";
    } else {
        ::close(fd);
    }
    microvm::qemu::QemuSettings settings;
    settings.state_dir = own_state_dir();
    settings.accel = "auto";
    const std::string record = settings.state_dir + "/kvm-probe";
    auto probe = [&] {
        auto h = microvm::qemu::probe_host(settings);
        EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().message);
        return h ? *h : microvm::qemu::HostSetup{};
    };
    const microvm::qemu::HostSetup first = probe();
    ASSERT_TRUE(fs::is_regular_file(record)) << "the probe kept no record";
    if (first.kvm) GTEST_SKIP() << "KVM runs guests here: a planted \"kvm\" verdict changes nothing";

    // The host's record, its verdict turned to KVM (whatever the record's format).
    const std::string honest = slurp(record);
    std::string planted;
    if (auto j = nlohmann::json::parse(honest, nullptr, false); !j.is_discarded()) {
        j["value"] = {{"usable", true}, {"why", "planted"}};
        planted = j.dump();
    } else {
        std::istringstream lines(honest);
        std::string boot_id;
        std::getline(lines, boot_id);
        planted = boot_id + "\nkvm\nplanted\n";
    }
    auto believed = [&] {
        const microvm::qemu::HostSetup h = probe();
        return h.kvm || h.accel_why.find("planted") != std::string::npos;
    };

    spit(record, planted, 0600);
    EXPECT_TRUE(believed()) << "control: the host's own record (root, 0600) is not used";

    spit(record, planted, 0644);
    ASSERT_EQ(::chown(record.c_str(), kOtherUid, kOtherUid), 0);
    EXPECT_FALSE(believed()) << "a record of uid " << kOtherUid << " was believed";

    spit(record, planted, 0666);
    EXPECT_FALSE(believed()) << "a record anyone may write was believed";

    const std::string elsewhere = base_ + "/record-elsewhere";
    spit(elsewhere, planted, 0600);
    fs::remove(record);
    fs::create_symlink(elsewhere, record);
    EXPECT_FALSE(believed()) << "a record reached through a symlink was believed";
    EXPECT_EQ(slurp(elsewhere), planted) << "the probe wrote through the symlink";
    EXPECT_FALSE(fs::is_symlink(record)) << "the new record did not replace the symlink";
}

// The `qemu` setting names a binary the host runs as root (`qemu -version` at start-up): one
// another user could have replaced is refused and never executed.
TEST_F(QemuTrust, QemuBinaryOthersCouldReplaceIsNeverExecuted) {
    const std::string marker_dir = base_ + "/markers";
    ASSERT_EQ(::mkdir(marker_dir.c_str(), 0700), 0);
    const std::string state_dir = own_state_dir();
    int n = 0;
    // A stand-in QEMU that leaves a marker whenever it is executed.
    auto fake_qemu = [&](const std::string& dir, mode_t mode) {
        const std::string marker = marker_dir + "/ran-" + std::to_string(++n);
        const std::string script = dir + "/qemu-system-x86_64";
        spit(script, "#!/bin/sh\necho ran > " + marker + "\necho 'QEMU emulator version 7.2.0'\n", mode);
        return std::make_pair(script, marker);
    };
    auto start = [&](const std::string& qemu) {
        microvm::QemuProvider p;
        auto ok = p.initialize({{"qemu", qemu}, {"accel", "tcg"}, {"state_dir", state_dir}});
        if (ok) p.cleanup();
        return ok;
    };

    // Control: where only root can change it, it is the QEMU the host runs.
    const std::string own = base_ + "/own-bin";
    ASSERT_EQ(::mkdir(own.c_str(), 0755), 0);
    auto [trusted, trusted_marker] = fake_qemu(own, 0755);
    (void)start(trusted);
    EXPECT_TRUE(fs::exists(trusted_marker)) << "control: the configured qemu was not executed";

    // In another user's directory (they may replace it at will).
    auto [planted, planted_marker] = fake_qemu(others_dir("others-bin"), 0755);
    auto refused = start(planted);
    EXPECT_FALSE(fs::exists(planted_marker)) << "root executed another user's qemu";
    ASSERT_FALSE(refused) << "qemu in a directory of uid " << kOtherUid << " was accepted";
    EXPECT_EQ(refused.error().kind, microvm::Failure::Kind::SetupError);
    EXPECT_NE(refused.error().message.find("setting qemu"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("owned by uid " + std::to_string(kOtherUid)), std::string::npos)
        << refused.error().message;

    // Owned by another user, in root's directory.
    auto [theirs, theirs_marker] = fake_qemu(own, 0755);
    ASSERT_EQ(::chown(theirs.c_str(), kOtherUid, kOtherUid), 0);
    refused = start(theirs);
    EXPECT_FALSE(fs::exists(theirs_marker)) << "root executed a qemu of uid " << kOtherUid;
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("owned by uid"), std::string::npos) << refused.error().message;

    // Root's, but writable by its group.
    auto [writable, writable_marker] = fake_qemu(own, 0775);
    refused = start(writable);
    EXPECT_FALSE(fs::exists(writable_marker)) << "root executed a qemu its group may write";
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("writable by its group"), std::string::npos) << refused.error().message;
}

// The attack (red team, 2026-12-04): root's run with default settings was granted rw= over a
// template_dir that only another configuration named (a root-owned 0755 directory, so every
// owner check passed), forged the template's memory and manifest, and that configuration's next
// run restored the forged guest. Configured state outside the places every run protects by
// name is now refused before anything in it is read or made.
TEST_F(QemuTrust, StateOutsideTheProtectedPlacesIsRefusedBeforeItIsUsed) {
    std::string outside = (testsupport::trusted_temp_base() / "qemu-place-XXXXXX").string();
    ASSERT_NE(::mkdtemp(outside.data()), nullptr);
    extra_dirs_.push_back(outside);
    ::chmod(outside.c_str(), 0755);
    auto real = microvm::host::find_guest_image("");
    ASSERT_TRUE(real.has_value()) << real.error().message;
    fs::create_directory(outside + "/image");
    for (const auto& e : fs::directory_iterator(real->dir)) {
        fs::copy_file(e.path(), outside + "/image/" + e.path().filename().string());
    }
    for (const char* setting : {"state_dir", "template_dir", "image"}) {
        const std::string path = outside + "/" + (std::string(setting) == "image" ? "image" : setting);
        microvm::QemuProvider p;
        auto ok = p.initialize({{setting, path}, {"accel", "tcg"}, {"start", "auto"}});
        ASSERT_FALSE(ok) << setting << " = " << path << " was accepted";
        EXPECT_EQ(ok.error().kind, microvm::Failure::Kind::SetupError);
        EXPECT_NE(ok.error().message.find(std::string("setting ") + setting + " '" + path + "'"),
                  std::string::npos)
            << ok.error().message;
        EXPECT_NE(ok.error().message.find("/var/cache/microvm"), std::string::npos) << ok.error().message;
    }
    EXPECT_FALSE(fs::exists(outside + "/state_dir")) << "the refused state_dir was made";
    EXPECT_FALSE(fs::exists(outside + "/template_dir")) << "the refused template_dir was made";
    // Control: the same image, moved where every run protects it, boots.
    const std::string inside = base_ + "/image";
    fs::rename(outside + "/image", inside);
    auto r = qemutest::echo_in_new_provider({{"image", inside}, {"accel", "tcg"}, {"start", "cold"},
                                             {"state_dir", base_ + "/state"},
                                             {"template_dir", base_ + "/templates"}},
                                            "booted");
    EXPECT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
    EXPECT_EQ(r.metadata.stdout_data, "booted\n");
}

// An image whose initramfs is not what its manifest says (one byte changed, same size) is never
// booted: neither cold nor to build a template.
TEST_F(QemuTrust, ImageWhoseFilesDifferFromTheManifestIsNeverBooted) {
    auto real = microvm::host::find_guest_image("");
    ASSERT_TRUE(real.has_value()) << real.error().message;
    const std::string image = base_ + "/image";
    ASSERT_EQ(::mkdir(image.c_str(), 0755), 0);
    for (const auto& e : fs::directory_iterator(real->dir)) {
        fs::copy_file(e.path(), image + "/" + e.path().filename().string());
    }
    const std::string initramfs = image + "/" + fs::path(real->initramfs).filename().string();
    const std::string templates = base_ + "/templates";
    auto run = [&](const std::string& start) {
        return qemutest::echo_in_new_provider({{"image", image}, {"start", start}, {"accel", "tcg"},
                                               {"state_dir", base_ + "/state"}, {"template_dir", templates}},
                                              "booted");
    };
    // Control: the copy, as it is, boots.
    auto fine = run("cold");
    ASSERT_EQ(fine.status, Status::Ok) << (fine.error ? fine.error->message : "");
    EXPECT_EQ(fine.metadata.stdout_data, "booted\n");

    {
        std::fstream f(initramfs, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(fs::file_size(initramfs) / 2));
        const char c = static_cast<char>(f.get());
        f.seekp(static_cast<std::streamoff>(fs::file_size(initramfs) / 2));
        f.put(static_cast<char>(~c));
    }
    for (const char* start : {"cold", "auto"}) {
        auto r = run(start);
        ASSERT_NE(r.status, Status::Ok) << "start " << start << ": an image unlike its manifest booted";
        ASSERT_TRUE(r.error.has_value());
        EXPECT_EQ(r.error->reason, microvm::Reason::SetupError) << r.error->message;
        EXPECT_NE(r.error->message.find("SHA-256"), std::string::npos) << start << ": " << r.error->message;
        EXPECT_NE(r.error->message.find(initramfs), std::string::npos) << start << ": " << r.error->message;
    }
    EXPECT_FALSE(fs::exists(templates) && !fs::is_empty(templates)) << "a template was built from it";
}

// QEMU owns its VM directory (it runs as that directory's user). One taken over by its guest
// swapped its stderr log for a FIFO and exited, and the host, reading the log by name for the
// reason QEMU ended, blocked in open() for good: past the run's timeout, cancellation and
// SIGINT (red team, 2026-12-04). The host reads the log through the descriptor it made.
TEST_F(QemuTrust, AFifoPlantedForQemusLogDoesNotHoldTheHost) {
    auto real = microvm::host::find_guest_image("");
    ASSERT_TRUE(real.has_value()) << real.error().message;
    const std::string state_dir = own_state_dir();
    const std::string bin = base_ + "/bin";
    ASSERT_EQ(::mkdir(bin.c_str(), 0755), 0);
    // The taken-over QEMU, played by a script: it answers -version, then plants and exits.
    const std::string qemu = bin + "/qemu-system-x86_64";
    spit(qemu,
         "#!/bin/sh\n"
         "for a in \"$@\"; do [ \"$a\" = -version ] && { echo 'QEMU emulator version 7.2.0'; exit 0; }; done\n"
         "echo 'planted' >&2\n"
         "rm -f qemu.stderr && mkfifo qemu.stderr\n"
         "exit 1\n",
         0755);
    microvm::QemuProvider p;
    auto ok = p.initialize({{"qemu", qemu}, {"accel", "tcg"}, {"start", "cold"}, {"state_dir", state_dir}});
    ASSERT_TRUE(ok) << ok.error().message;
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    ctx.config.timeout = 5s;
    auto done = std::async(std::launch::async, [&] { return p.execute_program(ctx); });
    if (done.wait_for(60s) != std::future_status::ready) {
        ADD_FAILURE() << "the host still waits on the FIFO QEMU planted, 60 s into a 5 s run";
        std::error_code ec;
        for (const auto& e : fs::recursive_directory_iterator(state_dir, ec)) {
            if (!e.is_fifo()) continue;
            // A writer releases the blocked open.
            const int fd = ::open(e.path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0) ::close(fd);
        }
    }
    const auto r = done.get();
    p.cleanup();
    EXPECT_NE(r.status, Status::Ok);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, microvm::Reason::SetupError) << r.error->message;
    // What QEMU wrote before the swap is still the reason the host gives.
    EXPECT_NE(r.error->message.find("planted"), std::string::npos) << r.error->message;
}

}  // namespace
