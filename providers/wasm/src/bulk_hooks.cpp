#include "bulk_hooks.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "engine_limits.hpp"
#include "wabt_internals.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;
using wabt::Result;

// Work done since the deadline was last looked at, across all hooks of the run, so that many
// medium-sized operations in one fuel slice are bounded as one large operation is.
class Pacer {
  public:
    explicit Pacer(RunState& state) : state_(state) {}

    // After `bytes` of work: whether the run has to end now (then *trap is set).
    bool must_stop(wi::Thread& thread, uint64_t bytes, wi::Trap::Ptr* trap) {
        unchecked_ += bytes;
        if (unchecked_ < limits::kBulkChunkBytes) return false;
        unchecked_ = 0;
        state_.pace();  // the CPU share holds inside a slice of bulk instructions too
        if (state_.cancel_requested()) {
            state_.cancelled = true;
            *trap = wi::Trap::New(thread.store(), "cancelled");
            return true;
        }
        if (state_.past_deadline()) {
            state_.timed_out = true;
            *trap = wi::Trap::New(thread.store(), "timeout");
            return true;
        }
        return false;
    }

  private:
    RunState& state_;
    uint64_t unchecked_ = 0;
};

// Costs a table element as much as a chunk of memory over a chunk of elements.
constexpr uint64_t kElementCost = limits::kBulkChunkBytes / limits::kBulkChunkElements;

// Calls step(offset, count) over [0, n) in chunks, last chunk first when backward (a copy to a
// higher address in the same memory or table), pacing between chunks.
template <class Step>
Result in_chunks(Pacer& pacer, wi::Thread& thread, wi::Trap::Ptr* trap, uint64_t n,
                 uint64_t chunk, uint64_t unit_cost, bool backward, Step step) {
    for (uint64_t done = 0; done < n;) {
        const uint64_t count = std::min(chunk, n - done);
        step(backward ? n - done - count : done, count);
        done += count;
        if (pacer.must_stop(thread, count * unit_cost, trap)) return Result::Error;
    }
    return Result::Ok;
}

Result out_of_bounds(wi::Thread& thread, wi::Trap::Ptr* trap, const std::string& what) {
    *trap = wi::Trap::New(thread.store(), what + " out of bounds");
    return Result::Error;
}

// The function index the running call_import named: hooks shared by several indices (one
// memory.init hook for every data segment) learn their immediate from it.
std::optional<uint32_t> called_index(wi::Thread& thread) {
    const auto& frames = internals::frames(thread);
    if (frames.size() < 2 || !frames[frames.size() - 2].mod) return std::nullopt;
    const wi::Frame& caller = frames[frames.size() - 2];  // the last frame is the hook's own
    wi::Istream::Offset at = caller.offset - 8;           // the call: opcode, function index
    const wi::Instr call = caller.mod->desc().istream.Read(&at);
    if (call.op != wabt::Opcode::InterpCallImport) return std::nullopt;
    return call.imm_u32;
}

wi::FuncType hook_type(wabt::Type second, bool dummy_result) {
    return wi::FuncType({wabt::Type::I32, second, wabt::Type::I32},
                        dummy_result ? wi::ValueTypes{wabt::Type::I32} : wi::ValueTypes{});
}

using Pacing = std::shared_ptr<Pacer>;

wi::HostFunc::Ptr memory_fill(wi::Store& store, wi::Memory& memory, Pacing pacer) {
    auto cb = [&memory, pacer](wi::Thread& thread, const wi::Values& params, wi::Values&,
                               wi::Trap::Ptr* trap) -> Result {
        const uint64_t dst = params[0].Get<uint32_t>(), n = params[2].Get<uint32_t>();
        const uint8_t value = static_cast<uint8_t>(params[1].Get<uint32_t>());
        if (!memory.IsValidAccess(dst, 0, n)) {
            return out_of_bounds(thread, trap, "out of bounds memory access: memory.fill");
        }
        return in_chunks(*pacer, thread, trap, n, limits::kBulkChunkBytes, 1, false,
                         [&](uint64_t at, uint64_t count) { (void)memory.Fill(dst + at, value, count); });
    };
    return wi::HostFunc::New(store, hook_type(wabt::Type::I32, false), std::move(cb));
}

wi::HostFunc::Ptr memory_copy(wi::Store& store, wi::Memory& memory, Pacing pacer) {
    auto cb = [&memory, pacer](wi::Thread& thread, const wi::Values& params, wi::Values& results,
                               wi::Trap::Ptr* trap) -> Result {
        results[0] = wi::Value::Make(uint32_t{0});  // dropped by the rewritten code
        const uint64_t dst = params[0].Get<uint32_t>(), src = params[1].Get<uint32_t>(),
                       n = params[2].Get<uint32_t>();
        if (!memory.IsValidAccess(dst, 0, n) || !memory.IsValidAccess(src, 0, n)) {
            return out_of_bounds(thread, trap, "out of bounds memory access: memory.copy");
        }
        // Overlapping ranges: chunks in the order that reads each byte before it is overwritten.
        return in_chunks(*pacer, thread, trap, n, limits::kBulkChunkBytes, 1, dst > src,
                         [&](uint64_t at, uint64_t count) {
                             (void)wi::Memory::Copy(memory, dst + at, memory, src + at, count);
                         });
    };
    return wi::HostFunc::New(store, hook_type(wabt::Type::I32, true), std::move(cb));
}

wi::HostFunc::Ptr memory_init(wi::Store& store, wi::Memory& memory, wi::Instance& inst,
                              uint32_t first_index, Pacing pacer) {
    auto cb = [&memory, &inst, first_index, pacer](wi::Thread& thread, const wi::Values& params,
                                                   wi::Values& results, wi::Trap::Ptr* trap) -> Result {
        results[0] = wi::Value::Make(uint32_t{0});
        const std::optional<uint32_t> index = called_index(thread);
        if (!index || *index < first_index || *index - first_index >= inst.datas().size()) {
            *trap = wi::Trap::New(thread.store(), "memory.init hook called unexpectedly");
            return Result::Error;
        }
        const wi::DataSegment& segment = inst.datas()[*index - first_index];
        const uint64_t dst = params[0].Get<uint32_t>(), src = params[1].Get<uint32_t>(),
                       n = params[2].Get<uint32_t>();
        if (!segment.IsValidRange(src, n) || !memory.IsValidAccess(dst, 0, n)) {
            return out_of_bounds(thread, trap, "out of bounds memory access: memory.init");
        }
        return in_chunks(*pacer, thread, trap, n, limits::kBulkChunkBytes, 1, false,
                         [&](uint64_t at, uint64_t count) {
                             (void)memory.Init(dst + at, segment, src + at, count);
                         });
    };
    return wi::HostFunc::New(store, hook_type(wabt::Type::I32, true), std::move(cb));
}

wi::HostFunc::Ptr table_hook(wi::Store& store, wi::Instance& inst, const TableOp& op,
                             Pacing pacer) {
    using O = wabt::Opcode;
    wi::Table* table = store.UnsafeGet<wi::Table>(inst.tables()[op.a]).get();
    auto cb = [&store, &inst, table, op, pacer](wi::Thread& thread, const wi::Values& params,
                                                wi::Values& results, wi::Trap::Ptr* trap) -> Result {
        const uint32_t dst = params[0].Get<uint32_t>(), n = params[2].Get<uint32_t>();
        auto chunked = [&](bool backward, auto step) -> Result {
            return in_chunks(*pacer, thread, trap, n, limits::kBulkChunkElements, kElementCost,
                             backward, [&](uint64_t at, uint64_t count) {
                                 step(static_cast<uint32_t>(at), static_cast<uint32_t>(count));
                             });
        };
        if (op.op == O::TableFill) {
            const wi::Ref value = params[1].Get<wi::Ref>();
            if (!table->IsValidRange(dst, n)) {
                return out_of_bounds(thread, trap, "out of bounds table access: table.fill");
            }
            return chunked(false, [&](uint32_t at, uint32_t count) {
                (void)table->Fill(store, dst + at, value, count);
            });
        }
        results[0] = wi::Value::Make(uint32_t{0});
        const uint32_t src = params[1].Get<uint32_t>();
        if (op.op == O::TableCopy) {
            wi::Table* from = store.UnsafeGet<wi::Table>(inst.tables()[op.b]).get();
            if (!table->IsValidRange(dst, n) || !from->IsValidRange(src, n)) {
                return out_of_bounds(thread, trap, "out of bounds table access: table.copy");
            }
            return chunked(table == from && dst > src, [&](uint32_t at, uint32_t count) {
                (void)wi::Table::Copy(store, *table, dst + at, *from, src + at, count);
            });
        }
        const wi::ElemSegment& segment = inst.elems()[op.b];
        if (!segment.IsValidRange(src, n) || !table->IsValidRange(dst, n)) {
            return out_of_bounds(thread, trap, "out of bounds table access: table.init");
        }
        return chunked(false, [&](uint32_t at, uint32_t count) {
            (void)table->Init(store, dst + at, segment, src + at, count);
        });
    };
    const bool fill = op.op == O::TableFill;
    return wi::HostFunc::New(store, hook_type(fill ? table->type().element : wabt::Type(wabt::Type::I32), !fill),
                             std::move(cb));
}

}  // namespace

std::vector<wi::HostFunc::Ptr> append_bulk_hooks(wi::Store& store, RunState& state,
                                                 wi::Instance& inst, wi::Memory* memory0,
                                                 const CompiledModule& module, wi::RefVec& funcs) {
    std::vector<wi::HostFunc::Ptr> hooks;
    auto pacer = std::make_shared<Pacer>(state);
    const size_t datas = module.desc.datas.size();
    if (memory0) {
        hooks.push_back(memory_fill(store, *memory0, pacer));
        hooks.push_back(memory_copy(store, *memory0, pacer));
        hooks.push_back(memory_init(store, *memory0, inst, module.memory_init_hooks_begin(), pacer));
        funcs.push_back(hooks[0].ref());
        funcs.push_back(hooks[1].ref());
        funcs.insert(funcs.end(), datas, hooks[2].ref());
    } else if (!module.table_ops.empty()) {
        funcs.insert(funcs.end(), 3 + datas, wi::Ref::Null);  // grow, fill, copy, init: unused
    }
    for (const TableOp& op : module.table_ops) {
        hooks.push_back(table_hook(store, inst, op, pacer));
        funcs.push_back(hooks.back().ref());
    }
    return hooks;
}

}  // namespace microvm::wasm
