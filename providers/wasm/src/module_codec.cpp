// Layout (host byte order: the key names the binary that wrote it, so only this build reads it):
//   magic (8 bytes) | checksum of the rest (u64) | key | module fields | ModuleDesc fields
// Vectors and strings are a u32 count followed by the elements.
#include "module_codec.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec_io.hpp"
#include "compiled_module.hpp"
#include "module_compiler.hpp"
#include "engine_limits.hpp"
#include "wabt_internals.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;

constexpr char kMagic[codec::kMagicBytes] = {'M', 'V', 'W', 'A', 'S', 'M', 'C', '1'};

using codec::checksum_of;
using codec::Reader;
using codec::Writer;

// ---- encoding ----

void put_type(Writer& w, wabt::Type type) {
    w.pod(static_cast<int32_t>(static_cast<wabt::Type::Enum>(type)));
    w.pod(type.IsReferenceWithIndex() ? type.GetReferenceIndex() : wabt::kInvalidIndex);
}
void put_types(Writer& w, const wi::ValueTypes& types) {
    w.vec(types, [&](wabt::Type t) { put_type(w, t); });
}
void put_limits(Writer& w, const wabt::Limits& l) {
    w.pod(l.initial);
    w.pod(l.max);
    w.pod(static_cast<uint8_t>(l.has_max));
    w.pod(static_cast<uint8_t>(l.is_shared));
    w.pod(static_cast<uint8_t>(l.is_64));
}
void put_func_type(Writer& w, const wi::FuncType& t) {
    put_types(w, t.params);
    put_types(w, t.results);
}
void put_extern_type(Writer& w, const wi::ExternType* type) {
    if (!type) return w.refuse();
    w.pod(static_cast<uint32_t>(type->kind));
    switch (type->kind) {
        case wabt::ExternalKind::Func:
            return put_func_type(w, *wabt::cast<wi::FuncType>(type));
        case wabt::ExternalKind::Table: {
            auto* t = wabt::cast<wi::TableType>(type);
            put_type(w, t->element);
            return put_limits(w, t->limits);
        }
        case wabt::ExternalKind::Memory:
            return put_limits(w, wabt::cast<wi::MemoryType>(type)->limits);
        case wabt::ExternalKind::Global: {
            auto* t = wabt::cast<wi::GlobalType>(type);
            put_type(w, t->type);
            return w.pod(static_cast<uint32_t>(t->mut));
        }
        case wabt::ExternalKind::Tag: {
            auto* t = wabt::cast<wi::TagType>(type);
            w.pod(static_cast<uint32_t>(t->attr));
            return put_types(w, t->signature);
        }
    }
    w.refuse();
}
void put_func(Writer& w, const wi::FuncDesc& f) {
    put_func_type(w, f.type);
    w.vec(f.locals, [&](const wi::LocalDesc& l) {
        put_type(w, l.type);
        w.pod(l.count);
        w.pod(l.end);
    });
    w.pod(f.code_offset);
    w.vec(f.handlers, [&](const wi::HandlerDesc& h) {
        w.pod(static_cast<uint32_t>(h.kind));
        w.pod(h.try_start_offset);
        w.pod(h.try_end_offset);
        w.vec(h.catches, [&](const wi::CatchDesc& c) {
            w.pod(c.tag_index);
            w.pod(c.offset);
        });
        w.pod(h.catch_all_offset);  // or delegate_handler_index: the same u32
        w.pod(h.values);
        w.pod(h.exceptions);
    });
}

void put_desc(Writer& w, const wi::ModuleDesc& d) {
    w.vec(d.func_types, [&](const wi::FuncType& t) { put_func_type(w, t); });
    w.vec(d.imports, [&](const wi::ImportDesc& i) {
        w.string(i.type.module);
        w.string(i.type.name);
        put_extern_type(w, i.type.type.get());
    });
    w.vec(d.funcs, [&](const wi::FuncDesc& f) { put_func(w, f); });
    w.vec(d.tables, [&](const wi::TableDesc& t) { put_extern_type(w, &t.type); });
    w.vec(d.memories, [&](const wi::MemoryDesc& m) { put_extern_type(w, &m.type); });
    w.vec(d.globals, [&](const wi::GlobalDesc& g) {
        put_extern_type(w, &g.type);
        put_func(w, g.init_func);
    });
    w.vec(d.tags, [&](const wi::TagDesc& t) { put_extern_type(w, &t.type); });
    w.vec(d.exports, [&](const wi::ExportDesc& e) {
        w.string(e.type.name);
        put_extern_type(w, e.type.type.get());
        w.pod(e.index);
    });
    w.vec(d.starts, [&](const wi::StartDesc& s) { w.pod(s.func_index); });
    w.vec(d.elems, [&](const wi::ElemDesc& e) {
        w.vec(e.elements, [&](const wi::ElemExpr& x) {
            w.pod(static_cast<uint32_t>(x.kind));
            w.pod(x.index);
        });
        put_type(w, e.type);
        w.pod(static_cast<uint32_t>(e.mode));
        w.pod(e.table_index);
        put_func(w, e.init_func);
    });
    w.vec(d.datas, [&](const wi::DataDesc& x) {
        w.bytes(x.data.data(), x.data.size());
        w.pod(static_cast<uint32_t>(x.mode));
        w.pod(x.memory_index);
        put_func(w, x.init_func);
    });
    // Istream has no const access to its bytes; reading them does not change the module.
    const wi::Buffer& code = internals::bytes(const_cast<wi::Istream&>(d.istream));
    w.bytes(code.data(), code.size());
}

// ---- decoding ----

wabt::Type get_type(Reader& r) {
    auto code = r.pod<int32_t>();
    auto index = r.pod<uint32_t>();
    switch (code) {
        case wabt::Type::I32:
        case wabt::Type::I64:
        case wabt::Type::F32:
        case wabt::Type::F64:
        case wabt::Type::V128:
        case wabt::Type::FuncRef:
        case wabt::Type::ExternRef:
            return wabt::Type(static_cast<wabt::Type::Enum>(code));
        case wabt::Type::Reference:
            return wabt::Type(wabt::Type::Reference, index);
        default:
            r.refuse();
            return wabt::Type(wabt::Type::I32);
    }
}
wi::ValueTypes get_types(Reader& r) {
    return r.vec<wabt::Type>(8, [&] { return get_type(r); });
}
bool get_bool(Reader& r) {
    auto b = r.pod<uint8_t>();
    if (b > 1) r.refuse();
    return b == 1;
}
wabt::Limits get_limits(Reader& r) {
    wabt::Limits l;
    l.initial = r.pod<uint64_t>();
    l.max = r.pod<uint64_t>();
    l.has_max = get_bool(r);
    l.is_shared = get_bool(r);
    l.is_64 = get_bool(r);
    return l;
}
wi::FuncType get_func_type(Reader& r) {
    wi::ValueTypes params = get_types(r);
    wi::ValueTypes results = get_types(r);
    return wi::FuncType(std::move(params), std::move(results));
}
std::unique_ptr<wi::ExternType> get_extern_type(Reader& r) {
    switch (r.enumerator(wabt::ExternalKind::Tag)) {
        case wabt::ExternalKind::Func:
            return std::make_unique<wi::FuncType>(get_func_type(r));
        case wabt::ExternalKind::Table: {
            wabt::Type element = get_type(r);
            return std::make_unique<wi::TableType>(element, get_limits(r));
        }
        case wabt::ExternalKind::Memory:
            return std::make_unique<wi::MemoryType>(get_limits(r));
        case wabt::ExternalKind::Global: {
            wabt::Type type = get_type(r);
            return std::make_unique<wi::GlobalType>(type, r.enumerator(wi::Mutability::Var));
        }
        case wabt::ExternalKind::Tag: {
            auto attr = r.enumerator(wi::TagAttr::Exception);
            return std::make_unique<wi::TagType>(attr, get_types(r));
        }
    }
    r.refuse();
    return nullptr;
}
// The type of a table, memory, global or tag: of the expected kind, or the reader fails.
template <class T>
T get_extern_as(Reader& r, T fallback) {
    auto type = get_extern_type(r);
    if (!r.ok() || !type || type->kind != T::skind) {
        r.refuse();
        return fallback;
    }
    return *wabt::cast<T>(type.get());
}
wi::FuncDesc get_func(Reader& r) {
    wi::FuncType type = get_func_type(r);
    auto locals = r.vec<wi::LocalDesc>(16, [&] {
        wi::LocalDesc l;
        l.type = get_type(r);
        l.count = r.pod<uint32_t>();
        l.end = r.pod<uint32_t>();
        return l;
    });
    auto code_offset = r.pod<uint32_t>();
    auto handlers = r.vec<wi::HandlerDesc>(28, [&] {
        wi::HandlerDesc h;
        h.kind = r.enumerator(wi::HandlerKind::Delegate);
        h.try_start_offset = r.pod<uint32_t>();
        h.try_end_offset = r.pod<uint32_t>();
        h.catches = r.vec<wi::CatchDesc>(8, [&] {
            wi::CatchDesc c;
            c.tag_index = r.pod<uint32_t>();
            c.offset = r.pod<uint32_t>();
            return c;
        });
        h.catch_all_offset = r.pod<uint32_t>();
        h.values = r.pod<uint32_t>();
        h.exceptions = r.pod<uint32_t>();
        return h;
    });
    return wi::FuncDesc{std::move(type), std::move(locals), code_offset, std::move(handlers)};
}

void get_desc(Reader& r, wi::ModuleDesc& d) {
    const wi::FuncType no_func({}, {});  // stands in for a type that failed to read
    d.func_types = r.vec<wi::FuncType>(8, [&] { return get_func_type(r); });
    d.imports = r.vec<wi::ImportDesc>(12, [&] {
        std::string module = r.string();
        std::string name = r.string();
        auto type = get_extern_type(r);
        if (!type) type = no_func.Clone();
        return wi::ImportDesc{wi::ImportType(std::move(module), std::move(name), std::move(type))};
    });
    d.funcs = r.vec<wi::FuncDesc>(16, [&] { return get_func(r); });
    d.tables = r.vec<wi::TableDesc>(31, [&] {
        return wi::TableDesc{get_extern_as(r, wi::TableType(wabt::Type::FuncRef, {}))};
    });
    d.memories = r.vec<wi::MemoryDesc>(23, [&] {
        return wi::MemoryDesc{get_extern_as(r, wi::MemoryType({}))};
    });
    d.globals = r.vec<wi::GlobalDesc>(32, [&] {
        auto type = get_extern_as(r, wi::GlobalType(wabt::Type::I32, wi::Mutability::Const));
        return wi::GlobalDesc{type, get_func(r)};
    });
    d.tags = r.vec<wi::TagDesc>(12, [&] {
        return wi::TagDesc{get_extern_as(r, wi::TagType(wi::TagAttr::Exception, {}))};
    });
    d.exports = r.vec<wi::ExportDesc>(12, [&] {
        std::string name = r.string();
        auto type = get_extern_type(r);
        if (!type) type = no_func.Clone();
        auto index = r.pod<uint32_t>();
        return wi::ExportDesc{wi::ExportType(std::move(name), std::move(type)), index};
    });
    d.starts = r.vec<wi::StartDesc>(4, [&] { return wi::StartDesc{r.pod<uint32_t>()}; });
    d.elems = r.vec<wi::ElemDesc>(32, [&] {
        auto elements = r.vec<wi::ElemExpr>(8, [&] {
            wi::ElemExpr x;
            x.kind = r.enumerator(wi::ElemKind::RefFunc);
            x.index = r.pod<uint32_t>();
            return x;
        });
        wabt::Type type = get_type(r);
        auto mode = r.enumerator(wabt::SegmentKind::Declared);
        auto table_index = r.pod<uint32_t>();
        return wi::ElemDesc{std::move(elements), type, mode, table_index, get_func(r)};
    });
    d.datas = r.vec<wi::DataDesc>(24, [&] {
        std::string_view bytes = r.bytes();
        auto mode = r.enumerator(wabt::SegmentKind::Declared);
        auto memory_index = r.pod<uint32_t>();
        return wi::DataDesc{wi::Buffer(bytes.begin(), bytes.end()), mode, memory_index,
                            get_func(r)};
    });
    std::string_view code = r.bytes();
    internals::bytes(d.istream).assign(code.begin(), code.end());
}

// ---- checking the instruction stream against the module ----
//
// wabt's interpreter executes the istream as it is: an opcode it does not know aborts the host,
// an index it reads (function, global, memory, type, segment) is used unchecked, a branch target
// becomes the program counter, and a local's immediate is a depth into the value stack. So a
// decoded module is accepted only when its code is as wabt's compiler would have emitted it for a
// numeric-only module: every opcode one of those listed in shapes() below (anything else:
// nullptr, and the module is decoded afresh), every index inside the module's own spaces, every
// branch on an instruction boundary of the same function, and the value-stack height at each
// reachable instruction (the same on every path to it) covering what the instruction pops and the
// local depths it names. One pass over the stream, one visit per reachable instruction.

// Most instructions have a fixed effect on the value stack and at most two immediates that index
// one of the module's spaces: those are checked from their table entry alone (Shape::Simple).
enum class Shape : uint8_t {
    Rejected,  // not checked here: the module is decoded afresh
    Simple,
    Unreachable, Return, Br, BrIf, BrTable, Call, CallImport, CallIndirect, Alloca, DropKeep,
};
// What an immediate must be below.
enum class Space : uint8_t {
    Any,    // a constant or a memory offset
    Depth,  // a local: a depth into the value stack, 1 (the top) up to the height
    Global, Memory, Data,
    Zero,   // interp_catch_drop: without exception handling there is nothing to drop
    kCount,
};
struct OpShape {
    Shape shape = Shape::Rejected;
    uint8_t immediate_words = 0;  // u32 words after the opcode
    uint8_t pops = 0, pushes = 0;
    Space a = Space::Any, b = Space::Any;  // the first two immediates
    bool in_init = false;  // may appear in an init expression
};
constexpr uint32_t kOpcodes = wabt::Opcode::Invalid;

// The operands of a comparison, arithmetic or conversion instruction (binary encoding 0x45-0xc4,
// and the saturating truncations 0xfc 0x00-0x07): scalars in, one scalar out, no immediate; 0 for
// any other instruction. From the wasm specification's opcode layout (wabt's opcode table lists
// two operands for the unary float instructions).
uint8_t scalar_operands(uint8_t prefix, uint32_t code) {
    if (prefix == 0xfc) return code <= 0x07 ? 1 : 0;
    if (prefix != 0 || code < 0x45 || code > 0xc4) return 0;
    constexpr struct { uint32_t last; uint8_t operands; } kRuns[] = {
        {0x45, 1}, {0x4f, 2},  // i32.eqz, i32 comparisons
        {0x50, 1}, {0x5a, 2},  // i64.eqz, i64 comparisons
        {0x66, 2},             // f32 and f64 comparisons
        {0x69, 1}, {0x78, 2},  // i32 clz/ctz/popcnt, i32 binary
        {0x7b, 1}, {0x8a, 2},  // i64 clz/ctz/popcnt, i64 binary
        {0x91, 1}, {0x98, 2},  // f32 unary, f32 binary
        {0x9f, 1}, {0xa6, 2},  // f64 unary, f64 binary
        {0xc4, 1},             // conversions, reinterpretations, sign extensions
    };
    for (const auto& run : kRuns) {
        if (code <= run.last) return run.operands;
    }
    return 0;
}

const std::vector<OpShape>& shapes() {
    static const std::vector<OpShape> table = [] {
        using O = wabt::Opcode;
        std::vector<OpShape> t(kOpcodes);
        for (uint32_t e = 0; e < kOpcodes; ++e) {
            O op(static_cast<O::Enum>(e));
            if (uint8_t pops = scalar_operands(op.GetPrefix(), op.GetCode())) {
                t[e] = {Shape::Simple, 0, pops, 1, Space::Any, Space::Any, true};
            }
        }
        auto simple = [&](O::Enum op, uint8_t words, uint8_t pops, uint8_t pushes,
                          Space a = Space::Any, Space b = Space::Any, bool in_init = false) {
            t[op] = {Shape::Simple, words, pops, pushes, a, b, in_init};
        };
        auto special = [&](O::Enum op, Shape s, uint8_t words) { t[op] = {s, words}; };
        simple(O::Nop, 0, 0, 0, Space::Any, Space::Any, true);
        simple(O::Drop, 0, 1, 0);
        simple(O::Select, 0, 3, 1);
        simple(O::LocalGet, 1, 0, 1, Space::Depth);
        simple(O::LocalSet, 1, 1, 0, Space::Depth);  // the depth counts the value it pops
        simple(O::LocalTee, 1, 0, 0, Space::Depth);
        simple(O::GlobalGet, 1, 0, 1, Space::Global, Space::Any, true);
        simple(O::GlobalSet, 1, 1, 0, Space::Global);
        for (O::Enum op : {O::I32Load, O::I64Load, O::F32Load, O::F64Load, O::I32Load8S,
                           O::I32Load8U, O::I32Load16S, O::I32Load16U, O::I64Load8S, O::I64Load8U,
                           O::I64Load16S, O::I64Load16U, O::I64Load32S, O::I64Load32U}) {
            simple(op, 2, 1, 1, Space::Memory);  // memory, offset
        }
        for (O::Enum op : {O::I32Store, O::I64Store, O::F32Store, O::F64Store, O::I32Store8,
                           O::I32Store16, O::I64Store8, O::I64Store16, O::I64Store32}) {
            simple(op, 2, 2, 0, Space::Memory);
        }
        simple(O::MemorySize, 1, 0, 1, Space::Memory);
        // memory.init, memory.copy and memory.fill: compiled code calls the engine's hooks.
        simple(O::DataDrop, 1, 0, 0, Space::Data);
        simple(O::I32Const, 1, 0, 1, Space::Any, Space::Any, true);
        simple(O::F32Const, 1, 0, 1, Space::Any, Space::Any, true);
        simple(O::I64Const, 2, 0, 1, Space::Any, Space::Any, true);
        simple(O::F64Const, 2, 0, 1, Space::Any, Space::Any, true);
        simple(O::InterpCatchDrop, 1, 0, 0, Space::Zero);
        special(O::Unreachable, Shape::Unreachable, 0);
        special(O::Return, Shape::Return, 0);
        t[O::Return].in_init = true;
        special(O::Br, Shape::Br, 1);
        special(O::BrIf, Shape::BrIf, 1);
        special(O::InterpBrUnless, Shape::BrIf, 1);
        special(O::BrTable, Shape::BrTable, 1);
        special(O::Call, Shape::Call, 1);
        special(O::InterpCallImport, Shape::CallImport, 1);
        special(O::CallIndirect, Shape::CallIndirect, 2);  // table, type
        special(O::InterpAlloca, Shape::Alloca, 1);
        special(O::InterpDropKeep, Shape::DropKeep, 2);
        return t;
    }();
    return table;
}

bool is_scalar(wabt::Type t) {
    return t == wabt::Type::I32 || t == wabt::Type::I64 || t == wabt::Type::F32 ||
           t == wabt::Type::F64;
}
bool scalars_only(const wi::FuncType& t) {
    return std::all_of(t.params.begin(), t.params.end(), is_scalar) &&
           std::all_of(t.results.begin(), t.results.end(), is_scalar);
}
bool same_type(const wi::FuncType& a, const wi::FuncType& b) {
    return a.params == b.params && a.results == b.results;
}

// The module's index spaces, as the interpreter's instance will hold them.
struct Spaces {
    std::vector<const wi::FuncType*> funcs;  // imported, then defined
    std::vector<const wi::FuncType*> types;  // the type section, for call_indirect
    uint32_t imported_funcs = 0;
    uint32_t globals = 0, imported_globals = 0;
    uint32_t memories = 0, tables = 0, func_types = 0, datas = 0;
    uint32_t grow_hook = 0;
};

// A stretch of code entered at its start with `params` values on the stack (relative to the
// frame), left by Return with `results`.
struct Entry {
    uint32_t offset;
    uint32_t params, results;
    bool init;               // an init expression: constants, global.get, numeric ops only
    uint32_t globals_known;  // the globals an init expression may read (those set up before it)
};

// Walks each entry's code once, in order. The height at an instruction comes from the one before
// it or from a branch seen earlier (forward); a backward branch must land on an instruction
// already walked with the same height. Code after an unconditional transfer that no earlier branch
// targets is unreachable (wabt emits it): its opcodes are checked, nothing else, and no branch may
// land on it later.
class CodeChecker {
  public:
    CodeChecker(const wi::Buffer& code, const Spaces& s)
        : code_(code), s_(s), table_(shapes().data()) {}

    bool check(std::vector<Entry> entries) {
        if (code_.size() % 4 != 0 || entries.empty()) return false;
        words_ = static_cast<uint32_t>(code_.size() / 4);
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.offset < b.offset; });
        if (entries[0].offset % 4 != 0 || !walk(nullptr, 0, entries[0].offset / 4)) return false;
        for (size_t i = 0; i < entries.size(); ++i) {
            uint32_t end = i + 1 < entries.size() ? entries[i + 1].offset : words_ * 4;
            if (entries[i].offset == end || end % 4 != 0) return false;  // one offset twice
            if (!walk(&entries[i], entries[i].offset / 4, end / 4)) return false;
        }
        return true;
    }

  private:
    static constexpr int32_t kUnvisited = -1;  // not walked (yet), and no branch to it seen
    static constexpr int32_t kInside = -2;     // an immediate: no instruction starts here
    static constexpr int32_t kDead = -3;       // an unreachable instruction
    static constexpr uint32_t kMaxHeight = 1u << 24;
    static constexpr uint32_t kBrTableEntryWords = wi::Istream::kBrTableEntrySize / 4;

    uint32_t word(uint32_t w) const {
        uint32_t v;
        std::memcpy(&v, code_.data() + size_t{w} * 4, 4);
        return v;
    }

    // e is nullptr for code no entry reaches (before the first one).
    bool walk(const Entry* e, uint32_t begin, uint32_t end) {
        if (e && e->params > kMaxHeight) return false;
        entry_ = e;
        begin_ = begin;
        end_ = end;
        // Per stretch (branches stay inside it), so the heights stay in the cache.
        height_.assign(end - begin, kUnvisited);
        int32_t* const height = height_.data();  // indexed by word - begin
        if (e) {
            limit_[static_cast<size_t>(Space::Any)] = uint64_t{1} << 32;
            limit_[static_cast<size_t>(Space::Global)] = e->init ? e->globals_known : s_.globals;
            limit_[static_cast<size_t>(Space::Memory)] = s_.memories;
            limit_[static_cast<size_t>(Space::Data)] = s_.datas;
            limit_[static_cast<size_t>(Space::Zero)] = 1;
        }
        bool live = e != nullptr;
        const bool init = e && e->init;
        uint64_t h = e ? e->params : 0;
        uint64_t* limit = limit_;
        for (uint32_t w = begin; w < end;) {
            const uint32_t op = word(w);
            if (op >= kOpcodes) return false;
            const OpShape& shape = table_[op];
            if (shape.shape == Shape::Rejected) return false;
            const uint32_t size = 1u + shape.immediate_words;
            if (end - w < size) return false;
            int32_t& at = height[w - begin];
            if (at >= 0) {  // a forward branch's target
                if (live && static_cast<uint64_t>(at) != h) return false;
                h = static_cast<uint64_t>(at);
                live = true;
            } else {
                at = live ? static_cast<int32_t>(h) : kDead;
            }
            for (uint32_t i = 1; i < size; ++i) {
                if (height[w - begin + i] != kUnvisited) return false;  // into an immediate
                height[w - begin + i] = kInside;
            }
            if (live) {
                if (init && !shape.in_init) return false;  // run before the engine's functions
                if (shape.shape == Shape::Simple) {
                    const uint64_t a = size > 1 ? word(w + 1) : 0;
                    const uint64_t b = size > 2 ? word(w + 2) : 0;
                    limit[static_cast<size_t>(Space::Depth)] = h + 1;  // 1 <= a <= h
                    if (a >= limit[static_cast<size_t>(shape.a)] ||
                        b >= limit[static_cast<size_t>(shape.b)] ||
                        (shape.a == Space::Depth && a == 0) || h < shape.pops) {
                        return false;
                    }
                    h = h - shape.pops + shape.pushes;
                    if (h > kMaxHeight) return false;
                } else if (!step(w, h, live)) {
                    return false;
                }
            }
            w += size;
        }
        return !live;  // control never runs off the end into the next function
    }

    // A branch from word `from` to byte offset `target` with height h.
    bool branch(uint32_t from, uint32_t target, uint64_t h) {
        if (target % 4 != 0) return false;
        const uint32_t t = target / 4;
        if (t < begin_ || t >= end_) return false;
        int32_t& at = height_[t - begin_];
        if (t > from) {  // not walked yet: the walk checks it is an instruction start
            if (at == kUnvisited) at = static_cast<int32_t>(h);
            return static_cast<uint64_t>(at) == h;
        }
        return at >= 0 && static_cast<uint64_t>(at) == h;
    }

    // The instruction at w (not Simple), entered live with height h: h becomes the height after
    // it, live false when control does not fall through.
    bool step(uint32_t w, uint64_t& h, bool& live) {
        const OpShape& op = table_[word(w)];
        const uint64_t a = op.immediate_words > 0 ? word(w + 1) : 0;
        const uint64_t b = op.immediate_words > 1 ? word(w + 2) : 0;
        auto pop_push = [&](uint64_t pops, uint64_t pushes) {
            if (h < pops) return false;
            h = h - pops + pushes;
            return h <= kMaxHeight;
        };
        auto call = [&](const wi::FuncType& t, uint64_t extra_pops) {
            return pop_push(t.params.size() + extra_pops, t.results.size());
        };
        const uint32_t next = w + 1 + op.immediate_words;
        switch (op.shape) {
            case Shape::Rejected:
            case Shape::Simple:
                return false;
            case Shape::Unreachable:
                live = false;
                return true;
            case Shape::Return:
                live = false;
                return h == entry_->results;
            case Shape::Br:
                live = false;
                return branch(w, static_cast<uint32_t>(a), h);
            case Shape::BrIf:
                return pop_push(1, 0) && branch(w, static_cast<uint32_t>(a), h);
            case Shape::BrTable: {
                // The key selects one of a + 1 entries after the instruction (clamped to the
                // last), each Istream::kBrTableEntrySize bytes: interp_drop_keep,
                // interp_catch_drop, br. The last is emitted as any branch, so only its start is
                // fixed. Entries hold no br_table, so the entries of all br_tables are disjoint.
                live = false;
                if (!pop_push(1, 0) || a + 1 > (end_ - next) / kBrTableEntryWords) return false;
                for (uint64_t i = 0; i <= a; ++i) {
                    uint32_t at = static_cast<uint32_t>(next + i * kBrTableEntryWords);
                    if (i < a && (word(at) != wabt::Opcode::InterpDropKeep ||
                                  word(at + 3) != wabt::Opcode::InterpCatchDrop ||
                                  word(at + 5) != wabt::Opcode::Br)) {
                        return false;
                    }
                    if (!branch(w, at * 4, h)) return false;
                }
                return true;
            }
            case Shape::Call:  // a defined function (the interpreter takes it as one)
                return a >= s_.imported_funcs && a < s_.funcs.size() && call(*s_.funcs[a], 0);
            case Shape::CallImport:
                if (a < s_.imported_funcs) return call(*s_.funcs[a], 0);
                // The engine's hooks, appended when there is a memory (CompiledModule): memory.grow
                // (delta) -> old; memory.fill (d, value, n); memory.copy and memory.init of each
                // data segment (d, s, n) -> a dummy the rewritten code drops. The table hooks
                // after them are not in stored code (encode_module refuses table_ops).
                if (s_.memories == 0 || a < s_.grow_hook) return false;
                if (a == s_.grow_hook) return pop_push(1, 1);
                if (a == s_.grow_hook + 1) return pop_push(3, 0);
                return a - s_.grow_hook < uint64_t{3} + s_.datas && pop_push(3, 1);
            case Shape::CallIndirect:
                return a < s_.tables && b < s_.types.size() && call(*s_.types[b], 1);
            case Shape::Alloca:
                return pop_push(0, a);
            case Shape::DropKeep:
                return a + b <= h && pop_push(a, 0);
        }
        return false;
    }

    const wi::Buffer& code_;
    const Spaces& s_;
    const OpShape* table_;
    uint32_t words_ = 0, begin_ = 0, end_ = 0;
    const Entry* entry_ = nullptr;
    std::vector<int32_t> height_;  // of the stretch walked, from its first word
    uint64_t limit_[static_cast<size_t>(Space::kCount)] = {};  // per space, for the entry walked
};

// The instruction stream and everything around it that the interpreter trusts (see above), and
// the restriction to what the check understands: scalar values only (no references, vectors,
// exception handling or imported tables).
bool code_checks_out(CompiledModule& m) {
    wi::ModuleDesc& d = m.desc;
    Spaces s;
    for (const auto& t : d.func_types) {
        if (!scalars_only(t)) return false;
        s.types.push_back(&t);
    }
    std::vector<wi::FuncType> imported_types;
    imported_types.reserve(d.imports.size());
    for (const auto& i : d.imports) {
        const wi::ExternType* type = i.type.type.get();
        switch (type->kind) {
            case wabt::ExternalKind::Func:
                imported_types.push_back(*wabt::cast<wi::FuncType>(type));
                if (!scalars_only(imported_types.back())) return false;
                ++s.imported_funcs;
                break;
            case wabt::ExternalKind::Global:
                if (!is_scalar(wabt::cast<wi::GlobalType>(type)->type)) return false;
                ++s.imported_globals;
                break;
            case wabt::ExternalKind::Memory:
                ++s.memories;
                break;
            default:  // tables and tags
                return false;
        }
    }
    for (const auto& t : imported_types) s.funcs.push_back(&t);
    for (const auto& f : d.funcs) {
        if (!scalars_only(f.type)) return false;
        for (const auto& l : f.locals) if (!is_scalar(l.type)) return false;
        s.funcs.push_back(&f.type);
    }
    for (const auto& g : d.globals) if (!is_scalar(g.type.type)) return false;
    for (const auto& t : d.tables) if (t.type.element != wabt::Type::FuncRef) return false;
    for (const auto& e : d.elems) if (e.type != wabt::Type::FuncRef) return false;
    if (!d.tags.empty()) return false;
    s.globals = s.imported_globals + static_cast<uint32_t>(d.globals.size());
    s.memories += static_cast<uint32_t>(d.memories.size());
    s.tables = static_cast<uint32_t>(d.tables.size());
    s.func_types = static_cast<uint32_t>(d.func_types.size());
    s.datas = static_cast<uint32_t>(d.datas.size());
    s.grow_hook = m.grow_hook_func;

    // What the engine calls: exports and the start function, with the types they really have.
    for (const auto& x : d.exports) {
        if (x.type.type->kind == wabt::ExternalKind::Func &&
            !same_type(*wabt::cast<wi::FuncType>(x.type.type.get()), *s.funcs[x.index])) {
            return false;
        }
    }
    if (m.start_func && !s.funcs[*m.start_func]->params.empty()) return false;

    std::vector<Entry> entries;
    for (const auto& f : d.funcs) {
        entries.push_back({f.code_offset, static_cast<uint32_t>(f.type.params.size()),
                           static_cast<uint32_t>(f.type.results.size()), false, 0});
    }
    // Instantiation calls each init expression as a function () -> (value), once the globals
    // before it exist, and takes its one result.
    auto init = [&](const wi::FuncDesc& f, uint32_t globals_known) {
        if (!f.type.params.empty() || f.type.results.size() != 1 ||
            !is_scalar(f.type.results[0]) || !f.locals.empty()) {
            return false;
        }
        entries.push_back({f.code_offset, 0, 1, true, globals_known});
        return true;
    };
    for (uint32_t i = 0; i < d.globals.size(); ++i) {
        if (!init(d.globals[i].init_func, s.imported_globals + i)) return false;
    }
    for (const auto& e : d.elems) {
        if (e.mode == wabt::SegmentKind::Active && !init(e.init_func, s.globals)) return false;
    }
    for (const auto& x : d.datas) {
        if (x.mode == wabt::SegmentKind::Active && !init(x.init_func, s.globals)) return false;
    }
    return CodeChecker(internals::bytes(d.istream), s).check(std::move(entries));
}

// What the interpreter would otherwise trust blindly: every code offset inside the instruction
// stream, every index inside its space, the engine's own bounds (module_compiler.cpp).
bool consistent(const CompiledModule& m) {
    const wi::ModuleDesc& d = m.desc;
    const uint32_t code_end = d.istream.end();
    uint32_t counts[5] = {};  // per ExternalKind: imported + defined
    for (const auto& i : d.imports) ++counts[static_cast<size_t>(i.type.type->kind)];
    counts[0] += static_cast<uint32_t>(d.funcs.size());
    counts[1] += static_cast<uint32_t>(d.tables.size());
    counts[2] += static_cast<uint32_t>(d.memories.size());
    counts[3] += static_cast<uint32_t>(d.globals.size());
    counts[4] += static_cast<uint32_t>(d.tags.size());
    auto func_ok = [&](const wi::FuncDesc& f) {
        if (f.code_offset >= code_end) return false;
        uint32_t end = 0;
        for (const auto& l : f.locals) {
            if (l.end < end || l.end - end != l.count) return false;
            end = l.end;
        }
        if (f.type.params.size() + end > limits::kMaxLocalsPerFunction) return false;
        // wabt leaves some handler offsets at kInvalidOffset (a try whose end it never records).
        auto offset_ok = [&](uint32_t at) {
            return at <= code_end || at == wi::Istream::kInvalidOffset;
        };
        for (const auto& h : f.handlers) {
            if (!offset_ok(h.try_start_offset) || !offset_ok(h.try_end_offset)) return false;
            for (const auto& c : h.catches) {
                if (!offset_ok(c.offset) || c.tag_index >= counts[4]) return false;
            }
        }
        return true;
    };
    uint32_t max_locals = 0;
    for (const auto& f : d.funcs) {
        if (!func_ok(f)) return false;
        uint32_t n = static_cast<uint32_t>(f.type.params.size()) +
                     (f.locals.empty() ? 0 : f.locals.back().end);
        max_locals = std::max(max_locals, n);
    }
    for (const auto& g : d.globals) if (!func_ok(g.init_func)) return false;
    for (const auto& e : d.elems) {
        if (e.mode == wabt::SegmentKind::Active &&
            (e.table_index >= counts[1] || !func_ok(e.init_func))) {
            return false;
        }
        for (const auto& x : e.elements) {
            if (x.kind == wi::ElemKind::RefFunc && x.index >= counts[0]) return false;
        }
    }
    for (const auto& x : d.datas) {
        if (x.mode == wabt::SegmentKind::Active &&
            (x.memory_index >= counts[2] || !func_ok(x.init_func))) {
            return false;
        }
    }
    for (const auto& e : d.exports) {
        if (e.index >= counts[static_cast<size_t>(e.type.type->kind)]) return false;
    }
    uint64_t table_elements = 0;
    for (const auto& t : d.tables) table_elements += t.type.limits.initial;
    if (table_elements > limits::kMaxTableElements) return false;
    return d.starts.empty() && (!m.start_func || *m.start_func < counts[0]) &&
           m.grow_hook_func == counts[0] && m.max_locals == max_locals;
}

}  // namespace

uint64_t module_checksum(std::string_view rest) {
    return checksum_of(rest);
}

std::optional<std::string> encode_module(const CompiledModule& module, std::string_view key) {
    if (!module.table_ops.empty()) return std::nullopt;  // tables are outside the code check
    Writer w;
    w.string(key);
    w.pod(static_cast<uint8_t>(module.start_func.has_value()));
    w.pod(module.start_func.value_or(0));
    w.pod(module.grow_hook_func);
    w.pod(module.max_locals);
    w.pod(uint64_t{0});  // reserved: was the footprint, which the decoder now measures itself
    put_desc(w, module.desc);
    if (!w.fits()) return std::nullopt;
    return codec::seal(kMagic, w.take());
}

std::shared_ptr<const CompiledModule> decode_module(std::string_view bytes, std::string_view key) {
    std::string_view body;
    if (!codec::unseal(bytes, kMagic, body)) return nullptr;
    Reader r(body);
    if (r.bytes() != key || !r.ok()) return nullptr;
    try {
        auto module = std::make_shared<CompiledModule>();
        if (get_bool(r)) module->start_func = r.pod<uint32_t>();
        else (void)r.pod<uint32_t>();
        module->grow_hook_func = r.pod<uint32_t>();
        module->max_locals = r.pod<uint32_t>();
        (void)r.pod<uint64_t>();  // reserved
        get_desc(r, module->desc);
        if (!r.ok() || !r.at_end() || !consistent(*module) || !code_checks_out(*module)) {
            return nullptr;
        }
        // A forged figure let a compiler's process fill the host's cache past its bound (red
        // team, 2026-12-07).
        module->footprint_bytes = module_footprint(*module);
        return module;
    } catch (const std::exception&) {  // allocation failure: decode the module instead
        return nullptr;
    }
}

}  // namespace microvm::wasm
