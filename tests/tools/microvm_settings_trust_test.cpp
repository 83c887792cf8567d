// Settings come only from places a sandbox cannot write (issue: a sandbox with --fs rw=DIR left
// DIR/microvm.toml and an executable it names for the next `microvm` started in DIR, which ran
// the planted program as root). Driven through the CLI, with a real sandbox as the attacker.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/run_command.hpp"
#include "support/trusted_temp.hpp"

namespace {

namespace fs = std::filesystem;
using testsupport::CommandResult;
using testsupport::TempFile;

CommandResult microvm(std::vector<std::string> args, const std::string& cwd = "") {
    args.insert(args.begin(), MICROVM_BINARY);
    return testsupport::run_command(args, "", cwd);
}

class PlantedSettings : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/microvm-planted-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ::chmod(dir_.c_str(), 0777);  // the sandbox's unprivileged user writes here
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string dir_;
};

TEST_F(PlantedSettings, ASandboxCannotPlantSettingsForTheNextRun) {
    const std::string marker = dir_ + "/planted-program-ran";
    // The attacker: a process sandbox with only DIR writable writes the settings file and the
    // program it names, with shell builtins.
    const std::string plant =
        "printf '#!/bin/sh\\ntouch " + marker + "\\nexit 1\\n' > " + dir_ + "/runsc && " +
        "chmod 755 " + dir_ + "/runsc 2>/dev/null; " +
        "printf '[profiles.test]\\ndefault_provider = \"planted\"\\n"
        "[provider_configs.gvisor]\\nrunsc = \"" + dir_ + "/runsc\"\\n' > " + dir_ +
        "/microvm.toml";
    CommandResult attack =
        microvm({"run", "-p", "process", "--fs", "rw=" + dir_, "--", "/bin/sh", "-c", plant});
    ASSERT_EQ(attack.status, 0) << attack.err;
    ASSERT_TRUE(fs::exists(dir_ + "/microvm.toml"));

    // The next microvm started in DIR does not read DIR/microvm.toml: the built-in test profile
    // (mock) answers, not the planted one.
    CommandResult next = microvm({"eval", "--profile", "test", "(+ 1 2)"}, dir_);
    EXPECT_EQ(next.status, 0) << next.err;
    EXPECT_EQ(next.out, "3\n");
    EXPECT_EQ(next.err.find("planted"), std::string::npos) << next.err;

    // Named explicitly, the file is refused for where it lies (exit 125, naming it), and the
    // program it names never runs.
    CommandResult named = microvm({"run", "-p", "gvisor", "--config", dir_ + "/microvm.toml",
                                   "--", "/bin/true"},
                                  dir_);
    EXPECT_EQ(named.status, 125) << named.err;
    EXPECT_NE(named.err.find("refusing settings file '" + dir_ + "/microvm.toml'"),
              std::string::npos)
        << named.err;
    EXPECT_FALSE(fs::exists(marker));
}

TEST(SettingsExecutables, RelativeOrUntrustedRunscIsRefused) {
    const auto trusted = testsupport::trusted_temp_base();
    TempFile relative("[provider_configs.gvisor]\nrunsc = \"bin/runsc\"\n", trusted);
    CommandResult r =
        microvm({"run", "-p", "gvisor", "--config", relative.path(), "--", "/bin/true"});
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_NE(r.err.find("must be an absolute path"), std::string::npos) << r.err;

    TempFile planted("#!/bin/sh\nexit 0\n");  // in /tmp: anyone could have put it there
    ::chmod(planted.path().c_str(), 0755);
    TempFile names("[provider_configs.gvisor]\nrunsc = \"" + planted.path() + "\"\n", trusted);
    r = microvm({"run", "-p", "gvisor", "--config", names.path(), "--", "/bin/true"});
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_NE(r.err.find("refusing runsc"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("writable by others"), std::string::npos) << r.err;
}

// The attack (red team, 2026-12-04): the programs the host runs as root were not protected. A
// process sandbox given rw= over the directory of the runsc its settings name replaced it, and
// the next gvisor run executed the planted file as root; rw= over the directory of the microvm
// binary itself replaced the binary for its next invocation. Each is refused before the
// sandbox exists, as the guest runner's directory is.
TEST_F(PlantedSettings, ASandboxCannotReplaceTheProgramsTheHostRuns) {
    const auto refused = [](const CommandResult& r) {
        EXPECT_NE(r.status, 0) << r.err;
        EXPECT_NE(r.err.find("the programs the host runs"), std::string::npos) << r.err;
    };
    const fs::path guest_dir = fs::path(MICROVM_BINARY).parent_path().parent_path() / "guest";
    ASSERT_TRUE(fs::exists(guest_dir / "microvm-guest"));
    refused(microvm({"run", "-p", "process", "--fs", "ro", "--fs", "rw=" + guest_dir.string(), "--", "/bin/true"}));
    // The rest of the build tree the binary runs from: the gvisor launcher, the RTFS wasm module.
    const fs::path build = fs::path(MICROVM_BINARY).parent_path().parent_path().parent_path();
    refused(microvm({"run", "-p", "process", "--fs", "ro", "--fs", "rw=" + (build / "tools" / "gvisor-launcher").string(),
                     "--", "/bin/true"}));

    const std::string copy = dir_ + "/microvm";
    fs::copy_file(MICROVM_BINARY, copy);
    ::chmod(copy.c_str(), 0755);
    const std::string replace = "echo planted > " + copy;
    CommandResult self = testsupport::run_command(
        {copy, "run", "-p", "process", "--fs", "ro", "--fs", "rw=" + dir_, "--", "/bin/sh", "-c", replace}, "");
    refused(self);
    EXPECT_GT(fs::file_size(copy), 1000u) << "the sandbox replaced the binary that ran it";

    // An installation's layout (bin/microvm beside guest/ and gvisor-launcher/), outside any build
    // tree: the places the guest runner and the gvisor launcher are looked for beside the
    // binary's own directory. The launcher's was writable while the guest runner's was not.
    const std::string installed = dir_ + "/inst/bin/microvm";
    fs::create_directories(dir_ + "/inst/bin");
    fs::copy_file(MICROVM_BINARY, installed);
    ::chmod(installed.c_str(), 0755);
    for (const char* sibling : {"gvisor-launcher", "guest", "rtfs-wasm"}) {
        fs::create_directories(dir_ + "/inst/" + sibling);
        refused(testsupport::run_command(
            {installed, "run", "-p", "process", "--fs", "ro", "--fs", "rw=" + dir_ + "/inst/" + sibling, "--", "/bin/true"}, ""));
    }
    // And the build tree's copies, which the installed binary falls back to: its wasm RTFS
    // runtime there was writable (red team, 2026-12-04).
    const fs::path built_wasm = build / "rtfs-wasm";
    ASSERT_TRUE(fs::exists(built_wasm / "rtfs-guest.wasm"));
    refused(testsupport::run_command(
        {installed, "run", "-p", "process", "--fs", "ro", "--fs", "rw=" + built_wasm.string(), "--", "/bin/true"}, ""));

    const auto trusted = testsupport::trusted_temp_base();
    const std::string gvisor_dir = dir_ + "/gvisor";
    fs::create_directories(gvisor_dir);
    std::ofstream(gvisor_dir + "/runsc") << "#!/bin/sh\nexit 0\n";
    TempFile names("[provider_configs.gvisor]\nrunsc = \"" + gvisor_dir + "/runsc\"\n", trusted);
    refused(microvm({"run", "-p", "process", "--config", names.path(), "--fs", "ro", "--fs", "rw=" + gvisor_dir,
                     "--", "/bin/true"}));
}

}  // namespace
