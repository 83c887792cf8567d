// The template cache's hygiene, without a VM (a template here is any non-empty state file): the
// cache is used only where every directory above it is trusted, and committing a template
// removes the templates of other keys that went unused too long or exceed the count bound,
// least recently used first, touching nothing that is not a template.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "host/remove_tree.hpp"
#include "host/unique_fd.hpp"
#include "qemu/vm_template.hpp"
#include "support/trusted_temp.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using microvm::qemu::TemplateRetention;
using microvm::qemu::TemplateStore;

// A key-shaped name: 32 hex digits.
std::string key_of(int n) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%032x", n);
    return buf;
}

class QemuTemplateStore : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (testsupport::trusted_temp_base() / "qemu-template-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        base_ = tmpl;
        root_ = base_ + "/templates";
    }
    void TearDown() override {
        ::chmod(base_.c_str(), 0700);
        microvm::host::remove_tree(base_);
    }

    // Builds and commits a template of key in store.
    void commit(TemplateStore& store, const std::string& key) {
        auto build = store.begin_build();
        ASSERT_TRUE(build) << build.error().message;
        std::ofstream(*build + "/state") << "state of " << key;
        ::chmod((*build + "/state").c_str(), 0600);
        auto done = store.commit(*build, key);
        ASSERT_TRUE(done) << done.error().message;
    }

    // A template directory last used `age` ago.
    void plant(const std::string& name, std::chrono::seconds age) {
        const std::string dir = root_ + "/" + name;
        fs::create_directories(dir);
        ::chmod(dir.c_str(), 0700);
        std::ofstream(dir + "/state") << "old";
        timespec t[2];
        t[0].tv_sec = t[1].tv_sec = ::time(nullptr) - static_cast<time_t>(age.count());
        t[0].tv_nsec = t[1].tv_nsec = 0;
        ASSERT_EQ(::utimensat(AT_FDCWD, dir.c_str(), t, 0), 0);
    }

    std::set<std::string> entries() const {
        std::set<std::string> names;
        for (const auto& e : fs::directory_iterator(root_)) names.insert(e.path().filename());
        return names;
    }

    std::string base_, root_;
};

// The attack: a parent of the cache that others may write lets them rename the cache away and
// put a directory of theirs, with templates of their making, in its place.
TEST_F(QemuTemplateStore, CacheUnderAGroupWritableParentIsNotUsed) {
    const std::string parent = base_ + "/shared";
    ASSERT_EQ(::mkdir(parent.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(parent.c_str(), 0770), 0);  // group-writable
    TemplateStore store(parent + "/templates");
    auto opened = store.open(key_of(1));
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find(parent), std::string::npos) << opened.error().message;
    EXPECT_NE(opened.error().message.find("writable by its group"), std::string::npos) << opened.error().message;
    EXPECT_FALSE(store.begin_build());

    ASSERT_EQ(::chmod(parent.c_str(), 0755), 0);  // fixed: used again
    EXPECT_TRUE(store.open(key_of(1)));
    EXPECT_TRUE(store.begin_build());
}

TEST_F(QemuTemplateStore, TheCacheItselfMustBeRootsPrivateDirectory) {
    TemplateStore store(root_);
    ASSERT_TRUE(store.open(key_of(1)));  // creates it, 0700
    ::chmod(root_.c_str(), 0755);
    auto opened = store.open(key_of(1));
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("0700"), std::string::npos) << opened.error().message;
    ::chmod(root_.c_str(), 0700);
    fs::rename(root_, base_ + "/real");
    fs::create_directory_symlink(base_ + "/real", root_);
    EXPECT_FALSE(store.open(key_of(1)));  // never through a symlink
}

TEST_F(QemuTemplateStore, CommitRemovesTemplatesUnusedTooLong) {
    TemplateStore store(root_, TemplateRetention{8, 24h});
    ASSERT_TRUE(store.open(key_of(0)));
    plant(key_of(1), 48h);  // unused for two days
    plant(key_of(2), 1h);
    plant("build-1-1", 48h);   // a build directory: sweep_stale's, not evict's
    plant("not-a-template", 48h);  // not a key: the cache may hold other things
    commit(store, key_of(3));
    EXPECT_EQ(entries(), (std::set<std::string>{key_of(2), key_of(3), "build-1-1", "not-a-template"}));
    ASSERT_TRUE(store.open(key_of(3)));
    EXPECT_TRUE(store.open(key_of(3))->state.valid());
}

TEST_F(QemuTemplateStore, CommitKeepsOnlyTheMostRecentlyUsed) {
    TemplateStore store(root_, TemplateRetention{3, 24h});
    ASSERT_TRUE(store.open(key_of(0)));
    for (int i = 1; i <= 5; ++i) plant(key_of(i), std::chrono::minutes(i));  // 1 the most recent
    commit(store, key_of(9));
    EXPECT_EQ(entries(), (std::set<std::string>{key_of(1), key_of(2), key_of(9)}));
}

// What QEMU wrote in a template directory is removed whole, at any depth: a tree nested deeper
// than the descriptors the host may hold (made through descriptors, as a process in it can) was
// left in the cache by std::filesystem::remove_all, which holds one per level, when the template
// was discarded or evicted (as stale build directories were, red team 2026-12-04).
TEST_F(QemuTemplateStore, ATemplateNestedDeeperThanTheDescriptorLimitIsRemovedWhole) {
    TemplateStore store(root_);
    commit(store, key_of(1));
    const std::string dir = root_ + "/" + key_of(1);
    microvm::host::UniqueFd at(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    for (int depth = 0; depth < 200; ++depth) {
        ASSERT_EQ(::mkdirat(at.get(), "n", 0700), 0);
        at = microvm::host::UniqueFd(::openat(at.get(), "n", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(at.valid());
    }
    at.reset();
    rlimit saved;
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 128;  // fewer descriptors than the tree is deep
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    store.discard(key_of(1));
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    struct stat st;
    EXPECT_NE(::lstat(dir.c_str(), &st), 0) << "the discarded template is left in the cache";
}

// Opening a template marks it used: an old template in use outlives newer unused ones.
TEST_F(QemuTemplateStore, OpeningATemplateMarksItUsed) {
    TemplateStore store(root_, TemplateRetention{2, 24h});
    commit(store, key_of(1));
    timespec old[2];
    old[0].tv_sec = old[1].tv_sec = ::time(nullptr) - 48 * 3600;
    old[0].tv_nsec = old[1].tv_nsec = 0;
    ASSERT_EQ(::utimensat(AT_FDCWD, (root_ + "/" + key_of(1)).c_str(), old, 0), 0);
    plant(key_of(2), 1h);
    auto opened = store.open(key_of(1));  // in use now
    ASSERT_TRUE(opened && opened->state.valid()) << (opened ? opened->refused : opened.error().message);
    commit(store, key_of(3));
    EXPECT_EQ(entries(), (std::set<std::string>{key_of(1), key_of(3)}));
}

}  // namespace
