// The memory a module is instantiated with when the engine leaves its zero pages unfilled
// (unfilled_memory.hpp): the declared size, the data segments in place, every other byte zero even
// where the allocator hands out memory that held something else, and growth as before.
#include <algorithm>
#include <cstring>
#include <vector>

#include "compiled_module.hpp"
#include "host/huge_page_heap.hpp"
#include "engine.hpp"
#include "module_cache.hpp"
#include "test_support.hpp"
#include "unfilled_memory.hpp"

namespace wasmtest {
namespace {

namespace wi = wabt::interp;
using microvm::Status;
constexpr size_t kPage = 64 * 1024;

// Leaves freed, non-zero memory with the allocator, so that the next large allocation may reuse
// it: the zero pages must then come from the engine, not from luck.
void dirty_the_heap() {
    for (size_t mib : {12, 3}) {  // after a large block is freed, malloc serves 3 MiB from its heap
        std::vector<uint8_t> junk(mib << 20, 0xA5);
        asm volatile("" : : "r"(junk.data()) : "memory");
    }
}

std::shared_ptr<const microvm::wasm::CompiledModule> compile(const std::string& wat) {
    static microvm::wasm::ModuleCache cache(8, 64u << 20);
    auto module = cache.get_or_compile(bytes_of(wat));
    EXPECT_TRUE(module) << module.error().message;
    return module ? *module : nullptr;
}

std::optional<uint64_t> pages_of(const std::string& wat) {
    auto module = compile(wat);
    if (!module) return 999;
    wi::ModuleDesc desc = module->desc;
    return microvm::wasm::data_segment_pages(desc);
}

TEST(UnfilledMemory, DataSegmentPagesAreThoseTheConstantOffsetsReach) {
    EXPECT_EQ(pages_of("(module (memory 40) (data (i32.const 70000) \"abc\"))"), 2u);
    EXPECT_EQ(pages_of("(module (memory 40) (data (i32.const 16) \"a\")"
                       " (data (i32.const 0) \"\"))"),
              1u);
    EXPECT_EQ(pages_of("(module (memory 40))"), 0u);
    // Offsets read from a global, and a memory the module imports: nothing can be deferred.
    EXPECT_EQ(pages_of("(module (import \"env\" \"g\" (global i32)) (memory 40)"
                       " (data (global.get 0) \"abc\"))"),
              std::nullopt);
    EXPECT_EQ(pages_of("(module (import \"env\" \"m\" (memory 40)))"), std::nullopt);
}

TEST(UnfilledMemory, ExtendedMemoryReadsZeroAndKeepsWhatWasWritten) {
    wi::Store store;
    wi::Memory::Ptr memory = wi::Memory::New(store, wi::MemoryType{wabt::Limits{1, 100}});
    memory->UnsafeData()[5] = 7;
    memory->UnsafeData()[kPage - 1] = 9;
    dirty_the_heap();
    microvm::wasm::extend_with_unfilled_pages(*memory, 40);
    ASSERT_EQ(memory->PageSize(), 40u);
    ASSERT_EQ(memory->ByteSize(), 40 * kPage);
    EXPECT_EQ(memory->type().limits.initial, 40u);
    const uint8_t* data = memory->UnsafeData();
    EXPECT_EQ(data[5], 7);
    EXPECT_EQ(data[kPage - 1], 9);
    const size_t nonzero = memory->ByteSize() - std::count(data, data + memory->ByteSize(), 0);
    EXPECT_EQ(nonzero, 2u);
    ASSERT_TRUE(wabt::Succeeded(memory->Grow(2)));
    EXPECT_EQ(memory->PageSize(), 42u);
    EXPECT_EQ(memory->UnsafeData()[kPage - 1], 9);
    EXPECT_TRUE(wabt::Failed(memory->Grow(59)));  // the maximum still holds

    // From no pages at all (a module without data segments).
    wi::Memory::Ptr empty = wi::Memory::New(store, wi::MemoryType{wabt::Limits{0}});
    microvm::wasm::extend_with_unfilled_pages(*empty, 3);
    ASSERT_EQ(empty->ByteSize(), 3 * kPage);
    EXPECT_EQ(std::count(empty->UnsafeData(), empty->UnsafeData() + 3 * kPage, 0), 3 * kPage);
}

// The module checks its own memory: the declared size, its data, zeros in every page (one byte
// in each 4 KiB, and the last), and that it grows by one page.
constexpr const char* kSelfCheck = R"((module
  (memory 40)
  (data (i32.const 70000) "abc")
  (func $check (param i32) (if (i32.eqz (local.get 0)) (then unreachable)))
  (func (export "_start") (local $at i32)
    (call $check (i32.eq (memory.size) (i32.const 40)))
    (call $check (i32.eq (i32.load8_u (i32.const 70001)) (i32.const 98)))
    (loop $each
      (call $check (i32.eqz (i32.load8_u offset=100 (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 4096)))
      (br_if $each (i32.lt_u (local.get $at) (i32.const 2621440))))
    (call $check (i32.eqz (i32.load8_u (i32.const 2621439))))
    (call $check (i32.eq (memory.grow (i32.const 1)) (i32.const 40)))
    (call $check (i32.eqz (i32.load8_u (i32.const 2686975))))
    (call $check (i32.eq (i32.load8_u (i32.const 70002)) (i32.const 99)))))
)";

// memory.grow (grow_unfilled): new pages read zero whatever the heap held, what was written
// stays, the limits hold, and storage is reserved up to the maximum on the first grow past it,
// so that no later grow moves (copies) the memory. wabt's Grow zero-filled every new page and
// copied the memory to storage twice its size: a full 1 GiB memory grown by one page held
// 2.1 GB of the host, and one grow of 3 GiB took 1.6 s past a 100 ms timeout (red team,
// 2026-12-07).
TEST(UnfilledMemory, GrowingNeitherFillsNorMovesTheMemory) {
    wi::Store store;
    wi::Memory::Ptr memory = wi::Memory::New(store, wi::MemoryType{wabt::Limits{1, 4096}});
    memory->UnsafeData()[5] = 7;
    dirty_the_heap();
    ASSERT_TRUE(microvm::wasm::grow_unfilled(*memory, 40));
    ASSERT_EQ(memory->PageSize(), 41u);
    EXPECT_EQ(memory->type().limits.initial, 1u) << "a grow is no instantiation";
    const uint8_t* first = memory->UnsafeData();
    EXPECT_EQ(first[5], 7);
    EXPECT_EQ(size_t(std::count(first, first + memory->ByteSize(), 0)), memory->ByteSize() - 1);
    memory->UnsafeData()[41 * kPage - 1] = 9;
    // Up to the maximum without moving: 256 MiB reserved, never touched but for what is used.
    ASSERT_TRUE(microvm::wasm::grow_unfilled(*memory, 4096 - 41));
    EXPECT_EQ(memory->UnsafeData(), first) << "the memory was moved (copied) by a grow";
    EXPECT_EQ(memory->UnsafeData()[41 * kPage - 1], 9);
    EXPECT_EQ(memory->UnsafeData()[4096 * kPage - 1], 0);
    EXPECT_FALSE(microvm::wasm::grow_unfilled(*memory, 1));  // the maximum holds
    EXPECT_EQ(memory->PageSize(), 4096u);
    // Without a maximum: at most 65536 pages (4 GiB), as wabt's rule.
    wi::Memory::Ptr open = wi::Memory::New(store, wi::MemoryType{wabt::Limits{0}});
    EXPECT_TRUE(microvm::wasm::grow_unfilled(*open, 0));  // an empty memory has no storage at all
    EXPECT_FALSE(microvm::wasm::grow_unfilled(*open, 65537));
    EXPECT_EQ(open->PageSize(), 0u);
    ASSERT_TRUE(microvm::wasm::grow_unfilled(*open, 2));
    EXPECT_EQ(open->UnsafeData()[2 * kPage - 1], 0);
}

TEST(UnfilledMemory, ModuleSeesItsDeclaredMemoryZeroedWithItsData) {
    auto module = compile(kSelfCheck);
    ASSERT_TRUE(module);
    for (int i = 0; i < 3; ++i) {
        dirty_the_heap();
        microvm::wasm::RunRequest request;
        auto outcome = microvm::wasm::run_module(*module, microvm::MicroVMConfig{}, request);
        ASSERT_FALSE(outcome.failure) << outcome.error_message;
        EXPECT_EQ(outcome.metadata.exit_code, 0);
    }
}

// The CLI runs the engine on a heap of huge pages (host/huge_page_heap.hpp), from which a small
// linear memory is carved: its zero pages are dropped there too, never left as the heap held them.
TEST(UnfilledMemory, ModuleSeesItsMemoryZeroedOnAHeapOfHugePages) {
    [[maybe_unused]] const bool placed = microvm::host::place_heap_on_huge_pages(16u << 20);
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_TRUE(placed);
#endif
    auto module = compile(kSelfCheck);
    ASSERT_TRUE(module);
    for (int i = 0; i < 3; ++i) {
        // Fits in the advised top, and is given back before the run (swapped out: `= {}` would
        // keep its storage, and the memory would be carved after it from clean pages).
        std::vector<uint8_t> junk(5u << 20, 0xA5);
        asm volatile("" : : "r"(junk.data()) : "memory");
        std::vector<uint8_t>().swap(junk);
        microvm::wasm::RunRequest request;
        auto outcome = microvm::wasm::run_module(*module, microvm::MicroVMConfig{}, request);
        ASSERT_FALSE(outcome.failure) << outcome.error_message;
        EXPECT_EQ(outcome.metadata.exit_code, 0);
    }
}

TEST_F(WasmTest, DeclaredInitialMemoryStillCountsAgainstTheCap) {
    auto ctx = context(bytes_of(kSelfCheck));
    ctx.config.memory_limit_mb = 2;  // the module declares 2.5 MiB
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
    ctx.config.memory_limit_mb = 3;
    r = run(ctx);
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
}

}  // namespace
}  // namespace wasmtest
