#include "module_size_guard.hpp"

#include <string>

#include "wabt/binary-reader-nop.h"
#include "wabt/binary-reader.h"

namespace microvm::wasm {
namespace {

constexpr uint64_t kMaxItems = 200000;     // types, imports, functions, globals, exports
constexpr uint64_t kMaxSegments = 100000;  // element and data segments
constexpr uint64_t kMaxSegmentElements = 1 << 20;
constexpr uint64_t kMaxBrTableTargets = 1 << 20;  // each costs 28 bytes of interpreter code

class CountGuard : public wabt::BinaryReaderNop {
  public:
    std::string problem;

    // Malformed modules are the decoder's to report; nothing goes to stderr from here.
    bool OnError(const wabt::Error&) override { return true; }

    wabt::Result OnTypeCount(wabt::Index n) override { return limit("types", n, kMaxItems); }
    wabt::Result OnImportCount(wabt::Index n) override { return limit("imports", n, kMaxItems); }
    wabt::Result OnFunctionCount(wabt::Index n) override {
        return limit("functions", n, kMaxItems);
    }
    wabt::Result OnTableCount(wabt::Index n) override { return limit("tables", n, 100); }
    wabt::Result OnGlobalCount(wabt::Index n) override { return limit("globals", n, kMaxItems); }
    wabt::Result OnExportCount(wabt::Index n) override { return limit("exports", n, kMaxItems); }
    wabt::Result OnElemSegmentCount(wabt::Index n) override {
        return limit("element segments", n, kMaxSegments);
    }
    wabt::Result OnElemSegmentElemExprCount(wabt::Index, wabt::Index n) override {
        return limit("elements in one segment", n, kMaxSegmentElements);
    }
    wabt::Result OnDataSegmentCount(wabt::Index n) override {
        return limit("data segments", n, kMaxSegments);
    }
    wabt::Result OnBrTableExpr(wabt::Index targets, wabt::Index*, wabt::Index) override {
        br_table_targets_ += targets;
        return limit("br_table targets", br_table_targets_, kMaxBrTableTargets);
    }

  private:
    wabt::Result limit(const char* what, uint64_t n, uint64_t max) {
        if (n <= max) return wabt::Result::Ok;
        problem = "the module declares " + std::to_string(n) + " " + what +
                  "; the engine accepts at most " + std::to_string(max);
        return wabt::Result::Error;
    }
    uint64_t br_table_targets_ = 0;
};

}  // namespace

Expected<void> check_declared_counts(std::span<const uint8_t> binary) {
    CountGuard guard;
    wabt::ReadBinaryOptions options(wabt::Features(), nullptr, false, true, false);
    wabt::ReadBinary(binary.data(), binary.size(), &guard, options);
    if (!guard.problem.empty()) return fail(Failure::Kind::InvalidInput, guard.problem);
    return Ok{};
}

}  // namespace microvm::wasm
