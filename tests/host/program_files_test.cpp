#include "host/program_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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

// In dir (made searchable by others): a program, user, that finds its library through
// DT_RUNPATH ($ORIGIN/origin), where the library (readable by others) lies in a directory only
// root may search.
struct ProgramWithPrivateLibrary {
    std::string user, origin, lib;
};

ProgramWithPrivateLibrary program_with_private_library(const std::string& dir) {
    ProgramWithPrivateLibrary p{dir + "/user", dir + "/origin", dir + "/origin/libelf_origin_lib.so"};
    EXPECT_EQ(::chmod(dir.c_str(), 0755), 0);
    fs::copy_file(ELF_ORIGIN_USER, p.user);
    fs::create_directory(p.origin);
    fs::copy_file(fs::path(ELF_ORIGIN_USER).parent_path() / "origin" / "libelf_origin_lib.so", p.lib);
    EXPECT_EQ(::chmod(p.lib.c_str(), 0644), 0);
    EXPECT_EQ(::chmod(p.origin.c_str(), 0700), 0);
    return p;
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

// The interpreter's name ends where the kernel's does: at a NUL too (it ran on past it, and the
// interpreter was bound at a path holding a NUL); a '\r' belongs to the name, which the kernel
// then does not find either.
TEST(ProgramFiles, AnInterpreterNameEndsWhereTheKernelsDoes) {
    TempDir dir;
    const std::string with_nul = write_script(dir.path() + "/nul.sh", std::string("#!/bin/sh\0/../../etc/passwd\necho hi\n", 37));
    auto files = program_files(with_nul);
    ASSERT_TRUE(files) << files.error().message;
    EXPECT_TRUE(has_file(*files, "/bin/sh"));
    for (const HostFile& f : *files)
        EXPECT_EQ(f.sandbox_path.find('\0'), std::string::npos) << "a path holding a NUL was planned";
    const std::string with_cr = write_script(dir.path() + "/cr.sh", "#!/bin/sh\r\necho hi\n");
    auto cr = program_files(with_cr);
    ASSERT_TRUE(cr) << cr.error().message;  // a missing interpreter: exec fails in the sandbox
    EXPECT_FALSE(has_file(*cr, "/bin/sh")) << "bound an interpreter the kernel would not run";
}

// The attack (a red-team PoC): a script whose "#!" names a FIFO planted by an earlier sandbox
// with rw. open(2) on it blocked the host before the sandbox existed, deaf to --timeout,
// SIGTERM and cancellation; in the daemon it wedged worker threads.
TEST(ProgramFiles, AFifoAsTheScriptInterpreterIsRefusedPromptly) {
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // the FIFO is judged as a file, not as private
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
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // the FIFO is judged as a file, not as private
    const std::string user = dir.path() + "/user";
    fs::copy_file(ELF_ORIGIN_USER, user);
    fs::create_directory(dir.path() + "/origin");
    const std::string lib = dir.path() + "/origin/libelf_origin_lib.so";
    ASSERT_EQ(::mkfifo(lib.c_str(), 0755), 0);
    auto files = promptly(lib, [&] { return program_files(user); });
    ASSERT_FALSE(files) << "a FIFO library was accepted or skipped";
    EXPECT_EQ(files.error().kind, Failure::Kind::InvalidInput);
    EXPECT_NE(files.error().message.find(lib), std::string::npos) << files.error().message;
    EXPECT_NE(files.error().message.find("a FIFO"), std::string::npos) << files.error().message;
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

// The red team's attack (2026-12-05): a program names files that only root could read on the
// host, and the planner, as root, bound them into the sandbox: a DT_NEEDED of
// "/root/private/libpriv.so" brought a world-readable file out of root's 0700 directory. Here the
// program finds its library through DT_RUNPATH ($ORIGIN/origin) in a directory only root may
// search; a "#!" interpreter likewise. Whoever owns the program makes no difference: a session's
// sandbox makes root-owned files in its work directory (the first fix trusted the program
// owner's files, and a microvmd client ran a root-owned copy of its program).
TEST(ProgramFiles, AFileOnlyRootCouldReadIsNotBound) {
    TempDir dir;
    const auto [user, origin, lib] = program_with_private_library(dir.path());
    for (uid_t owner : {uid_t{61234}, uid_t{0}}) {
        ASSERT_EQ(::chown(user.c_str(), owner, owner), 0);
        auto refused = program_files(user);
        ASSERT_FALSE(refused) << "a library in a directory only root may search was bound (program of uid " << owner << ")";
        EXPECT_EQ(refused.error().kind, Failure::Kind::InvalidInput);
        EXPECT_NE(refused.error().message.find("'" + lib + "', which '" + user + "' names, is refused"), std::string::npos)
            << refused.error().message;
    }

    const std::string interpreter = origin + "/true";
    fs::copy_file("/bin/true", interpreter);
    const std::string script = write_script(dir.path() + "/tool.sh", "#!" + interpreter + "\n");
    auto refused_interpreter = program_files(script);
    ASSERT_FALSE(refused_interpreter) << "an interpreter in a directory only root may search was bound";
    EXPECT_NE(refused_interpreter.error().message.find("'" + interpreter + "'"), std::string::npos)
        << refused_interpreter.error().message;

    // Bound where the fs policy grants it anyway, or where anyone could read it.
    auto granted = program_files(user, {origin});
    ASSERT_TRUE(granted) << granted.error().message;
    EXPECT_TRUE(has_file(*granted, lib));
    ASSERT_EQ(::chmod(origin.c_str(), 0711), 0);
    auto searchable = program_files(user);
    ASSERT_TRUE(searchable) << searchable.error().message;
    EXPECT_TRUE(has_file(*searchable, lib));
}

// The planner reads as root: a file it may not bind was read all the same, and its kind showed
// in the answer (a private text file named as a library was skipped as "not found", a FIFO
// refused as a FIFO, an ELF file refused as private; a private "#!" interpreter's first line
// decided the error). Whatever the file is, the answer is now the same refusal, given before it
// is opened.
TEST(ProgramFiles, AFileThatMayNotBeBoundIsNotRead) {
    TempDir dir;
    const auto [user, origin, lib] = program_with_private_library(dir.path());
    const std::string script = write_script(dir.path() + "/tool.sh", "#!" + lib + "\n");
    for (const std::string kind : {"an ELF library", "text", "a FIFO"}) {
        if (kind != "an ELF library") {
            fs::remove(lib);
            if (kind == "text") {
                std::ofstream(lib) << "private text\n";
                ASSERT_EQ(::chmod(lib.c_str(), 0644), 0);
            } else {
                ASSERT_EQ(::mkfifo(lib.c_str(), 0644), 0);
            }
        }
        for (const auto& [program, named_by] : {std::pair{user, user}, std::pair{script, script}}) {
            auto refused = promptly(lib, [&] { return program_files(program); });
            ASSERT_FALSE(refused) << kind << " named by " << program << " was accepted";
            EXPECT_NE(refused.error().message.find("'" + lib + "', which '" + named_by + "' names, is refused"),
                      std::string::npos)
                << kind << ": " << refused.error().message;
        }
    }
}

// The red team's race (2026-12-05, second stop): the grant was judged where its symlink led, so
// a user who owned the granted path pointed it at root's private directory while the program's
// files were checked, then swapped a real directory back before the bind, which refuses
// symlinks; 2 to 3 % of runs read the private library. A grant reached through a symlink now
// grants nothing, whatever it points at.
TEST(ProgramFiles, AGrantReachedThroughASymlinkGrantsNothing) {
    TempDir dir;
    const auto [user, origin, lib] = program_with_private_library(dir.path());
    const std::string link = dir.path() + "/granted";
    fs::create_directory_symlink(origin, link);
    auto refused = program_files(user, {link});
    ASSERT_FALSE(refused) << "a grant through a symlink brought in what it points at";
    EXPECT_NE(refused.error().message.find("'" + lib + "', which '" + user + "' names, is refused"), std::string::npos)
        << refused.error().message;
    fs::create_directory_symlink(dir.path(), dir.path() + "/parent");
    EXPECT_FALSE(program_files(user, {dir.path() + "/parent/origin"})) << "a symlinked ancestor of the grant";
    EXPECT_TRUE(program_files(user, {origin})) << "the real directory is still a grant";
}

}  // namespace
}  // namespace microvm::host
