// Bulk memory and table instructions under the run's limits (red team, HIGH): memory.fill/copy/init
// and table.fill/copy/init each count as one instruction of fuel but can touch all of linear
// memory or a whole table, so a loop of them used to run for minutes past the timeout and ignore
// cancellation until the end of its fuel slice. The engine now does their work in chunks
// (bulk_hooks.hpp): such loops end at the limit, and the instructions still behave as the wasm
// spec says (overlapping copies, bounds checked before anything is written, dropped segments).
// Timing bounds are deliberately generous (a loaded machine) and the tight one is on CPU time;
// one fuel slice of the attacks took 2 s to 38 s.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "bulk_hooks.hpp"
#include "module_cache.hpp"
#include "test_support.hpp"
#include "wat_to_binary.hpp"
#include "wabt/interp/interp.h"

namespace wasmtest {
namespace {

namespace wi = wabt::interp;
using microvm::Reason;
using microvm::Status;
using namespace std::chrono_literals;

constexpr auto kTimeout = 200ms;
// CPU time (the kernel's, so a loaded machine does not stretch it) a run may spend past its limit:
// one fuel slice of these loops took 2 s to 30 s of CPU without the hooks, a few ms with them
// (set-up and tear-down included). Wall time gets more room.
constexpr auto kCpuPastTheLimit = 500ms;
constexpr auto kWallPastTheLimit = 5s;

// A module whose _start repeats `op` (with its operands) forever; `decls` declares what it uses.
std::string endless(const std::string& decls, const std::string& op) {
    return "(module " + decls + " (func (export \"_start\") (loop $l " + op + " (br $l))))";
}

const std::string kMemoryFill =
    endless("(memory 1024)", "(memory.fill (i32.const 0) (i32.const 7) (i32.const 67108864))");
const std::string kMemoryCopy =
    endless("(memory 1024)", "(memory.copy (i32.const 0) (i32.const 1) (i32.const 67108863))");
// A passive segment of 8 MiB (the module itself is bounded at 16 MiB).
const std::string kMemoryInit =
    endless("(memory 128) (data $d \"" + std::string(8u << 20, 'a') + "\")",
            "(memory.init $d (i32.const 0) (i32.const 0) (i32.const 8388608))");
const std::string kTableFill = endless(
    "(table 1048576 funcref)", "(table.fill 0 (i32.const 0) (ref.null func) (i32.const 1048576))");
const std::string kTableCopy = endless(
    "(table 1048576 funcref)", "(table.copy (i32.const 1) (i32.const 0) (i32.const 1048575))");

std::string table_init_attack() {
    std::string elems;
    for (int i = 0; i < (1 << 20); ++i) elems += "$f ";
    return endless("(table 1048576 funcref) (func $f) (elem $e func " + elems + ")",
                   "(table.init $e (i32.const 0) (i32.const 0) (i32.const 1048576))");
}

class BulkLimits : public WasmTest {
  protected:
    // The module is given in binary: compiling the text of the table.init attack (4 MB naming
    // 2^20 elements) took about 1 s of the run's time, 2 s under AddressSanitizer, and made the
    // test about the compile's deadline instead of the loop's (CI, 2026-12-07).
    void times_out(const std::string& wat, std::chrono::milliseconds timeout = kTimeout) {
        auto binary = microvm::wasm::wat_to_binary(bytes_of(wat));
        ASSERT_TRUE(binary) << binary.error().message;
        auto ctx = context(std::move(*binary));
        ctx.config.timeout = timeout;
        ctx.config.memory_limit_mb = 128;
        auto r = run(ctx);
        EXPECT_EQ(r.status, Status::Timeout) << describe(r);
        EXPECT_GE(r.metadata.duration, timeout);
        EXPECT_LT(r.metadata.duration, timeout + kWallPastTheLimit);
        ASSERT_TRUE(r.metadata.cpu_time);
        EXPECT_LT(*r.metadata.cpu_time, timeout + kCpuPastTheLimit);
    }

    // Cancels the run after 200 ms; it must end cancelled soon after.
    void cancels(const std::string& wat) {
        auto ctx = context(bytes_of(wat));
        ctx.config.timeout = 60s;
        ctx.config.memory_limit_mb = 128;
        auto [r, ended_after] = run_cancelled_after(std::move(ctx), 200ms);
        EXPECT_LT(ended_after, kWallPastTheLimit);
        EXPECT_EQ(r.status, Status::Killed) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->reason, Reason::Cancelled);
        ASSERT_TRUE(r.metadata.cpu_time);
        EXPECT_LT(*r.metadata.cpu_time, 200ms + kCpuPastTheLimit);
    }
};

TEST_F(BulkLimits, AMemoryFillLoopTimesOutNearTheTimeout) { times_out(kMemoryFill); }
TEST_F(BulkLimits, AMemoryCopyLoopTimesOutNearTheTimeout) { times_out(kMemoryCopy); }
TEST_F(BulkLimits, AMemoryInitLoopTimesOutNearTheTimeout) { times_out(kMemoryInit); }
TEST_F(BulkLimits, ATableFillLoopTimesOutNearTheTimeout) { times_out(kTableFill); }
TEST_F(BulkLimits, ATableCopyLoopTimesOutNearTheTimeout) { times_out(kTableCopy); }
// Instantiating the segment of 2^20 elements takes a few hundred ms of CPU: the timeout leaves
// room for it (one fuel slice of this loop took 4 s of CPU without the hooks; without them the
// run ends only at the host's kill, 1 s past the timeout).
TEST_F(BulkLimits, ATableInitLoopTimesOutNearTheTimeout) { times_out(table_init_attack(), 1s); }

TEST_F(BulkLimits, AMemoryFillLoopEndsCancelled) { cancels(kMemoryFill); }
TEST_F(BulkLimits, ATableFillLoopEndsCancelled) { cancels(kTableFill); }

// ---- the instructions still do what the spec says ----

// $expect: exits with `code` unless the byte at addr is want.
const std::string kExpectByte = R"(
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func $expect (param $addr i32) (param $want i32) (param $code i32)
    (if (i32.ne (i32.load8_u (local.get $addr)) (local.get $want))
      (then (call $exit (local.get $code)))))
  (func $mod (param $i i32) (result i32) (i32.rem_u (local.get $i) (i32.const 251)))
)";

void expect_exit_0(microvm::ExecutionResult r) {
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.exit_code, 0) << describe(r);
}

// Copies of 3 MiB overlapping by one byte in each direction, across chunk boundaries: a copy in
// chunks taken in the wrong order shows at the boundaries (1 MiB, 2 MiB).
TEST_F(BulkLimits, MemoryCopyFillAndInitGiveTheSpecsResults) {
    const std::string wat = "(module " + kExpectByte + R"(
  (memory 128)
  (data $d "hello world")
  (func (export "_start") (local $i i32) (local $len i32)
    ;; byte i = i mod 251 over 8 MB: 251 stores, then doubling copies
    (loop $p
      (i32.store8 (local.get $i) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $p (i32.lt_u (local.get $i) (i32.const 251))))
    (local.set $len (i32.const 251))
    (loop $double
      (memory.copy (local.get $len) (i32.const 0) (local.get $len))
      (local.set $len (i32.shl (local.get $len) (i32.const 1)))
      (br_if $double (i32.lt_u (local.get $len) (i32.const 4194304))))
    (call $expect (i32.const 3145735) (call $mod (i32.const 3145735)) (i32.const 1))
    ;; to a higher address: byte i becomes byte i - 1
    (memory.copy (i32.const 1) (i32.const 0) (i32.const 3145728))
    (call $expect (i32.const 1) (i32.const 0) (i32.const 10))
    (call $expect (i32.const 1048576) (call $mod (i32.const 1048575)) (i32.const 11))
    (call $expect (i32.const 1048577) (call $mod (i32.const 1048576)) (i32.const 12))
    (call $expect (i32.const 2097153) (call $mod (i32.const 2097152)) (i32.const 13))
    (call $expect (i32.const 3145728) (call $mod (i32.const 3145727)) (i32.const 14))
    (call $expect (i32.const 3145729) (call $mod (i32.const 3145729)) (i32.const 15))
    ;; to a lower address: back again
    (memory.copy (i32.const 0) (i32.const 1) (i32.const 3145728))
    (call $expect (i32.const 0) (i32.const 0) (i32.const 20))
    (call $expect (i32.const 1048575) (call $mod (i32.const 1048575)) (i32.const 21))
    (call $expect (i32.const 1048576) (call $mod (i32.const 1048576)) (i32.const 22))
    (call $expect (i32.const 2097152) (call $mod (i32.const 2097152)) (i32.const 23))
    (call $expect (i32.const 3145727) (call $mod (i32.const 3145727)) (i32.const 24))
    (call $expect (i32.const 3145728) (call $mod (i32.const 3145727)) (i32.const 25))
    ;; fill takes the low byte of the value, exactly over [100, 100 + 2 MiB + 3)
    (memory.fill (i32.const 100) (i32.const 0x1ff) (i32.const 2097155))
    (call $expect (i32.const 99) (i32.const 99) (i32.const 30))
    (call $expect (i32.const 100) (i32.const 0xff) (i32.const 31))
    (call $expect (i32.const 2097254) (i32.const 0xff) (i32.const 32))
    (call $expect (i32.const 2097255) (call $mod (i32.const 2097255)) (i32.const 33))
    ;; init copies part of the segment; zero lengths at the very end are in bounds
    (memory.init $d (i32.const 5242880) (i32.const 6) (i32.const 5))
    (call $expect (i32.const 5242880) (i32.const 119) (i32.const 40))
    (call $expect (i32.const 5242884) (i32.const 100) (i32.const 41))
    (call $expect (i32.const 5242885) (call $mod (i32.const 5242885)) (i32.const 42))
    (memory.fill (i32.const 8388608) (i32.const 0) (i32.const 0))
    (memory.copy (i32.const 8388608) (i32.const 8388608) (i32.const 0))
    (memory.init $d (i32.const 8388608) (i32.const 11) (i32.const 0))
    ;; a dropped segment still allows an empty init
    (data.drop $d)
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))
    (call $exit (i32.const 0))))
)";
    auto ctx = context(bytes_of(wat));
    ctx.config.memory_limit_mb = 16;
    expect_exit_0(run(ctx));
}

// Across the chunk of 64 Ki elements, as for memory.
TEST_F(BulkLimits, TableFillCopyAndInitGiveTheSpecsResults) {
    const std::string wat = R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (type $r (func (result i32)))
  (table 200000 funcref)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $three (result i32) (i32.const 3))
  (elem $e func $one $two $three)
  (func $expect (param $at i32) (param $want i32) (param $code i32)
    (if (i32.ne (call_indirect (type $r) (local.get $at)) (local.get $want))
      (then (call $exit (local.get $code)))))
  (func (export "_start")
    (table.fill 0 (i32.const 0) (ref.func $one) (i32.const 200000))
    (call $expect (i32.const 199999) (i32.const 1) (i32.const 1))
    (table.init $e (i32.const 65535) (i32.const 1) (i32.const 2))  ;; two, three
    (call $expect (i32.const 65534) (i32.const 1) (i32.const 2))
    (call $expect (i32.const 65535) (i32.const 2) (i32.const 3))
    (call $expect (i32.const 65536) (i32.const 3) (i32.const 4))
    (call $expect (i32.const 65537) (i32.const 1) (i32.const 5))
    ;; to a higher index: element i becomes element i - 1
    (table.copy (i32.const 1) (i32.const 0) (i32.const 150000))
    (call $expect (i32.const 65536) (i32.const 2) (i32.const 10))
    (call $expect (i32.const 65537) (i32.const 3) (i32.const 11))
    (call $expect (i32.const 65538) (i32.const 1) (i32.const 12))
    ;; to a lower index: back again
    (table.copy (i32.const 0) (i32.const 1) (i32.const 150000))
    (call $expect (i32.const 65535) (i32.const 2) (i32.const 20))
    (call $expect (i32.const 65536) (i32.const 3) (i32.const 21))
    (call $expect (i32.const 65537) (i32.const 1) (i32.const 22))
    (table.fill 0 (i32.const 200000) (ref.null func) (i32.const 0))
    (elem.drop $e)
    (table.init $e (i32.const 0) (i32.const 0) (i32.const 0))
    (call $exit (i32.const 0))))
)";
    expect_exit_0(run(context(bytes_of(wat))));
}

TEST_F(BulkLimits, OutOfBoundsBulkInstructionsTrap) {
    const std::string decls = R"((memory 1) (data $d "abc") (table 10 funcref) (func $f)
                                 (elem $e func $f $f))";
    for (std::string op : {
             "(memory.fill (i32.const 65000) (i32.const 1) (i32.const 537))",
             "(memory.fill (i32.const 65537) (i32.const 1) (i32.const 0))",
             "(memory.copy (i32.const 65000) (i32.const 0) (i32.const 537))",
             "(memory.copy (i32.const 0) (i32.const 65000) (i32.const 537))",
             "(memory.init $d (i32.const 0) (i32.const 1) (i32.const 3))",
             "(memory.init $d (i32.const 65535) (i32.const 0) (i32.const 2))",
             "(data.drop $d) (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))",
             "(table.fill 0 (i32.const 5) (ref.null func) (i32.const 6))",
             "(table.copy (i32.const 5) (i32.const 0) (i32.const 6))",
             "(table.copy (i32.const 0) (i32.const 5) (i32.const 6))",
             "(table.init $e (i32.const 0) (i32.const 1) (i32.const 2))",
             "(table.init $e (i32.const 9) (i32.const 0) (i32.const 2))",
             "(elem.drop $e) (table.init $e (i32.const 0) (i32.const 0) (i32.const 1))",
         }) {
        auto r = run(context(bytes_of("(module " + decls + " (func (export \"_start\") " + op +
                                      "))")));
        EXPECT_EQ(r.status, Status::RuntimeError) << op << ": " << describe(r);
        ASSERT_TRUE(r.error) << op;
        EXPECT_EQ(r.error->kind, "trap");
        EXPECT_NE(r.error->message.find("out of bounds"), std::string::npos)
            << op << ": " << r.error->message;
    }
}

// A trapping fill or copy leaves memory as it was (bounds are checked before the first chunk):
// the hooks themselves, called on an instance's memory.
TEST(BulkHooks, AnOutOfBoundsFillOrCopyWritesNothing) {
    microvm::wasm::ModuleCache cache(2, 64u << 20);
    auto module = cache.get_or_compile(bytes_of("(module (memory 64))"));  // 4 MiB
    ASSERT_TRUE(module) << module.error().message;
    wi::Store store;
    wi::Module::Ptr mod = wi::Module::New(store, (*module)->desc);
    wi::Trap::Ptr trap;
    wi::Instance::Ptr inst = wi::Instance::Instantiate(store, mod.ref(), {}, &trap);
    ASSERT_TRUE(inst);
    wi::Memory::Ptr memory = store.UnsafeGet<wi::Memory>(inst->memories()[0]);
    microvm::MicroVMConfig config;
    microvm::wasm::RunState state(config, false, 0);
    state.deadline = std::chrono::steady_clock::now() + 1h;
    wi::RefVec funcs;
    auto hooks = microvm::wasm::append_bulk_hooks(store, state, *inst, memory.get(), **module, funcs);
    ASSERT_GE(hooks.size(), 2u);
    wi::Thread thread(store);
    auto call = [&](const wi::HostFunc::Ptr& hook, uint32_t a, uint32_t b, uint32_t n) {
        wi::Values results(hook->type().results.size());
        return hook->Call(thread, {wi::Value::Make(a), wi::Value::Make(b), wi::Value::Make(n)},
                          results, &trap);
    };
    const uint32_t size = static_cast<uint32_t>(memory->ByteSize());
    auto untouched = [&] {
        const uint8_t* data = memory->UnsafeData();
        return std::all_of(data, data + size, [](uint8_t b) { return b == 0; });
    };
    // Several chunks in range, the end one byte out.
    EXPECT_TRUE(wabt::Failed(call(hooks[0], 1, 9, size)));
    EXPECT_TRUE(untouched());
    memory->UnsafeData()[size - 1] = 5;
    EXPECT_TRUE(wabt::Failed(call(hooks[1], 0, 1, size)));      // source past the end
    EXPECT_TRUE(wabt::Failed(call(hooks[1], 1, 0, size)));      // destination past the end
    memory->UnsafeData()[size - 1] = 0;
    EXPECT_TRUE(untouched());
    EXPECT_TRUE(wabt::Succeeded(call(hooks[0], 0, 9, size)));  // and in bounds, everything
    EXPECT_EQ(memory->UnsafeData()[size - 1], 9);
}

}  // namespace
}  // namespace wasmtest
