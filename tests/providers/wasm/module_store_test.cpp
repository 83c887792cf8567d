// The decoded RTFS guest kept between processes (module_store.hpp): a stored module evaluates
// RTFS as the decoded one does, and a store file anyone else could have planted or that does not
// belong to this module, wabt and binary is ignored (the guest is decoded again, and the run still
// gives the right answer). A stored module is as powerful as the binary, so each of these checks
// is a security boundary.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <functional>
#include <random>

#include "host/sha256.hpp"
#include "module_codec.hpp"
#include "module_store.hpp"
#include "rtfs_guest.hpp"
#include "support/expectations.hpp"
#include "support/trusted_temp.hpp"
#include "rtfs_guest_required.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

namespace fs = std::filesystem;
using microvm::Status;
using microvm::WasmProvider;
using microvm::wasm::CompiledModule;
using microvm::wasm::RtfsGuestModule;
using Source = RtfsGuestModule::Source;

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

class ModuleStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        REQUIRE_RTFS_GUEST();
        dir_ = make_dir();
    }
    void TearDown() override {
        for (const auto& d : dirs_) fs::remove_all(d);
    }
    std::string make_dir() {
        std::string dir = testsupport::make_trusted_temp_dir("microvm-wasm-store");
        EXPECT_FALSE(dir.empty());
        dirs_.push_back(dir);
        return dir;
    }
    static std::string file_in(const std::string& dir) {
        return dir + "/" + RtfsGuestModule::store_name();
    }
    std::string file() const { return file_in(dir_); }

    // Where a fresh provider (a new process, as far as the store is concerned) finds the guest.
    static Source load(const std::string& dir) {
        RtfsGuestModule guest(dir);
        auto module = guest.get();
        EXPECT_TRUE(module) << (module ? "" : module.error().message);
        return guest.last_source();
    }
    static std::shared_ptr<const CompiledModule> decoded_guest() {
        RtfsGuestModule guest("");
        auto module = guest.get();
        EXPECT_TRUE(module);
        return module ? *module : nullptr;
    }
    static std::string guest_digest() {
        return *microvm::host::sha256_hex(read_all(*microvm::find_rtfs_guest_wasm()));
    }

    // `(+ 1 2)` through a fresh provider using the store in dir: the right answer, and whether
    // the guest came from the store.
    static bool evaluates_from_store(const std::string& dir) {
        WasmProvider provider(dir);
        EXPECT_TRUE(provider.initialize());
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{"(+ 1 2)"};
        auto r = provider.execute_program(ctx);
        EXPECT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_EQ(r.value, "3");
        return provider.cache_stats().rtfs_guest_store_loads > 0;
    }

    // A valid store file, then the planted change, then a fresh load that must ignore it.
    void expect_ignored_after(const std::function<void()>& plant) {
        ::unlink(file().c_str());
        ASSERT_EQ(load(dir_), Source::Decoded);
        ASSERT_EQ(load(dir_), Source::Store);  // the store works before the change
        plant();
        EXPECT_FALSE(evaluates_from_store(dir_));
    }

    std::string dir_;
    std::vector<std::string> dirs_;
};

TEST_F(ModuleStoreTest, TheDecodedGuestIsStoredAndEvaluatesAsTheDecodedOne) {
    EXPECT_EQ(load(dir_), Source::Decoded);
    struct stat st;
    ASSERT_EQ(::lstat(file().c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(load(dir_), Source::Store);

    const char* programs[] = {
        "(+ 1 2)",
        R"((let [greet (fn [who] (str "hello, " who "!"))] (greet "store")))",
        R"((let [add (fn [n] (fn [x] (+ x n))) inc5 (add 5)] (mapv inc5 [1 2 3])))",
        "(reduce + (range 1000))",
        "(/ 1 0)",
    };
    WasmProvider stored(dir_), decoded("");
    ASSERT_TRUE(stored.initialize());
    ASSERT_TRUE(decoded.initialize());
    for (const char* source : programs) {
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{source};
        auto a = stored.execute_program(ctx);
        auto b = decoded.execute_program(ctx);
        EXPECT_EQ(a.status, b.status) << source << ": " << describe(a);
        EXPECT_EQ(a.value, b.value) << source;
        EXPECT_EQ(a.error.has_value(), b.error.has_value()) << source;
        if (a.error && b.error) {
            EXPECT_EQ(a.error->kind, b.error->kind) << source;
        }
    }
    EXPECT_EQ(stored.cache_stats().rtfs_guest_store_loads, 1u);
    EXPECT_EQ(decoded.cache_stats().rtfs_guest_store_loads, 0u);

    microvm::ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{R"((str "a" (count [1 2 3]) (:k {:k "b"})))"};
    auto r = stored.execute_program(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "\"a3b\"");
}

TEST_F(ModuleStoreTest, EncodingIsARoundTripOfEveryField) {
    auto module = decoded_guest();
    ASSERT_TRUE(module);
    auto bytes = microvm::wasm::encode_module(*module, "key");
    ASSERT_TRUE(bytes);
    auto back = microvm::wasm::decode_module(*bytes, "key");
    ASSERT_TRUE(back);
    // Encoding writes every field of the CompiledModule and its ModuleDesc (module_codec.cpp):
    // the decoded copy encodes to the same bytes.
    EXPECT_EQ(microvm::wasm::encode_module(*back, "key"), bytes);
    EXPECT_FALSE(microvm::wasm::decode_module(*bytes, "another key"));
}

// Forged files that pass the checksum (as a bug in the writer, or a disk error the checksum
// misses, could produce): the parser rejects them or builds a consistent module, never crashes.
TEST_F(ModuleStoreTest, ForgedBytesBehindAValidChecksumNeverCrashTheDecoder) {
    auto module = decoded_guest();
    ASSERT_TRUE(module);
    const std::string good = *microvm::wasm::encode_module(*module, "key");
    auto reseal = [](std::string bytes) {
        uint64_t sum = microvm::wasm::module_checksum(std::string_view(bytes).substr(16));
        std::memcpy(bytes.data() + 8, &sum, sizeof sum);
        return bytes;
    };
    ASSERT_TRUE(microvm::wasm::decode_module(reseal(good), "key"));
    std::mt19937 rng(15);
    int rejected = 0;
    for (int i = 0; i < 150; ++i) {
        std::string bytes = good;
        // Counts, enums, offsets and indices lie before the instruction stream.
        const size_t structure = good.size() / 8;
        for (int n = 0; n < 1 + i % 4; ++n) {
            bytes[16 + rng() % structure] ^= static_cast<char>(1u << (rng() % 8));
        }
        if (!microvm::wasm::decode_module(reseal(bytes), "key")) ++rejected;
    }
    for (int i = 0; i < 50; ++i) {
        const size_t cut = 16 + rng() % (good.size() - 16);
        EXPECT_FALSE(microvm::wasm::decode_module(reseal(good.substr(0, cut)), "key")) << cut;
    }
    EXPECT_GT(rejected, 0);
}

TEST_F(ModuleStoreTest, ASymlinkInPlaceOfTheStoreIsIgnored) {
    const std::string elsewhere = make_dir();
    ASSERT_EQ(load(elsewhere), Source::Decoded);  // a valid store file, but not this one
    ASSERT_EQ(::symlink(file_in(elsewhere).c_str(), file().c_str()), 0);
    EXPECT_FALSE(evaluates_from_store(dir_));
}

TEST_F(ModuleStoreTest, AStoreWritableByItsGroupOrOthersIsIgnored) {
    expect_ignored_after([&] { ::chmod(file().c_str(), 0620); });
    expect_ignored_after([&] { ::chmod(file().c_str(), 0602); });
}

TEST_F(ModuleStoreTest, AStoreOwnedByAnotherUserIsIgnored) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "changing a file's owner needs root");
    expect_ignored_after([&] { ASSERT_EQ(::chown(file().c_str(), 65534, 65534), 0); });
}

TEST_F(ModuleStoreTest, AStoreInADirectoryOthersCanWriteIsNeitherReadNorWritten) {
    expect_ignored_after([&] { ::chmod(dir_.c_str(), 0777); });
    ::unlink(file().c_str());
    EXPECT_EQ(load(dir_), Source::Decoded);
    EXPECT_FALSE(fs::exists(file()));
}

TEST_F(ModuleStoreTest, ATruncatedStoreIsIgnored) {
    for (double part : {0.0, 0.00001, 0.5, 0.999999}) {
        expect_ignored_after([&] {
            std::string bytes = read_all(file());
            write_all(file(), bytes.substr(0, static_cast<size_t>(bytes.size() * part)));
        });
    }
}

TEST_F(ModuleStoreTest, AFlippedByteIsIgnored) {
    // Near the end lies the instruction stream, which nothing but the checksum covers.
    for (double at : {0.3, 0.9, 0.999}) {
        expect_ignored_after([&] {
            std::string bytes = read_all(file());
            bytes[static_cast<size_t>(bytes.size() * at)] ^= 0x10;
            write_all(file(), bytes);
        });
    }
}

TEST_F(ModuleStoreTest, AStoreOfAnotherBinaryIsIgnored) {
    auto module = decoded_guest();
    ASSERT_TRUE(module);
    const auto other_binary = nlohmann::json::array({1, 2, 3, 4, 5, 6, 7});
    ASSERT_TRUE(microvm::wasm::store_module(
        dir_, RtfsGuestModule::store_name(),
        microvm::wasm::stored_module_key(guest_digest(), other_binary), *module));
    EXPECT_FALSE(evaluates_from_store(dir_));
    // What the running binary stores is found.
    ASSERT_TRUE(microvm::wasm::store_module(dir_, RtfsGuestModule::store_name(),
                                            microvm::wasm::stored_module_key(guest_digest()),
                                            *module));
    EXPECT_TRUE(evaluates_from_store(dir_));
}

TEST_F(ModuleStoreTest, AGuestWithOtherBytesIsDecodedAgain) {
    const std::string copy = make_dir() + "/rtfs-guest.wasm";
    fs::copy_file(*microvm::find_rtfs_guest_wasm(), copy);
    ScopedEnv env("MICROVM_RTFS_WASM", copy);
    ASSERT_EQ(load(dir_), Source::Decoded);
    ASSERT_EQ(load(dir_), Source::Store);
    // Another module: the same plus a custom section (id 0, 5 bytes, named "test").
    write_all(copy, read_all(copy) + std::string("\x00\x05\x04test", 7));
    EXPECT_FALSE(evaluates_from_store(dir_));
    EXPECT_EQ(load(dir_), Source::Store);  // the new module's, stored by the run above
}

TEST_F(ModuleStoreTest, AGuestRewrittenWithTheSameBytesIsStillFound) {
    const std::string copy = make_dir() + "/rtfs-guest.wasm";
    fs::copy_file(*microvm::find_rtfs_guest_wasm(), copy);
    ScopedEnv env("MICROVM_RTFS_WASM", copy);
    ASSERT_EQ(load(dir_), Source::Decoded);
    // Its identity (ctime) changes, its digest does not: hashed again, and the store found.
    write_all(copy, read_all(copy));
    EXPECT_TRUE(evaluates_from_store(dir_));
}

}  // namespace
}  // namespace wasmtest
