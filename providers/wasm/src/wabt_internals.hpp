// Access to the few wabt 1.0.32 interpreter internals the engine needs and wabt keeps private:
//   - Thread::PushCall(DefinedFunc): enter a function without running it to completion, so the
//     engine can run the thread in fuel slices (Thread::Run(n)) and check its deadline between
//     slices. wabt's public Func::Call runs to completion and would hang on an infinite loop.
//   - Thread::frames_ / values_: raise the call-depth capacity and watch the value stack size.
//   - Thread::refs_: cleared between slices (engine.cpp run_sliced says why).
//   - Instance::funcs_: append the host function that rewritten memory.grow instructions call.
//   - Istream::data_: rewrite memory.grow into a call of that host function (same encoding size).
//   - Memory::data_ / pages_ / type_: extend a memory without zero-filling it (unfilled_memory.hpp).
// Implemented in wabt_internals.cpp (explicit instantiations must appear once per program).
#pragma once

#include <cstdint>
#include <vector>

#include "wabt/interp/interp.h"

namespace microvm::wasm::internals {

namespace wi = wabt::interp;

// Pushes a call frame for func (which takes no parameters) without running it.
wi::RunResult push_call(wi::Thread& t, const wi::DefinedFunc& func, wi::Trap::Ptr* trap);
std::vector<wi::Frame>& frames(wi::Thread& t);
std::vector<wi::Value>& values(wi::Thread& t);
std::vector<wi::u32>& refs(wi::Thread& t);
wi::RefVec& funcs(wi::Instance& i);
wi::Buffer& bytes(wi::Istream& s);
wi::Buffer& bytes(wi::Memory& m);
uint64_t& pages(wi::Memory& m);
wi::MemoryType& type(wi::Memory& m);

}  // namespace microvm::wasm::internals
