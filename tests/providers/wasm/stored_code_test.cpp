// The instruction stream of a stored module (module_codec.hpp) is checked against the module
// before the interpreter runs it: a stored module whose checksum is right but whose code is not
// what wabt's compiler emits (an unknown opcode, an index outside the module's spaces, a branch
// out of its function) is refused, and the guest is decoded afresh from the .wasm, so `(+ 1 2)`
// still gives 3. Before the check, such a module aborted the host in
// wabt::interp::Thread::StepInternal, or let the guest read and write outside the value stack.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "compiled_module.hpp"
#include "engine.hpp"
#include "host/sha256.hpp"
#include "module_codec.hpp"
#include "module_compiler.hpp"
#include "module_store.hpp"
#include "rtfs_guest.hpp"
#include "support/expectations.hpp"
#include "support/trusted_temp.hpp"
#include "rtfs_guest_required.hpp"
#include "test_support.hpp"
#include "wabt_internals.hpp"

namespace wasmtest {
namespace {

namespace fs = std::filesystem;
namespace wi = wabt::interp;
using microvm::Status;
using microvm::WasmProvider;
using microvm::wasm::CompiledModule;
using microvm::wasm::RtfsGuestModule;

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// An instruction of the (valid) decoded guest: where it starts and its immediates.
struct Found {
    uint32_t at = 0;
    wi::Instr instr{};
};

class StoredCodeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        REQUIRE_RTFS_GUEST();
        dir_ = testsupport::make_trusted_temp_dir("microvm-wasm-code");
        ASSERT_FALSE(dir_.empty());
        RtfsGuestModule guest("");
        auto module = guest.get();
        ASSERT_TRUE(module);
        guest_ = *module;
        key_ = microvm::wasm::stored_module_key(
            *microvm::host::sha256_hex(read_all(*microvm::find_rtfs_guest_wasm())));
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    std::string name() const { return RtfsGuestModule::store_name(); }

    // The first instruction with this opcode in the guest's code (wabt's own reader: the stream
    // is valid).
    Found first(wabt::Opcode::Enum op) const {
        const wi::Istream& code = guest_->desc.istream;
        for (uint32_t pc = 0; pc < code.end();) {
            Found f{pc, code.Read(&pc)};
            if (f.instr.op == op) return f;
        }
        ADD_FAILURE() << "the guest has no " << wabt::Opcode(op).GetName();
        return {};
    }
    // Where the function holding offset `at` ends: the next code offset after it.
    uint32_t function_end(uint32_t at) const {
        uint32_t end = guest_->desc.istream.end();
        for (const auto& f : guest_->desc.funcs) {
            if (f.code_offset > at) end = std::min(end, f.code_offset);
        }
        return end;
    }
    uint32_t function_count() const {
        uint32_t n = static_cast<uint32_t>(guest_->desc.funcs.size());
        for (const auto& i : guest_->desc.imports) {
            n += i.type.type->kind == wabt::ExternalKind::Func;
        }
        return n;
    }

    // The guest with the u32 at byte offset `at` of its instruction stream set to value, stored
    // under the right key with a valid checksum.
    void store_forged(uint32_t at, uint32_t value) {
        CompiledModule forged = *guest_;
        wi::Buffer& code = microvm::wasm::internals::bytes(forged.desc.istream);
        ASSERT_LE(uint64_t{at} + 4, code.size());
        std::memcpy(code.data() + at, &value, 4);
        // Written as a forger would (store_module keeps only what the decoder accepts).
        auto bytes = microvm::wasm::encode_module(forged, key_);
        ASSERT_TRUE(bytes);
        ASSERT_TRUE(microvm::host::write_file_atomically(dir_ + "/" + name(), *bytes));
    }

    // The forged store is refused, and a provider using it still evaluates `(+ 1 2)` to 3 (the
    // guest decoded afresh).
    void expect_refused_and_decoded_afresh() {
        EXPECT_FALSE(microvm::wasm::load_stored_module(dir_, name(), key_));
        WasmProvider provider(dir_);
        ASSERT_TRUE(provider.initialize());
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{"(+ 1 2)"};
        auto r = provider.execute_program(ctx);
        EXPECT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_EQ(r.value, "3");
        EXPECT_EQ(provider.cache_stats().rtfs_guest_store_loads, 0u);
    }

    std::string dir_;
    std::shared_ptr<const CompiledModule> guest_;
    std::string key_;
};

TEST_F(StoredCodeTest, TheUnforgedGuestIsLoadedFromTheStore) {
    ASSERT_TRUE(microvm::wasm::store_module(dir_, name(), key_, *guest_));
    EXPECT_TRUE(microvm::wasm::load_stored_module(dir_, name(), key_));
}

TEST_F(StoredCodeTest, AnInvalidOpcodeIsRefused) {
    const Found add = first(wabt::Opcode::I32Add);
    store_forged(add.at, wabt::Opcode::Invalid + 7);  // no opcode at all
    expect_refused_and_decoded_afresh();
    store_forged(add.at, wabt::Opcode::Block);  // never in an istream: wabt aborts on it
    expect_refused_and_decoded_afresh();
}

TEST_F(StoredCodeTest, AnOutOfRangeLocalIsRefused) {
    // local.get's immediate is a depth into the value stack: deeper than the stack reads outside
    // it.
    const Found get = first(wabt::Opcode::LocalGet);
    store_forged(get.at + 4, 1000000);
    expect_refused_and_decoded_afresh();
    store_forged(get.at + 4, 0);
    expect_refused_and_decoded_afresh();
    const Found set = first(wabt::Opcode::LocalSet);
    store_forged(set.at + 4, get.instr.imm_u32 + 64);
    expect_refused_and_decoded_afresh();
}

TEST_F(StoredCodeTest, AnOutOfRangeFunctionOrGlobalIsRefused) {
    const Found call = first(wabt::Opcode::Call);
    store_forged(call.at + 4, function_count() + 5);
    expect_refused_and_decoded_afresh();
    store_forged(call.at + 4, 0);  // an imported function, which call takes as a defined one
    expect_refused_and_decoded_afresh();
    const Found global = first(wabt::Opcode::GlobalGet);
    store_forged(global.at + 4, 1000);
    expect_refused_and_decoded_afresh();
    const Found load = first(wabt::Opcode::I32Load);
    store_forged(load.at + 4, 3);  // memory 3 of 1
    expect_refused_and_decoded_afresh();
}

TEST_F(StoredCodeTest, ABranchOutsideItsFunctionIsRefused) {
    const Found br = first(wabt::Opcode::Br);
    const uint32_t end = function_end(br.at);
    store_forged(br.at + 4, end);  // the next function's first instruction
    expect_refused_and_decoded_afresh();
    store_forged(br.at + 4, guest_->desc.istream.end() + 64);  // past the code
    expect_refused_and_decoded_afresh();
    store_forged(br.at + 4, br.at + 4);  // into its own immediate
    expect_refused_and_decoded_afresh();
    const Found br_unless = first(wabt::Opcode::InterpBrUnless);
    store_forged(br_unless.at + 4, br_unless.at + 2);  // not even word-aligned
    expect_refused_and_decoded_afresh();
    const Found table = first(wabt::Opcode::BrTable);
    store_forged(table.at + 4, 0xFFFFFFF0u);  // more entries than the function holds
    expect_refused_and_decoded_afresh();
}

// What the red team did: a few bytes of the stored file changed and its checksum recomputed.
// Each forged file is refused, or the guest it decodes to runs `(+ 1 2)` in a child process that
// ends normally (with 3, another value or an error: the change may alter what the guest computes,
// but never crash or hang the host).
TEST_F(StoredCodeTest, RandomChangesBehindAValidChecksumNeverCrashTheHost) {
    ASSERT_TRUE(microvm::wasm::store_module(dir_, name(), key_, *guest_));
    const std::string path = dir_ + "/" + name();
    const std::string good = read_all(path);
    ASSERT_GT(good.size(), 4096u);
    // Prime the guest snapshot, so each child only loads the module and runs.
    {
        WasmProvider provider(dir_);
        ASSERT_TRUE(provider.initialize());
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{"(+ 1 2)"};
        ASSERT_EQ(provider.execute_program(ctx).value, "3");
    }
    std::mt19937 rng(41);
    int refused = 0, gave_3 = 0, ran_otherwise = 0;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 300; ++i) {
        std::string bytes = good;
        const size_t header = 16 + 4 + key_.size();  // magic, checksum, the key
        const int changes = 1 + static_cast<int>(rng() % 8);
        for (int n = 0; n < changes; ++n) {
            bytes[header + rng() % (bytes.size() - header)] ^= static_cast<char>(1u << (rng() % 8));
        }
        uint64_t sum = microvm::wasm::module_checksum(std::string_view(bytes).substr(16));
        std::memcpy(bytes.data() + 8, &sum, sizeof sum);
        if (!microvm::wasm::decode_module(bytes, key_)) {
            ++refused;
            continue;
        }
        ASSERT_TRUE(microvm::host::write_file_atomically(path, bytes));
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::alarm(30);  // a hang ends the child by SIGALRM, which counts as a failure below
            WasmProvider provider(dir_);
            if (!provider.initialize()) ::_exit(3);
            microvm::ExecutionContext ctx;
            ctx.program = microvm::RtfsSource{"(+ 1 2)"};
            ctx.config.timeout = std::chrono::seconds(10);
            auto r = provider.execute_program(ctx);
            ::_exit(r.status == Status::Ok && r.value == "3" ? 0 : 1);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status))
            << "change " << i << ": the host died of signal " << WTERMSIG(status);
        ASSERT_NE(WEXITSTATUS(status), 3) << "change " << i << ": the provider did not start";
        ++(WEXITSTATUS(status) == 0 ? gave_3 : ran_otherwise);
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    RecordProperty("refused", refused);
    RecordProperty("gave_3", gave_3);
    RecordProperty("ran_otherwise", ran_otherwise);
    std::printf("forged stores: %d refused, %d ran and gave 3, %d ran otherwise (%.1f s)\n",
                refused, gave_3, ran_otherwise, seconds.count());
    EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace wasmtest

namespace wasmtest {
namespace {

// A module using instructions the code check does not cover is not stored at all: every run
// would otherwise decode it afresh and write it again.
TEST(StoredCodeScope, AModuleTheCheckRefusesIsNotStored) {
    const std::string dir = testsupport::make_trusted_temp_dir("microvm-wasm-scope");
    ASSERT_FALSE(dir.empty());
    auto module = microvm::wasm::compile_module(bytes_of(
        R"((module (table 1 funcref) (func (export "_start") (drop (table.size 0)))))"));
    ASSERT_TRUE(module) << module.error().message;
    EXPECT_FALSE(microvm::wasm::store_module(dir, "m.module", "key", **module));
    EXPECT_FALSE(fs::exists(dir + "/m.module"));
    // The same module without the table instruction is kept.
    auto plain = microvm::wasm::compile_module(
        bytes_of(R"((module (table 1 funcref) (func (export "_start") (drop (i32.const 1)))))"));
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_TRUE(microvm::wasm::store_module(dir, "m.module", "key", **plain));
    EXPECT_TRUE(microvm::wasm::load_stored_module(dir, "m.module", "key"));
    fs::remove_all(dir);
}

// Stored code keeps the bulk memory instructions as calls of the engine's hooks (the code check
// accepts those calls, not the raw instructions), and the decoded module runs as the compiled one.
// Table hooks are outside the check: a module with table.fill is not stored.
TEST(StoredCodeScope, BulkMemoryHooksAreStoredAndStillWork) {
    const std::string dir = testsupport::make_trusted_temp_dir("microvm-wasm-bulk");
    ASSERT_FALSE(dir.empty());
    auto module = microvm::wasm::compile_module(bytes_of(R"((module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory 1) (data $d "xyz")
      (func (export "_start")
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 10))
        (memory.copy (i32.const 20) (i32.const 5) (i32.const 5))
        (memory.init $d (i32.const 30) (i32.const 1) (i32.const 2))
        (call $exit (i32.add (i32.add (i32.load8_u (i32.const 24)) (i32.load8_u (i32.const 31)))
                             (i32.load8_u (i32.const 25)))))))"));  // 7 + 'z' + 0
    ASSERT_TRUE(module) << module.error().message;
    ASSERT_TRUE(microvm::wasm::store_module(dir, "m.module", "key", **module));
    auto stored = microvm::wasm::load_stored_module(dir, "m.module", "key");
    ASSERT_TRUE(stored);
    auto outcome = microvm::wasm::run_module(*stored, microvm::MicroVMConfig{}, {});
    EXPECT_EQ(outcome.metadata.exit_code, 129) << outcome.error_message;

    auto table = microvm::wasm::compile_module(bytes_of(R"((module (table 4 funcref)
      (func (export "_start") (table.fill 0 (i32.const 0) (ref.null func) (i32.const 4)))))"));
    ASSERT_TRUE(table) << table.error().message;
    EXPECT_FALSE(microvm::wasm::store_module(dir, "t.module", "key", **table));
    fs::remove_all(dir);
}

}  // namespace
}  // namespace wasmtest
