// Per-boot records (host/boot_cache.hpp): used only while current, and only when nobody but root
// or this user could have written them. Each planted or tampered record must be ignored.
#include "host/boot_cache.hpp"
#include "host/stale_dirs.hpp"
#include "host/trusted_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "support/expectations.hpp"
#include "support/host_files.hpp"
#include "support/trusted_temp.hpp"

namespace fs = std::filesystem;
using microvm::host::read_boot_record;
using microvm::host::write_boot_record;

namespace {

class BootCacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (testsupport::trusted_temp_base() / "microvm-bootcache-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        ::chmod(dir_.c_str(), 0700);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string file() const { return dir_ + "/rec"; }
    std::string dir_;
    const nlohmann::json key_ = {{"binary", 42}};
};

TEST_F(BootCacheTest, ARecordIsReadBackForTheSameIdentityOnly) {
    write_boot_record(dir_, "rec", key_, "ptrace");
    auto v = read_boot_record(dir_, "rec", key_);
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, "ptrace");
    EXPECT_FALSE(read_boot_record(dir_, "rec", {{"binary", 43}}));
    struct stat st;
    ASSERT_EQ(::stat(file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(BootCacheTest, ARecordFromAnotherBootIsStale) {
    write_boot_record(dir_, "rec", key_, true);
    std::ifstream in(file());
    auto record = nlohmann::json::parse(in);
    record["identity"]["boot_id"] = "00000000-0000-0000-0000-000000000000\n";
    std::ofstream(file(), std::ios::trunc) << record.dump();
    EXPECT_FALSE(read_boot_record(dir_, "rec", key_));
}

TEST_F(BootCacheTest, AWritableByOthersRecordIsIgnored) {
    write_boot_record(dir_, "rec", key_, true);
    ASSERT_TRUE(read_boot_record(dir_, "rec", key_));
    ::chmod(file().c_str(), 0666);
    EXPECT_FALSE(read_boot_record(dir_, "rec", key_));
    ::chmod(file().c_str(), 0620);
    EXPECT_FALSE(read_boot_record(dir_, "rec", key_));
}

TEST_F(BootCacheTest, ARecordOwnedBySomeoneElseIsIgnored) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "needs root to give the file away");
    write_boot_record(dir_, "rec", key_, true);
    ASSERT_EQ(::chown(file().c_str(), 12345, 12345), 0);
    EXPECT_FALSE(read_boot_record(dir_, "rec", key_));
}

TEST_F(BootCacheTest, ASymlinkedRecordIsNotFollowed) {
    write_boot_record(dir_, "real", key_, true);
    fs::create_symlink(dir_ + "/real", file());
    EXPECT_FALSE(read_boot_record(dir_, "rec", key_));
}

TEST_F(BootCacheTest, GarbageIsIgnored) {
    std::ofstream(file()) << "{not json";
    ::chmod(file().c_str(), 0600);
    EXPECT_FALSE(read_boot_record(dir_, "rec", key_));
}

TEST_F(BootCacheTest, AnUntrustedDirectoryIsRefused) {
    ::chmod(dir_.c_str(), 0777);
    auto refused = microvm::host::trusted_cache_dir(dir_, "cache directory");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("writable by others"), std::string::npos)
        << refused.error().message;
    ::chmod(dir_.c_str(), 0700);
    EXPECT_TRUE(microvm::host::trusted_cache_dir(dir_, "cache directory"));
    // Below /tmp, which others may write (sticky or not), a directory is never trusted.
    const testsupport::HostDir below_tmp("microvm-never-trusted");
    EXPECT_FALSE(microvm::host::trusted_cache_dir((below_tmp.path() / "cache").string(), "cache directory"));
}

TEST_F(BootCacheTest, BytesAreReadBackAsTheyWereForTheSameIdentityOnly) {
    const std::string bytes("\0\n{\xff raw", 9);
    microvm::host::write_boot_bytes(dir_, "rec", key_, bytes);
    auto v = microvm::host::read_boot_bytes(dir_, "rec", key_, 64);
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, bytes);
    EXPECT_FALSE(microvm::host::read_boot_bytes(dir_, "rec", {{"binary", 43}}, 64));
    EXPECT_FALSE(microvm::host::read_boot_bytes(dir_, "rec", key_, bytes.size() - 1))
        << "a value over the cap is not read";
    // The rules of every record: the same file writable by others, or another record kind
    // under the name, is not used.
    ::chmod(file().c_str(), 0622);
    EXPECT_FALSE(microvm::host::read_boot_bytes(dir_, "rec", key_, 64));
    write_boot_record(dir_, "rec", key_, "json");
    EXPECT_FALSE(microvm::host::read_boot_bytes(dir_, "rec", key_, 64));
}

TEST_F(BootCacheTest, PruningKeepsTheNewestRecordsOfAKindAndNothingElse) {
    const auto write_at = [&](const std::string& name, time_t mtime) {
        std::ofstream(dir_ + "/" + name) << name;
        struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
        ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ + "/" + name).c_str(), times, 0), 0);
    };
    for (int i = 0; i < 5; ++i) write_at("kind." + std::to_string(i) + ".module", 1000 + i);
    write_at("kind.digest", 1);         // another suffix
    write_at("other.0.module", 1);      // another prefix
    fs::create_symlink("/etc/passwd", dir_ + "/kind.link.module");  // removed, never followed
    microvm::host::prune_boot_records(dir_, "kind.", ".module", 2);
    std::set<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir_)) left.insert(entry.path().filename());
    EXPECT_EQ(left, (std::set<std::string>{"kind.3.module", "kind.4.module", "kind.digest",
                                           "other.0.module"}));
    EXPECT_TRUE(fs::exists("/etc/passwd"));
}

// A record write killed midway left its temporary file (NAME.tmp.PID.N: ~2 MB for a wasm module,
// in /run, which is memory) until the next boot (red team, 2026-12-06). Pruning removes those
// of writers that are gone and leaves a running writer's.
TEST_F(BootCacheTest, PruningRemovesTheTemporaryFilesOfWritersThatAreGone) {
    const pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ASSERT_GT(gone, 0);
    ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
    // Named as write_file_atomically names them (owned_name): this process's, and the same with
    // the pid of a process that is gone.
    const std::string live = microvm::host::owned_name("kind.1.module.tmp.");
    const std::string owner = live.substr(std::string("kind.1.module.tmp.").size());  // PID.NS-N
    const std::string dead = "kind.0.module.tmp." + std::to_string(gone) + owner.substr(owner.find('.'));
    const std::string other = "other.0.module.tmp." + std::to_string(gone) + owner.substr(owner.find('.'));
    for (const auto& name : {dead, live, other}) std::ofstream(dir_ + "/" + name) << "partial";
    microvm::host::prune_boot_records(dir_, "kind.", ".module", 2);
    EXPECT_FALSE(fs::exists(dir_ + "/" + dead)) << "a dead writer's temporary file was kept";
    EXPECT_TRUE(fs::exists(dir_ + "/" + live)) << "a running writer's temporary file was removed";
    EXPECT_TRUE(fs::exists(dir_ + "/" + other));
}

// The attack (red team, 2026-12-03): a user's records were kept wherever $XDG_RUNTIME_DIR
// pointed, so a run with another environment could not know them and let a sandbox write
// there. A user's records are kept under /run/user/<uid>/microvm or nowhere.
TEST_F(BootCacheTest, AUsersRecordsAreKeptInItsRuntimeDirectoryOnly) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "needs root to act as another user");
    const std::string alt = dir_ + "/alt";
    fs::create_directories(alt);
    ::chown(dir_.c_str(), 12345, 12345);
    ::chown(alt.c_str(), 12345, 12345);
    const pid_t child = ::fork();
    if (child == 0) {
        ::setenv("XDG_RUNTIME_DIR", alt.c_str(), 1);
        if (::setresgid(12345, 12345, 12345) != 0 || ::setresuid(12345, 12345, 12345) != 0) ::_exit(2);
        const auto dir = microvm::host::boot_cache_dir();
        if (dir && !dir->starts_with("/run/user/12345/")) ::_exit(1);
        ::_exit(fs::exists(alt + "/microvm") ? 1 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit " << WEXITSTATUS(status);
}

// One rule picks the place of a user's runtime state for the boot records and the egress
// proxy's socket (host/trusted_state.hpp): /run/user/<uid> only when it is a real directory of
// theirs that no one else can write. Each of the other shapes gets no place at all.
TEST_F(BootCacheTest, AUsersRuntimeDirectoryIsUsedOnlyWhenItIsTheirsAlone) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "needs root to act as another user");
    EXPECT_EQ(microvm::host::protected_runtime_base(), std::optional<std::string>("/run"));
    const uid_t uid = 40000 + ::getpid() % 20000;
    const std::string base = "/run/user/" + std::to_string(uid);
    const bool had_run_user = fs::exists("/run/user");
    fs::create_directories("/run/user");
    const std::string elsewhere = dir_ + "/elsewhere";
    fs::create_directories(elsewhere);
    ASSERT_EQ(::chown(dir_.c_str(), uid, uid), 0);
    ASSERT_EQ(::chown(elsewhere.c_str(), uid, uid), 0);
    // 0: the base and its boot cache directory; 1: neither; anything else: a mismatch.
    const auto place_as_user = [&]() {
        const pid_t child = ::fork();
        if (child == 0) {
            if (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(2);
            const auto found = microvm::host::protected_runtime_base();
            const auto boot = microvm::host::boot_cache_dir();
            if (found == std::optional<std::string>(base) && boot == base + "/microvm") ::_exit(0);
            ::_exit(!found && !boot ? 1 : 3);
        }
        int status = 0;
        if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
        return WEXITSTATUS(status);
    };
    fs::remove_all(base);
    ASSERT_EQ(::mkdir(base.c_str(), 0700), 0);
    ASSERT_EQ(::chown(base.c_str(), uid, uid), 0);
    EXPECT_EQ(place_as_user(), 0) << "their own 0700 directory";
    fs::remove_all(base + "/microvm");
    ASSERT_EQ(::chmod(base.c_str(), 0770), 0);
    EXPECT_EQ(place_as_user(), 1) << "writable by the group";
    ASSERT_EQ(::chmod(base.c_str(), 0700), 0);
    ASSERT_EQ(::chown(base.c_str(), 0, 0), 0);
    EXPECT_EQ(place_as_user(), 1) << "root's";
    fs::remove_all(base);
    ASSERT_EQ(::symlink(elsewhere.c_str(), base.c_str()), 0);
    EXPECT_EQ(place_as_user(), 1) << "a symlink to a directory of theirs";
    EXPECT_FALSE(fs::exists(elsewhere + "/microvm"));
    fs::remove(base);
    if (!had_run_user) fs::remove("/run/user");
}

}  // namespace
