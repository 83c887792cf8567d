// The outcome of a run in the engine's process (engine_process.hpp) as the bytes it reports to
// the host: a flat sequence of fixed fields and length-prefixed strings, read with every length
// checked against what is left and against its own bound, with no nesting and nothing allocated
// beyond the report's own size. (A general format was a way in: nested CBOR 100,000 deep
// overflowed the host's stack, and a report of empty maps took 170 times its size; red team,
// 2026-12-07.) Output is not in it: it went to the host as it was written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "engine.hpp"

namespace microvm::wasm {

std::string encode_report(const RunOutcome& outcome);

// nullopt unless the bytes are exactly one report within these bounds: a message of at most
// kMaxReportMessage bytes, at most rtfs::EffectLog::kMaxRecords records of texts within
// kMaxRecordText, a result of at most result_cap bytes. The records are marked
// reported_by_sandbox (the child's word).
inline constexpr size_t kMaxReportMessage = 64u << 10;
std::optional<RunOutcome> decode_report(std::string_view bytes, size_t result_cap);

}  // namespace microvm::wasm
