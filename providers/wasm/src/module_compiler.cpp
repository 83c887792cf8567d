#include "module_compiler.hpp"

#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine_limits.hpp"
#include "module_size_guard.hpp"
#include "wabt/binary-reader.h"
#include "wabt/error-formatter.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt_internals.hpp"
#include "wat_to_binary.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;

Expected<void> invalid(std::string message) {
    return fail(Failure::Kind::InvalidInput, std::move(message));
}

Expected<void> decode(std::span<const uint8_t> binary, wi::ModuleDesc& desc) {
    wabt::Errors errors;
    wabt::Features features;
    wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                    /*stop_on_first_error=*/true,
                                    /*fail_on_custom_section_error=*/false);
    if (wabt::Failed(wi::ReadBinaryInterp("module.wasm", binary.data(), binary.size(), options,
                                          &errors, &desc))) {
        std::string message = wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
        while (!message.empty() && message.back() == '\n') message.pop_back();
        return invalid("invalid wasm module: " +
                       (message.empty() ? std::string("rejected by the validator") : message));
    }
    return Ok{};
}

// Host-side allocations a valid module could otherwise make unbounded.
Expected<uint32_t> check_engine_limits(const wi::ModuleDesc& desc) {
    uint32_t max_locals = 0;
    for (size_t i = 0; i < desc.funcs.size(); ++i) {
        const auto& locals = desc.funcs[i].locals;
        uint64_t count =
            desc.funcs[i].type.params.size() + (locals.empty() ? 0 : locals.back().end);
        if (count > limits::kMaxLocalsPerFunction) {
            RTFS_CHECK(invalid("function " + std::to_string(i) + " declares " +
                               std::to_string(count) + " locals; the engine accepts at most " +
                               std::to_string(limits::kMaxLocalsPerFunction)));
        }
        max_locals = std::max(max_locals, static_cast<uint32_t>(count));
    }
    uint64_t table_elements = 0;
    for (const auto& table : desc.tables) table_elements += table.type.limits.initial;
    if (table_elements > limits::kMaxTableElements) {
        RTFS_CHECK(invalid("the module's tables start with " + std::to_string(table_elements) +
                           " elements in all; the engine accepts at most " +
                           std::to_string(limits::kMaxTableElements)));
    }
    return max_locals;
}

uint32_t function_count(const wi::ModuleDesc& desc) {
    uint32_t imported = 0;
    for (const auto& import : desc.imports) {
        if (import.type.type->kind == wabt::ExternalKind::Func) ++imported;
    }
    return imported + static_cast<uint32_t>(desc.funcs.size());
}

// memory.grow and the bulk instructions become call_import (opcode + u32 function index) of the
// engine's hooks, appended after the module's own functions. Instructions with two immediates
// (12 bytes) become call_import of a hook returning a dummy i32, then drop: same size, same stack.
Expected<void> rewrite_to_hooks(wi::Istream& istream, CompiledModule& module) {
    using O = wabt::Opcode;
    wi::Buffer& code = internals::bytes(istream);
    using Serialized = wi::Istream::SerializedOpcode;
    std::map<TableOp, uint32_t> table_hooks;  // the same instruction shares one hook
    auto table_hook = [&](TableOp op) {
        auto [it, added] = table_hooks.emplace(op, module.table_hooks_begin() +
                                                       static_cast<uint32_t>(table_hooks.size()));
        if (added) module.table_ops.push_back(op);
        return it->second;
    };
    // A data segment index past the module's segments: wabt checks it against the DataCount
    // section alone, and with no Data section at all a memory.init became a call of whatever
    // hook came next (a table hook, whose missing result the drop took off the value stack:
    // the guest's next value overwrote a heap chunk's header), a data.drop a write through an
    // empty vector (red team, 2026-12-07). module_size_guard refuses such a module first.
    const size_t data_segments = module.desc.datas.size();
    wi::Istream::Offset pc = 0;
    while (pc < code.size()) {
        if (code.size() - pc < sizeof(Serialized)) return invalid("corrupt instruction stream");
        const wi::Istream::Offset at = pc;
        const wi::Instr instr = istream.Read(&pc);
        if ((instr.op == O::MemoryInit && instr.imm_u32x2.snd >= data_segments) ||
            (instr.op == O::DataDrop && instr.imm_u32 >= data_segments))
            return invalid(std::string(instr.op.GetName()) + " of data segment " +
                           std::to_string(instr.op == O::DataDrop ? instr.imm_u32 : instr.imm_u32x2.snd) +
                           ", which the module does not have (" + std::to_string(data_segments) + " segments)");
        std::optional<uint32_t> hook;
        switch (instr.op) {
            case O::MemoryGrow: hook = module.grow_hook_func; break;
            case O::MemoryFill: hook = module.memory_fill_hook(); break;
            case O::MemoryCopy: hook = module.memory_copy_hook(); break;
            case O::MemoryInit: hook = module.memory_init_hooks_begin() + instr.imm_u32x2.snd; break;
            case O::TableFill: hook = table_hook({O::TableFill, instr.imm_u32, 0}); break;
            case O::TableCopy:
            case O::TableInit:
                hook = table_hook({instr.op, instr.imm_u32x2.fst, instr.imm_u32x2.snd});
                break;
            default: break;
        }
        if (!hook) continue;
        const bool two_immediates = instr.op == O::MemoryCopy || instr.op == O::MemoryInit ||
                                    instr.op == O::TableCopy || instr.op == O::TableInit;
        constexpr size_t kCall = sizeof(Serialized) + sizeof(uint32_t);
        if (pc - at != kCall + (two_immediates ? sizeof(Serialized) : 0)) {  // wabt's encoding
            return invalid("unexpected encoding of " + std::string(instr.op.GetName()));
        }
        Serialized call = static_cast<Serialized>(O::InterpCallImport);
        std::memcpy(code.data() + at, &call, sizeof call);
        std::memcpy(code.data() + at + sizeof call, &*hook, sizeof *hook);
        if (two_immediates) {
            Serialized drop = static_cast<Serialized>(O::Drop);
            std::memcpy(code.data() + at + kCall, &drop, sizeof drop);
        }
    }
    return Ok{};
}

size_t heap_of(const wi::FuncType& t) {
    return (t.params.capacity() + t.results.capacity()) * sizeof(wi::ValueType);
}

size_t footprint_of(const CompiledModule& module) {
    const wi::ModuleDesc& desc = module.desc;
    size_t bytes = desc.istream.end();
    for (const auto& d : desc.datas) bytes += d.data.size();
    for (const auto& e : desc.elems) bytes += e.elements.size() * sizeof(wi::ElemExpr);
    // Each function's type owns two vectors: a module of many functions with long signatures
    // holds far more than sizeof(FuncDesc) each.
    for (const auto& f : desc.funcs) {
        bytes += sizeof(wi::FuncDesc) + heap_of(f.type) + f.locals.capacity() * sizeof(f.locals[0]);
    }
    for (const auto& t : desc.func_types) bytes += sizeof(wi::FuncType) + heap_of(t);
    for (const auto& i : desc.imports) {
        if (wabt::isa<wi::FuncType>(i.type.type.get())) {
            bytes += sizeof(wi::FuncType) + heap_of(*wabt::cast<wi::FuncType>(i.type.type.get()));
        }
    }
    return bytes + module.table_ops.size() * sizeof(TableOp);
}

Expected<std::shared_ptr<const CompiledModule>> compile_binary(std::span<const uint8_t> binary) {
    RTFS_CHECK(check_declared_counts(binary));
    auto module = std::make_shared<CompiledModule>();
    RTFS_CHECK(decode(binary, module->desc));
    RTFS_TRY(module->max_locals, check_engine_limits(module->desc));
    if (!module->desc.starts.empty()) {
        module->start_func = module->desc.starts.front().func_index;
        module->desc.starts.clear();
    }
    module->grow_hook_func = function_count(module->desc);
    RTFS_CHECK(rewrite_to_hooks(module->desc.istream, *module));
    module->footprint_bytes = footprint_of(*module);
    return std::shared_ptr<const CompiledModule>(std::move(module));
}

}  // namespace

size_t module_footprint(const CompiledModule& module) { return footprint_of(module); }

bool has_wasm_magic(std::span<const uint8_t> bytes) {
    return bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 'a' && bytes[2] == 's' &&
           bytes[3] == 'm';
}

Expected<std::shared_ptr<const CompiledModule>> compile_module(std::span<const uint8_t> bytes) {
    if (bytes.empty()) {
        return fail(Failure::Kind::InvalidInput, "the wasm module is empty");
    }
    if (bytes.size() > limits::kMaxModuleBytes) {
        return fail(Failure::Kind::InvalidInput, "the wasm module is " +
                                                     std::to_string(bytes.size()) +
                                                     " bytes; the engine accepts at most " +
                                                     std::to_string(limits::kMaxModuleBytes));
    }
    try {
        if (has_wasm_magic(bytes)) return compile_binary(bytes);
        RTFS_TRY(std::vector<uint8_t> binary, wat_to_binary(bytes));
        return compile_binary(binary);
    } catch (const std::exception& e) {  // allocation failure inside wabt
        return fail(Failure::Kind::InvalidInput,
                    std::string("the module could not be decoded: ") + e.what());
    }
}

}  // namespace microvm::wasm
