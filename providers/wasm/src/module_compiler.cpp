#include "module_compiler.hpp"

#include <cstring>
#include <exception>
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
    for (size_t i = 0; i < desc.tables.size(); ++i) {
        if (desc.tables[i].type.limits.initial > limits::kMaxTableElements) {
            RTFS_CHECK(invalid("table " + std::to_string(i) + " starts with " +
                               std::to_string(desc.tables[i].type.limits.initial) +
                               " elements; the engine accepts at most " +
                               std::to_string(limits::kMaxTableElements)));
        }
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

// memory.grow (opcode + u32 memory index) becomes call_import (opcode + u32 function index) of
// the grow hook, which the engine appends after the module's own functions.
Expected<void> rewrite_memory_grow(wi::Istream& istream, uint32_t hook_func) {
    wi::Buffer& code = internals::bytes(istream);
    using Serialized = wi::Istream::SerializedOpcode;
    wi::Istream::Offset pc = 0;
    while (pc < code.size()) {
        if (code.size() - pc < sizeof(Serialized)) return invalid("corrupt instruction stream");
        wi::Istream::Offset at = pc;
        wi::Instr instr = istream.Read(&pc);
        if (instr.op == wabt::Opcode::MemoryGrow) {
            Serialized call = static_cast<Serialized>(wabt::Opcode::InterpCallImport);
            std::memcpy(code.data() + at, &call, sizeof call);
            std::memcpy(code.data() + at + sizeof call, &hook_func, sizeof hook_func);
        }
    }
    return Ok{};
}

size_t footprint(const wi::ModuleDesc& desc) {
    size_t bytes = desc.istream.end();
    for (const auto& d : desc.datas) bytes += d.data.size();
    for (const auto& e : desc.elems) bytes += e.elements.size() * sizeof(wi::ElemExpr);
    return bytes + desc.funcs.size() * sizeof(wi::FuncDesc);
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
    RTFS_CHECK(rewrite_memory_grow(module->desc.istream, module->grow_hook_func));
    module->footprint_bytes = footprint(module->desc);
    return std::shared_ptr<const CompiledModule>(std::move(module));
}

}  // namespace

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
