#include "eval/patterns.hpp"

#include "eval/nodes.hpp"
#include "stdlib/stdlib.hpp"

namespace rtfs {

namespace {

const Value* map_get(const Value& m, const Value& key) {
    return m.is(Type::Map) ? m.map().find(key) : nullptr;
}

// The map a list of keys and values makes (later keys win), charged before it is built.
Result<Value> keyword_arguments(const Value& list) {
    const auto items = list.items();
    if (items.size() % 2 != 0)
        return unexpected(Error(ErrorKind::TypeError,
                                "Type error in destructuring: keyword arguments need key/value pairs, got " +
                                    std::to_string(items.size()) + " values"));
    RTFS_CHECK(charge_alloc(static_cast<int64_t>(items.size() / 2 * (sizeof(std::pair<Value, Value>) + kHashNodeBytes))));
    std::vector<std::pair<Value, Value>> entries;
    entries.reserve(items.size() / 2);
    for (size_t i = 0; i < items.size(); i += 2) entries.emplace_back(items[i], items[i + 1]);
    return make_map(std::move(entries));
}

}  // namespace

Expected<void, Error> destructure(const Pattern& p, const Value& v, Interpreter::State& st) {
    switch (p.kind) {
        case Pattern::Kind::Ignore:
        case Pattern::Kind::Bind:
            if (p.type) {
                RTFS_TRY(bool ok, conforms_binding(v, *p.type, p.rest));
                if (!ok) return unexpected(annotation_error(p.name, *p.type, v, p.rest));
            }
            if (p.kind == Pattern::Kind::Bind) st.local(p.slot) = v;
            return Ok{};
        case Pattern::Kind::Literal:
        case Pattern::Kind::As: return Ok{};  // match-only kinds
        case Pattern::Kind::Seq: {
            if (!v.is_nil() && !v.is_seq() && !v.is(Type::Set) && !v.is(Type::String))
                return unexpected(Error(ErrorKind::TypeError,
                                        std::string("Type error in destructuring: expected "
                                                    "vector, list or string, got ") +
                                            type_name(v)));
            // A string's characters, as nth and first give them: only those the pattern names,
            // or all of them (charged before they are made) for `& rest`, which is the list of
            // the others, as in Clojure.
            std::vector<Value> chars;
            if (v.is(Type::String) && p.rest_pattern) {
                RTFS_TRY(chars, stdlib::items_of("destructuring", v));
            } else if (v.is(Type::String)) {
                chars = stdlib::characters(v.str(), p.elems.size());
            }
            const std::span<const Value> items = v.is(Type::String) ? std::span<const Value>(chars)
                                                 : v.is_nil()       ? std::span<const Value>()
                                                                    : v.items();
            for (size_t i = 0; i < p.elems.size(); ++i) {
                RTFS_CHECK(destructure(p.elems[i], i < items.size() ? items[i] : Value(), st));
            }
            if (p.rest_pattern) {
                Value rest;
                if (items.size() > p.elems.size())  // O(1) for a list or vector: shares v's storage
                    rest = v.is_seq() ? make_suffix(v, p.elems.size(), Type::List)
                                      : make_list(std::vector<Value>(
                                            items.begin() + static_cast<std::ptrdiff_t>(p.elems.size()),
                                            items.end()));
                RTFS_CHECK(destructure(*p.rest_pattern, rest, st));
            }
            if (p.has_as) st.local(p.as_slot) = v;
            return Ok{};
        }
        case Pattern::Kind::Map: {
            // Keyword arguments: a list (what `& rest` binds) of keys and values destructures
            // as the map they make, as in Clojure: ((fn [& {:keys [b]}] b) :b 2) is 2.
            if (v.is(Type::List)) {
                RTFS_TRY(Value pairs, keyword_arguments(v));
                return destructure(p, pairs, st);
            }
            if (!v.is_nil() && !v.is(Type::Map))
                return unexpected(Error(ErrorKind::TypeError,
                                        std::string("Type error in destructuring: expected map, "
                                                    "got ") +
                                            type_name(v)));
            for (size_t i = 0; i < p.elems.size(); ++i) {
                const Value* x = map_get(v, p.keys[i]);
                if (!x && i < p.defaults.size() && p.defaults[i]) {
                    RTFS_TRY(Value d, p.defaults[i]->eval(st));
                    RTFS_CHECK(destructure(p.elems[i], d, st));
                    continue;
                }
                RTFS_CHECK(destructure(p.elems[i], x ? *x : Value(), st));
            }
            if (p.has_as) st.local(p.as_slot) = v;
            return Ok{};
        }
    }
    return Ok{};
}

bool match_pattern(const Pattern& p, const Value& v, Value* frame) {
    switch (p.kind) {
        case Pattern::Kind::Ignore: return true;
        case Pattern::Kind::Bind: frame[p.slot] = v; return true;
        case Pattern::Kind::Literal: return equals(p.literal, v);
        case Pattern::Kind::As:
            if (!match_pattern(p.elems[0], v, frame)) return false;
            frame[p.slot] = v;
            return true;
        case Pattern::Kind::Seq: {
            if (!v.is_seq()) return false;
            const auto& items = v.items();
            if (p.rest_pattern ? items.size() < p.elems.size() : items.size() != p.elems.size())
                return false;
            for (size_t i = 0; i < p.elems.size(); ++i)
                if (!match_pattern(p.elems[i], items[i], frame)) return false;
            if (p.rest_pattern) {
                Value rest = make_suffix(v, p.elems.size(), Type::Vector);
                if (!match_pattern(*p.rest_pattern, rest, frame)) return false;
            }
            return true;
        }
        case Pattern::Kind::Map: {
            if (!v.is(Type::Map)) return false;
            for (size_t i = 0; i < p.elems.size(); ++i) {
                const Value* x = v.map().find(p.keys[i]);
                if (!x || !match_pattern(p.elems[i], *x, frame)) return false;
            }
            return true;
        }
    }
    return false;
}

}  // namespace rtfs
