#include "host/elf_deps.hpp"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "host/elf_file.hpp"

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

bool has_library(const Dependencies& d, const std::string& name) {
    for (const auto& so : d.objects) {
        if (so.path.size() >= name.size() &&
            so.path.compare(so.path.size() - name.size(), name.size(), name) == 0) {
            return true;
        }
    }
    return false;
}

TEST(ElfDeps, FindsTheInterpreterAndLibrariesOfADynamicProgram) {
    auto info = read_elf("/bin/cat");
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_FALSE(info->interpreter.empty());
    EXPECT_FALSE(info->needed.empty());

    auto deps = resolve_dependencies("/bin/cat");
    ASSERT_TRUE(deps) << deps.error().message;
    ASSERT_FALSE(deps->objects.empty());
    EXPECT_EQ(deps->objects.front().path, info->interpreter);
    EXPECT_TRUE(has_library(*deps, "/libc.so.6"));
    EXPECT_TRUE(deps->missing.empty());
    for (const auto& so : deps->objects) {
        EXPECT_TRUE(fs::is_regular_file(so.real_path)) << so.real_path;
        EXPECT_FALSE(fs::is_symlink(so.real_path)) << so.real_path;
    }
}

TEST(ElfDeps, StaticProgramsNeedNothing) {
    auto deps = resolve_dependencies(ELF_STATIC_TRUE);
    ASSERT_TRUE(deps) << deps.error().message;
    EXPECT_TRUE(deps->objects.empty());
}

TEST(ElfDeps, FollowsRunpathWithOrigin) {
    auto info = read_elf(ELF_ORIGIN_USER);
    ASSERT_TRUE(info);
    ASSERT_EQ(info->runpath, (std::vector<std::string>{"$ORIGIN/origin"}));
    auto deps = resolve_dependencies(ELF_ORIGIN_USER);
    ASSERT_TRUE(deps) << deps.error().message;
    std::string dir = fs::path(ELF_ORIGIN_USER).parent_path().string() + "/origin/";
    bool found = false;
    for (const auto& so : deps->objects) found = found || so.path.rfind(dir, 0) == 0;
    EXPECT_TRUE(found);
}

TEST(ElfDeps, NonElfFilesAreInvalidInput) {
    auto r = resolve_dependencies("/etc/passwd");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, Failure::Kind::InvalidInput);
    EXPECT_FALSE(is_elf("/etc/passwd"));
    EXPECT_TRUE(is_elf("/bin/cat"));
}

TEST(ElfDeps, DefaultDirectoriesExist) {
    for (const std::string& d : default_library_dirs(true, EM_X86_64)) {
        EXPECT_TRUE(fs::is_directory(d)) << d;
    }
}

// Damaged ELF files are untrusted input: errors, never crashes or hangs.
TEST(ElfDeps, SurvivesCorruptedFiles) {
    std::ifstream in("/bin/true", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string original = ss.str();
    std::string path = fs::temp_directory_path() / ("elf-fuzz-" + std::to_string(::getpid()));
    std::mt19937 rng(1234);
    int rejected = 0;
    for (int round = 0; round < 500; ++round) {
        std::string bytes = original;
        if (round % 3 == 0) bytes.resize(rng() % 256);
        int flips = 1 + static_cast<int>(rng() % 16);
        for (int i = 0; i < flips && !bytes.empty(); ++i) {
            size_t limit = std::min<size_t>(bytes.size(), 4096);
            bytes[rng() % limit] = static_cast<char>(rng());
        }
        if (bytes.size() >= 4)
            bytes.replace(0, 4,
                          "\x7f"
                          "ELF");
        std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
        auto info = read_elf(path);
        if (!info) {
            ++rejected;
            EXPECT_EQ(info.error().kind, Failure::Kind::InvalidInput);
            EXPECT_FALSE(info.error().message.empty());
        } else {
            // Whatever was read stays within the file: no string longer than the file itself.
            for (const std::string& s : info->needed) EXPECT_LE(s.size(), bytes.size());
            EXPECT_LE(info->interpreter.size(), bytes.size());
        }
        auto deps = resolve_dependencies(path);
        if (!deps) {
            EXPECT_FALSE(deps.error().message.empty());
        }
    }
    fs::remove(path);
    // Truncated headers (a third of the rounds) can never parse.
    EXPECT_GE(rejected, 500 / 3);
}

}  // namespace
}  // namespace microvm::host
