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

// What a provider binds for a program (host/program_files.hpp): a kept file only through a grant
// inside the kept path, judged where the grant is, never through a link (a client's own rw=
// directory swapped for a link into another session made that session's files its own; a
// review, 2026-12-07).
TEST(PrivateFiles, AProgramsFilesAreBoundOnlyThroughAGrantInsideTheKeptPath) {
    using microvm::host::binds_private;
    const testsupport::HostDir temp("private-binds");
    const fs::path& dir = temp.path();
    const fs::path alice = dir / "state" / "sandboxes" / "alice", bob = dir / "state" / "sandboxes" / "bob";
    fs::create_directories(alice);
    fs::create_directories(bob);
    fs::create_directories(dir / "client");
    std::ofstream(alice / "run.sh") << "#!/bin/sh\n";
    std::ofstream(bob / "mine.sh") << "#!/bin/sh\n";
    std::ofstream(dir / "client" / "tool") << "#!/bin/sh\n";
    keep_private((dir / "state").string());
    const std::string alice_file = (alice / "run.sh").string(), bob_file = (bob / "mine.sh").string();
    // Bob's run: his own work directory is granted.
    EXPECT_FALSE(binds_private(bob_file, {bob.string()}));
    EXPECT_TRUE(binds_private(alice_file, {bob.string()}));
    // A grant holding the kept path is no grant of what lies inside it.
    EXPECT_TRUE(binds_private(alice_file, {dir.string(), "/"}));
    EXPECT_TRUE(binds_private((dir / "state").string(), {bob.string()}));
    // A grant that is a link into another session.
    fs::create_symlink(alice, dir / "client" / "d");
    EXPECT_TRUE(binds_private(alice_file, {(dir / "client" / "d").string()}));
    // Outside every kept path: not private, granted or not.
    EXPECT_FALSE(binds_private((dir / "client" / "tool").string(), {}));
}
