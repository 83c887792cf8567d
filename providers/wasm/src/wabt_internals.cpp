// The access uses explicit template instantiation, which the standard exempts from access
// checking ([temp.explicit]): no "#define private public", no layout guessing. Pinned to Debian's
// wabt 1.0.32 (static_assert below): re-check these members when wabt is upgraded.
#include "wabt_internals.hpp"

#include <string_view>

#include "wabt/config.h"

static_assert(std::string_view(WABT_VERSION_STRING) == "1.0.32",
              "wabt_internals.cpp names wabt 1.0.32 private members; re-check them");

namespace microvm::wasm::internals {
namespace {

template <class Tag, typename Tag::type Member>
struct Grant {
    friend typename Tag::type access(Tag) { return Member; }
};

struct ThreadPushCall {
    using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc&, wi::Trap::Ptr*);
    friend type access(ThreadPushCall);
};
struct ThreadFrames {
    using type = std::vector<wi::Frame> wi::Thread::*;
    friend type access(ThreadFrames);
};
struct ThreadValues {
    using type = std::vector<wi::Value> wi::Thread::*;
    friend type access(ThreadValues);
};
struct ThreadRefs {
    using type = std::vector<wi::u32> wi::Thread::*;
    friend type access(ThreadRefs);
};
struct InstanceFuncs {
    using type = wi::RefVec wi::Instance::*;
    friend type access(InstanceFuncs);
};
struct IstreamData {
    using type = wi::Buffer wi::Istream::*;
    friend type access(IstreamData);
};
struct MemoryData {
    using type = wi::Buffer wi::Memory::*;
    friend type access(MemoryData);
};
struct MemoryPages {
    using type = uint64_t wi::Memory::*;
    friend type access(MemoryPages);
};
struct MemoryTypeOf {
    using type = wi::MemoryType wi::Memory::*;
    friend type access(MemoryTypeOf);
};

template struct Grant<ThreadPushCall, &wi::Thread::PushCall>;
template struct Grant<ThreadFrames, &wi::Thread::frames_>;
template struct Grant<ThreadValues, &wi::Thread::values_>;
template struct Grant<ThreadRefs, &wi::Thread::refs_>;
template struct Grant<InstanceFuncs, &wi::Instance::funcs_>;
template struct Grant<IstreamData, &wi::Istream::data_>;
template struct Grant<MemoryData, &wi::Memory::data_>;
template struct Grant<MemoryPages, &wi::Memory::pages_>;
template struct Grant<MemoryTypeOf, &wi::Memory::type_>;

}  // namespace

wi::RunResult push_call(wi::Thread& t, const wi::DefinedFunc& func, wi::Trap::Ptr* trap) {
    return (t.*access(ThreadPushCall{}))(func, trap);
}
std::vector<wi::Frame>& frames(wi::Thread& t) {
    return t.*access(ThreadFrames{});
}
std::vector<wi::Value>& values(wi::Thread& t) {
    return t.*access(ThreadValues{});
}
std::vector<wi::u32>& refs(wi::Thread& t) {
    return t.*access(ThreadRefs{});
}
wi::RefVec& funcs(wi::Instance& i) {
    return i.*access(InstanceFuncs{});
}
wi::Buffer& bytes(wi::Istream& s) {
    return s.*access(IstreamData{});
}
wi::Buffer& bytes(wi::Memory& m) {
    return m.*access(MemoryData{});
}
uint64_t& pages(wi::Memory& m) {
    return m.*access(MemoryPages{});
}
wi::MemoryType& type(wi::Memory& m) {
    return m.*access(MemoryTypeOf{});
}

}  // namespace microvm::wasm::internals
