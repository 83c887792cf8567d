// The snapshot of the initialised guest (guest_snapshot.hpp): a run started from it behaves as one
// that initialises afresh, never sees another run's state, and a snapshot file that is planted,
// corrupt or forged is ignored (and taken again). An initialisation that calls the host gives no
// snapshot.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>

#include "engine.hpp"
#include "guest_snapshot.hpp"
#include "module_cache.hpp"
#include "module_codec.hpp"
#include "rtfs_guest.hpp"
#include "support/trusted_temp.hpp"
#include "rtfs_guest_required.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

namespace fs = std::filesystem;
using microvm::Status;
using microvm::WasmProvider;
using microvm::wasm::GuestSnapshot;
using microvm::wasm::RtfsGuestModule;
using Source = RtfsGuestModule::Source;

// init zeroes a byte of the data segment, sets a global, writes memory and grows it by 20 pages;
// run prints the data segment's 3 bytes after putting the global's and the written byte's digits
// in the last two.
constexpr const char* kReactor = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (data (i32.const 16) "hi\n")
  (func (export "_initialize")
    (global.set $g (i32.const 7))
    (i32.store8 (i32.const 16) (i32.const 0))
    (drop (memory.grow (i32.const 20)))
    (i32.store8 (i32.const 1000) (i32.const 2)))
  (func (export "run")
    (i32.store8 (i32.const 17) (i32.add (i32.const 48) (global.get $g)))
    (i32.store8 (i32.const 18) (i32.add (i32.const 48) (i32.load8_u (i32.const 1000))))
    (i32.store (i32.const 200) (i32.const 16))
    (i32.store (i32.const 204) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 300)))))
)";

constexpr const char* kInitCallsTheHost = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))
  (func (export "run")))
)";

std::shared_ptr<const microvm::wasm::CompiledModule> compiled(microvm::wasm::ModuleCache& cache,
                                                              const char* wat) {
    auto module = cache.get_or_compile(bytes_of(wat));
    EXPECT_TRUE(module) << (module ? "" : module.error().message);
    return module ? *module : nullptr;
}

microvm::wasm::RunOutcome run_reactor(const microvm::wasm::CompiledModule& module,
                                      const GuestSnapshot* snapshot, uint64_t memory_limit_mb) {
    microvm::MicroVMConfig config;
    config.memory_limit_mb = memory_limit_mb;
    microvm::wasm::RunRequest request;
    request.init_export = "_initialize";
    request.run_export = "run";
    request.snapshot = snapshot;
    return microvm::wasm::run_module(module, config, request);
}

TEST(GuestSnapshot, ARunFromTheSnapshotIsARunThatInitialisesAfresh) {
    microvm::wasm::ModuleCache cache(4, 64u << 20);
    auto module = compiled(cache, kReactor);
    ASSERT_TRUE(module);
    auto snapshot = microvm::wasm::initialise_for_snapshot(*module, "_initialize", 1000);
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    EXPECT_EQ(snapshot->memory_pages, 21u);
    for (uint64_t limit_mb : {512, 1}) {  // 1 MiB: the growth to 21 pages is refused
        auto fresh = run_reactor(*module, nullptr, limit_mb);
        auto restored = run_reactor(*module, &*snapshot, limit_mb);
        ASSERT_FALSE(fresh.failure) << fresh.error_message;
        ASSERT_FALSE(restored.failure) << restored.error_message;
        EXPECT_EQ(restored.metadata.stdout_data, fresh.metadata.stdout_data) << limit_mb;
        EXPECT_EQ(restored.metadata.memory_peak_mb, fresh.metadata.memory_peak_mb) << limit_mb;
    }
    // The data segment's byte the initialisation zeroed stays zero; the global and the grown
    // memory hold what the initialisation put there.
    EXPECT_EQ(run_reactor(*module, &*snapshot, 512).metadata.stdout_data,
              std::string("\0" "72", 3));
}

TEST(GuestSnapshot, AnInitialisationThatCallsTheHostGivesNone) {
    microvm::wasm::ModuleCache cache(4, 64u << 20);
    auto module = compiled(cache, kInitCallsTheHost);
    ASSERT_TRUE(module);
    auto snapshot = microvm::wasm::initialise_for_snapshot(*module, "_initialize", 1000);
    ASSERT_FALSE(snapshot);
    EXPECT_NE(snapshot.error().message.find("called the host"), std::string::npos)
        << snapshot.error().message;
    EXPECT_FALSE(run_reactor(*module, nullptr, 512).failure);  // it still runs, afresh
}

// It might have gone on differently with more memory.
TEST(GuestSnapshot, AnInitialisationRefusedMemoryGivesNone) {
    microvm::wasm::ModuleCache cache(4, 64u << 20);
    auto module = compiled(cache, R"((module
  (memory (export "memory") 1)
  (func (export "_initialize") (drop (memory.grow (i32.const 9000))))
  (func (export "run")))
)");
    ASSERT_TRUE(module);
    auto snapshot = microvm::wasm::initialise_for_snapshot(*module, "_initialize", 1000);
    ASSERT_FALSE(snapshot);
    EXPECT_NE(snapshot.error().message.find("refused memory"), std::string::npos)
        << snapshot.error().message;
}

TEST(GuestSnapshot, ForgedBytesBehindAValidChecksumAreRefused) {
    GuestSnapshot snap;
    snap.memory_pages = 1;
    snap.globals = {1, 2};
    snap.chunk_index = {0, 3};
    snap.chunk_bytes.assign(2 * microvm::wasm::kSnapshotChunkBytes, 'x');
    const std::string good = microvm::wasm::encode_snapshot(snap, "key");
    ASSERT_TRUE(microvm::wasm::decode_snapshot(good, "key"));
    EXPECT_FALSE(microvm::wasm::decode_snapshot(good, "another key"));
    auto reseal = [](std::string bytes) {
        uint64_t sum = microvm::wasm::module_checksum(std::string_view(bytes).substr(16));
        std::memcpy(bytes.data() + 8, &sum, sizeof sum);
        return bytes;
    };
    auto forged = [&](auto change) {
        GuestSnapshot s = snap;
        change(s);
        return reseal(microvm::wasm::encode_snapshot(s, "key"));
    };
    EXPECT_FALSE(microvm::wasm::decode_snapshot(forged([](GuestSnapshot& s) {
        s.chunk_index = {0, 16};  // past the memory's one page
    }), "key"));
    EXPECT_FALSE(microvm::wasm::decode_snapshot(forged([](GuestSnapshot& s) {
        s.chunk_index = {3, 0};  // not ascending
    }), "key"));
    EXPECT_FALSE(microvm::wasm::decode_snapshot(forged([](GuestSnapshot& s) {
        s.chunk_bytes.pop_back();  // not whole chunks
    }), "key"));
    EXPECT_FALSE(microvm::wasm::decode_snapshot(forged([](GuestSnapshot& s) {
        s.memory_pages = 65537;  // beyond wasm32
    }), "key"));
    std::string flipped = good;
    flipped[good.size() / 2] ^= 1;
    EXPECT_FALSE(microvm::wasm::decode_snapshot(flipped, "key"));  // the checksum catches it
    for (size_t cut = 16; cut < good.size(); cut += 997) {
        EXPECT_FALSE(microvm::wasm::decode_snapshot(reseal(good.substr(0, cut)), "key")) << cut;
    }
}

class RtfsGuestSnapshotTest : public ::testing::Test {
  protected:
    void SetUp() override {
        REQUIRE_RTFS_GUEST();
        dir_ = testsupport::make_trusted_temp_dir("microvm-wasm-snapshot");
        ASSERT_FALSE(dir_.empty());
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    std::string file() const { return dir_ + "/" + RtfsGuestModule::snapshot_store_name(); }

    // Where a fresh process (as far as the store is concerned) finds the snapshot.
    Source snapshot_source() const {
        RtfsGuestModule guest(dir_);
        auto module = guest.get();
        EXPECT_TRUE(module);
        EXPECT_TRUE(module && guest.snapshot(*module));
        return guest.last_snapshot_source();
    }
    // With every capability, and dir_ readable (a preopen).
    microvm::ExecutionResult eval(WasmProvider& provider, const std::string& source,
                                  std::vector<std::string> args = {}) const {
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{source};
        ctx.args = std::move(args);
        ctx.runtime_context = rtfs::RuntimeContext::full();
        ctx.config.fs_policy = microvm::FileSystemPolicy::read_only({dir_});
        return provider.execute_program(ctx);
    }

    std::string dir_;
};

TEST_F(RtfsGuestSnapshotTest, RunsFromTheSnapshotGiveWhatAFreshInitialisationGives) {
    WasmProvider snapshotted(dir_), fresh(dir_, false);
    ASSERT_TRUE(snapshotted.initialize());
    ASSERT_TRUE(fresh.initialize());
    const std::string programs[] = {
        "(+ 1 2)",
        R"((println "hello") (println (str "n=" 5)) :done)",
        "(def x 10) (defn sq [n] (* n n)) (sq x)",
        "(/ 1 0)",
        "(undefined-function 1)",
        "(first *args*)",
        "(defn deep [n] (if (= n 0) 0 (+ 1 (deep (- n 1))))) (deep 100000)",
        "(reduce + (range 1000))",
        "(read-file \"" + dir_ + "/input.txt\")",
        "(read-file \"/etc/hostname\")",
    };
    write_file(dir_ + "/input.txt", "from the preopen");
    for (const std::string& source : programs) {
        auto a = eval(snapshotted, source, {"41"});
        auto b = eval(fresh, source, {"41"});
        EXPECT_EQ(a.status, b.status) << source << ": " << describe(a) << " / " << describe(b);
        EXPECT_EQ(a.value, b.value) << source;
        EXPECT_EQ(a.metadata.stdout_data, b.metadata.stdout_data) << source;
        EXPECT_EQ(a.metadata.stderr_data, b.metadata.stderr_data) << source;
        ASSERT_EQ(a.error.has_value(), b.error.has_value()) << source;
        if (a.error) {
            EXPECT_EQ(a.error->kind, b.error->kind) << source;
            EXPECT_EQ(a.error->message, b.error->message) << source;
        }
    }
    EXPECT_EQ(eval(snapshotted, R"((println "hello") 3)").metadata.stdout_data, "hello\n");
    EXPECT_EQ(eval(snapshotted, programs[std::size(programs) - 2]).value, "\"from the preopen\"");
}

TEST_F(RtfsGuestSnapshotTest, ARunsDefinitionsAreNotVisibleToTheNextRun) {
    for (int process = 0; process < 2; ++process) {  // the snapshot taken, then from the store
        WasmProvider provider(dir_);
        ASSERT_TRUE(provider.initialize());
        auto defined = eval(provider, "(def leaked 42) leaked");
        ASSERT_EQ(defined.status, Status::Ok) << describe(defined);
        EXPECT_EQ(defined.value, "42");
        auto next = eval(provider, "leaked");
        EXPECT_NE(next.status, Status::Ok) << describe(next);
    }
    EXPECT_EQ(snapshot_source(), Source::Store);
}

TEST_F(RtfsGuestSnapshotTest, TheSnapshotIsStoredPrivatelyAndLoadedFromTheStore) {
    EXPECT_EQ(snapshot_source(), Source::Decoded);
    struct stat st;
    ASSERT_EQ(::lstat(file().c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(snapshot_source(), Source::Store);
}

TEST_F(RtfsGuestSnapshotTest, ACorruptPlantedOrForeignSnapshotFileIsIgnoredAndRetaken) {
    auto plant_then_expect_retaken = [&](const std::function<void()>& plant) {
        ::unlink(file().c_str());
        ASSERT_EQ(snapshot_source(), Source::Decoded);
        ASSERT_EQ(snapshot_source(), Source::Store);
        plant();
        EXPECT_EQ(snapshot_source(), Source::Decoded);
        WasmProvider provider(dir_);
        ASSERT_TRUE(provider.initialize());
        auto r = eval(provider, "(+ 1 2)");
        EXPECT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_EQ(r.value, "3");
    };
    plant_then_expect_retaken([&] {  // a flipped byte
        std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(fs::file_size(file()) / 2));
        f.put('\x5a');
    });
    plant_then_expect_retaken([&] { fs::resize_file(file(), fs::file_size(file()) / 2); });
    plant_then_expect_retaken([&] { ::chmod(file().c_str(), 0666); });  // others could write it
    plant_then_expect_retaken([&] {  // a symlink to a valid snapshot elsewhere
        const std::string other = dir_ + "/other";
        fs::rename(file(), other);
        ASSERT_EQ(::symlink(other.c_str(), file().c_str()), 0);
    });
    plant_then_expect_retaken([&] {  // another module's snapshot: the key differs
        std::string bytes;
        {
            std::ifstream in(file(), std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        auto snap = microvm::wasm::decode_snapshot(bytes, "");  // not under this key
        EXPECT_FALSE(snap);
        GuestSnapshot empty;
        empty.memory_pages = 168;
        std::ofstream(file(), std::ios::binary | std::ios::trunc)
            << microvm::wasm::encode_snapshot(empty, "another module");
    });
}

// A snapshot taken for an execution counts against its timeout and its cancellation: cut short
// by them, it is no snapshot (the run initialises afresh or times out), and a later execution
// takes it again.
TEST_F(RtfsGuestSnapshotTest, TheExecutionsDeadlineAndCancelBoundTheSnapshot) {
    RtfsGuestModule guest(dir_);
    auto module = guest.get();
    ASSERT_TRUE(module);
    const auto now = std::chrono::steady_clock::now();
    EXPECT_EQ(guest.snapshot(*module, {now - std::chrono::milliseconds(1)}), nullptr);
    std::atomic<bool> cancelled{true};
    EXPECT_EQ(guest.snapshot(*module, {now + std::chrono::seconds(30), &cancelled}), nullptr);
    EXPECT_FALSE(fs::exists(file()));
    EXPECT_NE(guest.snapshot(*module), nullptr);  // tried again, taken and stored
    EXPECT_EQ(guest.last_snapshot_source(), Source::Decoded);
    EXPECT_TRUE(fs::exists(file()));

    // Through the provider: a 1 ms execution with no snapshot yet ends as a timeout.
    fs::remove(file());
    WasmProvider provider(dir_);
    ASSERT_TRUE(provider.initialize());
    microvm::ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    ctx.config.timeout = std::chrono::milliseconds(1);
    auto r = provider.execute_program(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, microvm::Reason::Timeout) << r.error->message;
    ctx.config.timeout = std::chrono::seconds(30);
    r = provider.execute_program(ctx);
    ASSERT_TRUE(r.value) << (r.error ? r.error->message : "");
    EXPECT_EQ(*r.value, "3");
}

}  // namespace
}  // namespace wasmtest
