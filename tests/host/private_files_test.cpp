// The host process's private files (host/private_files.hpp), which a provider whose program
// reaches files as this process (wasm) never hands over: the attack (red team and review,
// 2026-12-06) read every client's token from a wasm program under fs "full" in microvmd.
#include "host/private_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "host/unique_fd.hpp"
#include "support/host_files.hpp"

namespace fs = std::filesystem;
using microvm::host::keep_private;
using microvm::host::names_private;
using microvm::host::reaches_private;
using microvm::host::UniqueFd;

namespace {

UniqueFd open_path(const fs::path& p) { return UniqueFd(::open(p.c_str(), O_PATH | O_CLOEXEC)); }

TEST(PrivateFiles, WhatIsKeptIsReachedOnlyFromInsideIt) {
    const testsupport::HostDir temp("private-files");
    const fs::path& dir = temp.path();
    fs::create_directories(dir / "state" / "sandboxes" / "s1");
    std::ofstream(dir / "state" / "sandboxes" / "s1" / "mine") << "x";
    std::ofstream(dir / "tokens") << "t:secret";
    std::ofstream(dir / "audit.jsonl") << "{}";
    std::ofstream(dir / "audit.jsonl.1") << "{}";
    std::ofstream(dir / "open") << "x";
    const UniqueFd root = open_path("/");
    // Nothing kept yet: nothing is private.
    EXPECT_FALSE(reaches_private(open_path(dir / "tokens").get(), root.get()));
    keep_private((dir / "state").string());
    keep_private((dir / "tokens").string());
    keep_private((dir / "audit.jsonl").string());
    ASSERT_EQ(::link((dir / "tokens").c_str(), (dir / "tokens-link").c_str()), 0);
    for (const fs::path& p : {dir / "tokens", dir / "tokens-link", dir / "audit.jsonl.1", dir / "state",
                              dir / "state" / "sandboxes" / "s1" / "mine"}) {
        EXPECT_TRUE(reaches_private(open_path(p).get(), root.get())) << p;
    }
    EXPECT_FALSE(reaches_private(open_path(dir / "open").get(), root.get()));
    EXPECT_FALSE(reaches_private(open_path(dir).get(), root.get()));
    // A session's work directory, granted as such: what lies below it is its own.
    const UniqueFd work = open_path(dir / "state" / "sandboxes" / "s1");
    EXPECT_FALSE(reaches_private(open_path(dir / "state" / "sandboxes" / "s1" / "mine").get(), work.get()));
    EXPECT_TRUE(reaches_private(open_path(dir / "tokens").get(), work.get()));
    // By name, before anything is made or changed there: a rotated name to be, the kept file.
    const UniqueFd top = open_path(dir);
    EXPECT_TRUE(names_private(top.get(), "audit.jsonl.7", root.get()));
    EXPECT_TRUE(names_private(top.get(), "tokens", root.get()));
    EXPECT_FALSE(names_private(top.get(), "audit.jsonl-other", root.get()));
    EXPECT_FALSE(names_private(work.get(), "new", work.get()));
}

}  // namespace
