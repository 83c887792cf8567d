// A decoded, validated module ready to instantiate; shared read-only between executions through
// the module cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "wabt/interp/interp.h"

namespace microvm::wasm {

// A rewritten table.fill, table.copy or table.init with its immediates (see module_compiler.hpp).
struct TableOp {
    wabt::Opcode::Enum op;
    uint32_t a = 0, b = 0;  // table.fill: table; table.copy: dst, src table; table.init: table, elem
    bool operator<(const TableOp& o) const {
        return op != o.op ? op < o.op : a != o.a ? a < o.a : b < o.b;
    }
};

struct CompiledModule {
    // Validated by wabt. The start section is removed (the engine runs the start function itself,
    // in fuel slices) and every memory.grow and bulk memory or table instruction calls one of the
    // engine's hooks instead (see module_compiler.hpp).
    wabt::interp::ModuleDesc desc;
    std::optional<uint32_t> start_func;
    uint32_t grow_hook_func = 0;  // function index (after imports and definitions) of the hook
    uint32_t max_locals = 0;      // largest local count of any function (bounds a fuel slice)
    size_t footprint_bytes = 0;   // approximate host memory, for the cache bound
    std::vector<TableOp> table_ops;  // one hook each, from table_hooks_begin()

    // The hooks after the grow hook, by function index: memory.fill, memory.copy, one
    // memory.init per data segment, then one per table_ops entry.
    uint32_t memory_fill_hook() const { return grow_hook_func + 1; }
    uint32_t memory_copy_hook() const { return grow_hook_func + 2; }
    uint32_t memory_init_hooks_begin() const { return grow_hook_func + 3; }
    uint32_t table_hooks_begin() const {
        return memory_init_hooks_begin() + static_cast<uint32_t>(desc.datas.size());
    }
};

}  // namespace microvm::wasm
