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
    for (const auto& t : d.tables) {
        if (t.type.limits.initial > limits::kMaxTableElements) return false;
    }
    return d.starts.empty() && (!m.start_func || *m.start_func < counts[0]) &&
           m.grow_hook_func == counts[0] && m.max_locals == max_locals;
}

}  // namespace

uint64_t module_checksum(std::string_view rest) {
    return checksum_of(rest);
}

std::optional<std::string> encode_module(const CompiledModule& module, std::string_view key) {
    Writer w;
    w.string(key);
    w.pod(static_cast<uint8_t>(module.start_func.has_value()));
    w.pod(module.start_func.value_or(0));
    w.pod(module.grow_hook_func);
    w.pod(module.max_locals);
    w.pod(static_cast<uint64_t>(module.footprint_bytes));
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
        module->footprint_bytes = static_cast<size_t>(r.pod<uint64_t>());
        get_desc(r, module->desc);
        if (!r.ok() || !r.at_end() || !consistent(*module)) return nullptr;
        return module;
    } catch (const std::exception&) {  // allocation failure: decode the module instead
        return nullptr;
    }
}

}  // namespace microvm::wasm
