#include "module_size_guard.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "engine_limits.hpp"
#include "wabt/binary-reader-nop.h"
#include "wabt/binary-reader.h"

namespace microvm::wasm {
namespace {

constexpr uint64_t kMaxItems = limits::kMaxModuleItems;  // types, imports, functions, globals, exports
constexpr uint64_t kMaxSegments = 100000;  // element and data segments
constexpr uint64_t kMaxSegmentElements = 1 << 20;
constexpr uint64_t kMaxBrTableTargets = 1 << 20;  // each costs 28 bytes of interpreter code

// What wabt copies per function, import and open block is the whole signature (8 bytes per
// value), so these bound values, not bytes of input.
using limits::kMaxBlockNesting;
using limits::kMaxBranchLabelSteps;
using limits::kMaxLocalDeclarations;
using limits::kMaxLocalsPerFunction;
using limits::kMaxElementEntries;
using limits::kMaxExtraResults;
using limits::kMaxOpenBlockSignatureValues;
using limits::kMaxParamsPerType;
using limits::kMaxResultsPerType;
using limits::kMaxSignatureValues;
using limits::kMaxCheckedSignatureValues;
using limits::kFreeCheckedValuesPerInstruction;
using limits::kMaxTableInstructions;
using limits::kMaxTables;

class CountGuard : public wabt::BinaryReaderNop {
  public:
    std::string problem;

    // Malformed modules are the decoder's to report; nothing goes to stderr from here.
    bool OnError(const wabt::Error&) override { return true; }

    wabt::Result OnTypeCount(wabt::Index n) override { return limit("types", n, kMaxItems); }
    wabt::Result OnFuncType(wabt::Index, wabt::Index params, wabt::Type*, wabt::Index results,
                            wabt::Type*) override {
        if (!within("parameters in one function type", params, kMaxParamsPerType) ||
            !within("results in one function type", results, kMaxResultsPerType)) {
            return wabt::Result::Error;
        }
        type_sizes_.push_back({params, results});
        return wabt::Result::Ok;
    }
    wabt::Result OnImportCount(wabt::Index n) override { return limit("imports", n, kMaxItems); }
    wabt::Result OnImportFunc(wabt::Index, std::string_view, std::string_view, wabt::Index,
                              wabt::Index sig) override {
        function_sigs_.push_back(sig);
        return add_signature(sig);
    }
    wabt::Result OnImportTag(wabt::Index, std::string_view, std::string_view, wabt::Index,
                             wabt::Index sig) override {
        return add_signature(sig);
    }
    wabt::Result OnFunctionCount(wabt::Index n) override {
        return limit("functions", n, kMaxItems);
    }
    wabt::Result OnFunction(wabt::Index, wabt::Index sig) override {
        function_sigs_.push_back(sig);
        return add_signature(sig);
    }
    wabt::Result OnTagType(wabt::Index, wabt::Index sig) override { return add_signature(sig); }
    wabt::Result OnTableCount(wabt::Index n) override { return limit("tables", n, kMaxTables); }
    wabt::Result OnGlobalCount(wabt::Index n) override { return limit("globals", n, kMaxItems); }
    wabt::Result OnExportCount(wabt::Index n) override { return limit("exports", n, kMaxItems); }
    wabt::Result OnElemSegmentCount(wabt::Index n) override {
        return limit("element segments", n, kMaxSegments);
    }
    wabt::Result OnElemSegmentElemExprCount(wabt::Index, wabt::Index n) override {
        if (!within("elements in one segment", n, kMaxSegmentElements)) return wabt::Result::Error;
        element_entries_ += n;
        return limit("elements in all element segments", element_entries_, kMaxElementEntries);
    }
    wabt::Result OnDataSegmentCount(wabt::Index n) override {
        data_segments_ = n;
        return limit("data segments", n, kMaxSegments);
    }
    wabt::Result OnDataCount(wabt::Index n) override {
        data_count_ = n;
        return wabt::Result::Ok;
    }
    wabt::Result OnMemoryInitExpr(wabt::Index segment, wabt::Index) override { return data_segment_used(segment); }
    wabt::Result OnDataDropExpr(wabt::Index segment) override { return data_segment_used(segment); }

    // After the whole module is read: the DataCount section must count the data segments there
    // are (none without a Data section), and every memory.init and data.drop name one of them.
    // wabt compares the two only when a Data section exists, and checks instructions against
    // DataCount alone: with DataCount 1 and no Data section, data.drop 0 wrote through an empty
    // vector and memory.init 0 called past the engine's hooks, in the host process (red team,
    // 2026-12-07).
    void check_data_segments() {
        if (!problem.empty()) return;
        if (data_count_ && *data_count_ != data_segments_) {
            problem = "the module's DataCount section says " + std::to_string(*data_count_) + " data segments, and it has " +
                      std::to_string(data_segments_);
        } else if (highest_data_segment_used_ && *highest_data_segment_used_ >= data_segments_) {
            problem = "an instruction names data segment " + std::to_string(*highest_data_segment_used_) +
                      ", and the module has " + std::to_string(data_segments_);
        }
    }
    wabt::Result OnBrTableExpr(wabt::Index targets, wabt::Index* depths, wabt::Index default_depth) override {
        for (wabt::Index i = 0; i < targets; ++i) {
            if (branch(depths[i]) != wabt::Result::Ok) return wabt::Result::Error;
            if (check(label_arity(depths[i])) != wabt::Result::Ok) return wabt::Result::Error;
        }
        if (branch(default_depth) != wabt::Result::Ok) return wabt::Result::Error;
        if (check(label_arity(default_depth)) != wabt::Result::Ok) return wabt::Result::Error;
        br_table_targets_ += targets;
        return limit("br_table targets", br_table_targets_, kMaxBrTableTargets);
    }

    // The validator keeps a copy of each open block's signature and pushes every result a call
    // or block leaves: both are bounded here, as each costs 8 host bytes per value for 1-3
    // bytes of input.
    wabt::Result BeginFunctionBody(wabt::Index func, wabt::Offset) override {
        open_blocks_.clear();
        labels_.clear();
        open_block_values_ = 0;
        const TypeSize* size = func < function_sigs_.size() ? type_size(function_sigs_[func]) : nullptr;
        function_results_ = size ? size->results : 0;
        return wabt::Result::Ok;
    }
    wabt::Result OnBrExpr(wabt::Index depth) override {
        return branch(depth) == wabt::Result::Ok ? check(label_arity(depth)) : wabt::Result(wabt::Result::Error);
    }
    wabt::Result OnBrIfExpr(wabt::Index depth) override {
        return branch(depth) == wabt::Result::Ok ? check(label_arity(depth)) : wabt::Result(wabt::Result::Error);
    }
    wabt::Result OnReturnExpr() override {
        return branch(labels_.size()) == wabt::Result::Ok ? check(function_results_) : wabt::Result(wabt::Result::Error);
    }
    wabt::Result OnLocalDeclCount(wabt::Index n) override {
        local_declarations_ += n;
        if (!within("local declarations in one function", n, kMaxLocalsPerFunction)) return wabt::Result::Error;
        return limit("local declarations in all", local_declarations_, kMaxLocalDeclarations);
    }
    wabt::Result OnTableInitExpr(wabt::Index, wabt::Index) override { return table_instruction(); }
    wabt::Result OnTableCopyExpr(wabt::Index, wabt::Index) override { return table_instruction(); }
    wabt::Result OnTableFillExpr(wabt::Index) override { return table_instruction(); }
    wabt::Result OnBlockExpr(wabt::Type sig) override { return open_block(sig, false); }
    wabt::Result OnLoopExpr(wabt::Type sig) override { return open_block(sig, true); }
    wabt::Result OnIfExpr(wabt::Type sig) override { return open_block(sig, false); }
    wabt::Result OnTryExpr(wabt::Type sig) override { return open_block(sig, false); }
    wabt::Result OnEndExpr() override {
        if (!open_blocks_.empty()) {
            open_block_values_ -= open_blocks_.back();
            open_blocks_.pop_back();
            labels_.pop_back();
        }
        return wabt::Result::Ok;
    }
    wabt::Result OnDelegateExpr(wabt::Index) override { return OnEndExpr(); }
    wabt::Result OnCallExpr(wabt::Index func) override {
        if (func < function_sigs_.size()) return call(function_sigs_[func]);
        return wabt::Result::Ok;
    }
    wabt::Result OnCallIndirectExpr(wabt::Index sig, wabt::Index) override { return call(sig); }

  private:
    struct TypeSize {
        uint64_t params, results;
    };

    bool within(const char* what, uint64_t n, uint64_t max) {
        if (n <= max) return true;
        problem = "the module declares " + std::to_string(n) + " " + what +
                  "; the engine accepts at most " + std::to_string(max);
        return false;
    }
    wabt::Result limit(const char* what, uint64_t n, uint64_t max) {
        return within(what, n, max) ? wabt::Result::Ok : wabt::Result::Error;
    }
    // The decoder walks the labels up to a branch's target (at most those open).
    wabt::Result branch(uint64_t depth) {
        label_steps_ += std::min<uint64_t>(depth, labels_.size()) + 1;
        return limit("label steps walked by branches", label_steps_, kMaxBranchLabelSteps);
    }
    const TypeSize* type_size(wabt::Index sig) const {
        return sig < type_sizes_.size() ? &type_sizes_[sig] : nullptr;  // else the decoder's
    }
    wabt::Result add_signature(wabt::Index sig) {
        const TypeSize* size = type_size(sig);
        if (!size) return wabt::Result::Ok;
        signature_values_ += size->params + size->results;
        return limit("parameters and results summed over all functions, imports and tags",
                     signature_values_, kMaxSignatureValues);
    }
    wabt::Result add_results(wabt::Index sig) {
        const TypeSize* size = type_size(sig);
        if (!size || size->results <= 1) return wabt::Result::Ok;
        extra_results_ += size->results - 1;
        return limit("results beyond the first summed over all calls and blocks", extra_results_,
                     kMaxExtraResults);
    }
    // The values one instruction makes the validator check against a signature, beyond the
    // first few every instruction may check for free.
    wabt::Result check(uint64_t values) {
        if (values <= kFreeCheckedValuesPerInstruction) return wabt::Result::Ok;
        checked_values_ += values - kFreeCheckedValuesPerInstruction;
        return limit("signature values type-checked by calls, branches, returns and blocks",
                     checked_values_, kMaxCheckedSignatureValues);
    }
    // A branch to depth carries its label's values: a block's results, a loop's parameters,
    // the function's results (the outermost label).
    uint64_t label_arity(wabt::Index depth) const {
        if (depth < labels_.size()) return labels_[labels_.size() - 1 - depth];
        return function_results_;
    }
    wabt::Result call(wabt::Index sig) {
        if (const TypeSize* size = type_size(sig)) {
            if (check(size->params + size->results) != wabt::Result::Ok) return wabt::Result::Error;
        }
        return add_results(sig);
    }
    wabt::Result table_instruction() {
        return limit("table.init, table.copy and table.fill instructions", ++table_instructions_,
                     kMaxTableInstructions);
    }
    wabt::Result open_block(wabt::Type sig, bool loop) {
        uint64_t values = 0;
        uint64_t arity = sig == wabt::Type::Void || sig.IsIndex() ? 0 : 1;
        if (sig.IsIndex()) {
            if (const TypeSize* size = type_size(sig.GetIndex())) {
                values = size->params + size->results;
                arity = loop ? size->params : size->results;
                // Checked on entry (its parameters) and at its end (its results).
                if (check(values) != wabt::Result::Ok) return wabt::Result::Error;
                if (add_results(sig.GetIndex()) != wabt::Result::Ok) return wabt::Result::Error;
            }
        }
        labels_.push_back(arity);
        open_blocks_.push_back(values);
        open_block_values_ += values;
        if (!within("nested blocks", open_blocks_.size(), kMaxBlockNesting)) {
            return wabt::Result::Error;
        }
        return limit("parameters and results of the open nested blocks", open_block_values_,
                     kMaxOpenBlockSignatureValues);
    }

    wabt::Result data_segment_used(wabt::Index segment) {
        highest_data_segment_used_ = std::max<wabt::Index>(highest_data_segment_used_.value_or(0), segment);
        return wabt::Result::Ok;
    }

    std::optional<wabt::Index> data_count_;
    wabt::Index data_segments_ = 0;  // none without a Data section
    std::optional<wabt::Index> highest_data_segment_used_;
    uint64_t br_table_targets_ = 0;
    uint64_t label_steps_ = 0;
    uint64_t local_declarations_ = 0;
    uint64_t checked_values_ = 0;
    uint64_t table_instructions_ = 0;
    uint64_t function_results_ = 0;  // the function whose body is being read
    std::vector<uint64_t> labels_;   // each open block's label arity
    uint64_t element_entries_ = 0;
    uint64_t signature_values_ = 0;
    uint64_t extra_results_ = 0;
    std::vector<TypeSize> type_sizes_;
    std::vector<wabt::Index> function_sigs_;  // imported functions first, as wabt numbers them
    std::vector<uint64_t> open_blocks_;       // each open block's signature values
    uint64_t open_block_values_ = 0;
};

}  // namespace

Expected<void> check_declared_counts(std::span<const uint8_t> binary) {
    CountGuard guard;
    wabt::ReadBinaryOptions options(wabt::Features(), nullptr, false, true, false);
    const wabt::Result read = wabt::ReadBinary(binary.data(), binary.size(), &guard, options);
    if (wabt::Succeeded(read)) guard.check_data_segments();
    if (!guard.problem.empty()) return fail(Failure::Kind::InvalidInput, guard.problem);
    return Ok{};
}

}  // namespace microvm::wasm
