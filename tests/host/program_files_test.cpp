#include "host/program_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "planning_support.hpp"

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

bool has_file(const std::vector<HostFile>& files, const std::string& sandbox_path) {
    for (const HostFile& f : files) {
        if (f.sandbox_path == sandbox_path) return true;
    }
    return false;
}

std::string write_script(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    fs::permissions(path, fs::perms::owner_all);
    return path;
}

TEST(ProgramFiles, AScriptBringsItsInterpreterAndItsLibraries) {
    TempDir dir;
    const std::string script = write_script(dir.path() + "/tool.sh", "#!/bin/sh\necho hi\n");
    auto files = program_files(script);
    ASSERT_TRUE(files) << files.error().message;
    EXPECT_TRUE(has_file(*files, script));
    EXPECT_TRUE(has_file(*files, "/bin/sh"));
    EXPECT_GE(files->size(), 4u);  // script, shell, its ELF interpreter, libc
}

// The attack (a red-team PoC): a script whose "#!" names a FIFO planted by an earlier sandbox
// with rw. open(2) on it blocked the host before the sandbox existed, deaf to --timeout,
// SIGTERM and cancellation; in the daemon it wedged worker threads.
TEST(ProgramFiles, AFifoAsTheScriptInterpreterIsRefusedPromptly) {
    TempDir dir;
    const std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0755), 0);
    const std::string script = write_script(dir.path() + "/tool.sh", "#!" + fifo + "\necho hi\n");
    auto files = promptly(fifo, [&] { return program_files(script); });
    ASSERT_FALSE(files) << "a FIFO interpreter was accepted";
    EXPECT_EQ(files.error().kind, Failure::Kind::InvalidInput);
    EXPECT_NE(files.error().message.find("'#!' interpreter '" + fifo + "'"), std::string::npos)
        << files.error().message;
    EXPECT_NE(files.error().message.find("a FIFO"), std::string::npos) << files.error().message;
}

TEST(ProgramFiles, AFifoAsTheProgramIsRefusedPromptly) {
    TempDir dir;
    const std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0755), 0);
    auto files = promptly(fifo, [&] { return program_files(fifo); });
    ASSERT_FALSE(files) << "a FIFO program was accepted";
    EXPECT_EQ(files.error().kind, Failure::Kind::InvalidInput);
    EXPECT_NE(files.error().message.find("program '" + fifo + "'"), std::string::npos)
        << files.error().message;
}

// DT_NEEDED / DT_RUNPATH lead to a FIFO (the fixture finds its library in $ORIGIN/origin).
TEST(ProgramFiles, AFifoAsANeededLibraryIsRefusedPromptly) {
    TempDir dir;
    const std::string user = dir.path() + "/user";
    fs::copy_file(ELF_ORIGIN_USER, user);
    fs::create_directory(dir.path() + "/origin");
    const std::string lib = dir.path() + "/origin/libelf_origin_lib.so";
    ASSERT_EQ(::mkfifo(lib.c_str(), 0755), 0);
    auto files = promptly(lib, [&] { return program_files(user); });
    ASSERT_FALSE(files) << "a FIFO library was accepted or skipped";
    EXPECT_EQ(files.error().kind, Failure::Kind::InvalidInput);
    EXPECT_NE(files.error().message.find(lib), std::string::npos) << files.error().message;
}

// A "#!" line is no way to bring an arbitrary host file into an empty root: an interpreter that
// can run nothing (neither ELF nor script) is refused instead of bound.
TEST(ProgramFiles, AnInterpreterThatCannotRunIsRefused) {
    TempDir dir;
    std::ofstream(dir.path() + "/secret.txt") << "host secret\n";
    fs::create_directory(dir.path() + "/sub");
    for (const std::string& target :
         {dir.path() + "/secret.txt", dir.path() + "/sub", std::string("/sys/kernel/notes")}) {
        const std::string script =
            write_script(dir.path() + "/tool.sh", "#!" + target + "\necho hi\n");
        auto files = program_files(script);
        ASSERT_FALSE(files) << target << " accepted as an interpreter";
        EXPECT_EQ(files.error().kind, Failure::Kind::InvalidInput);
    }
}

}  // namespace
}  // namespace microvm::host
