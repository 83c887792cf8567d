// Sequence functions: first rest nth conj concat take drop range partition into flatten ...
// Where Clojure returns a lazy seq these return a vector; next and seq return lists as in
// Clojure, while rest and cons keep the collection's kind as the reference implementation does.
// Strings are sequences of one-character strings, maps of [key value] vectors.
#include <cmath>
#include <unordered_set>

#include "stdlib/coll_helpers.hpp"
#include "stdlib/utf8.hpp"

namespace rtfs::stdlib {
namespace {

Result<Value> nth_or_nil(const char* op, const Value& coll, size_t i) {
    Value out;
    RTFS_TRY(bool found, element_at(op, coll, i, &out));
    (void)found;  // absent: nil
    return out;
}

Result<Value> first(Interpreter&, std::span<Value> a) {
    return nth_or_nil("first", a[0], 0);
}
Result<Value> second(Interpreter&, std::span<Value> a) {
    return nth_or_nil("second", a[0], 1);
}

Result<Value> last(Interpreter&, std::span<Value> a) {
    RTFS_TRY(size_t n, count_of("last", a[0]));
    if (n == 0) return Value();
    return nth_or_nil("last", a[0], n - 1);
}

// (rest coll): all but the first element, in a collection of the same kind (spec section 4):
// (rest [1 2 3]) is [2 3], (rest "hello") is "ello", (rest '(1 2)) is (2). Nil, sets and maps
// have no kind to keep that allows order, so they give a list, () when there is nothing left.
Result<Value> rest(Interpreter&, std::span<Value> a) {
    const Value& c = a[0];
    if (c.is(Type::String)) {
        const std::string& s = c.str();
        return s.empty() ? c : make_string(s.substr(utf8::decode(s, 0).len));
    }
    if (c.is_seq()) {  // O(1): in place when a[0] is the only reference, else sharing c's storage
        const Type kind = c.type();
        if (c.items().empty()) return c;
        if (c.unique()) return drop_first_in_place(std::move(a[0]), kind);
        return make_suffix(c, 1, kind);
    }
    RTFS_TRY(Elems e, Elems::of("rest", c));
    std::vector<Value> tail = e.slice(1, e.size());
    return c.is(Type::Vector) ? make_vector(std::move(tail)) : make_list(std::move(tail));
}

// (next coll): like rest, but nil instead of an empty list.
Result<Value> next(Interpreter&, std::span<Value> a) {
    if (a[0].is_seq()) {
        if (a[0].items().size() <= 1) return Value();
        if (a[0].unique()) return drop_first_in_place(std::move(a[0]), Type::List);
        return make_suffix(a[0], 1, Type::List);
    }
    RTFS_TRY(Elems e, Elems::of("next", a[0]));
    if (e.size() <= 1) return Value();
    return make_list(e.slice(1, e.size()));
}

// (nth coll i [default]): vectors, lists and strings by position.
Result<Value> nth(Interpreter&, std::span<Value> a) {
    const Value& c = a[0];
    if (!c.is_nil() && !c.is_seq() && !c.is(Type::String))
        return type_error("nth", "vector, list or string", c);
    RTFS_TRY(int64_t i, int_arg("nth", a[1]));
    if (i >= 0) {
        Value out;
        RTFS_TRY(bool found, element_at("nth", c, static_cast<uint64_t>(i), &out));
        if (found) return out;
    }
    if (a.size() > 2) return std::move(a[2]);
    if (c.is_nil()) return Value();  // as Clojure: (nth nil i) is nil
    RTFS_TRY(size_t n, count_of("nth", c));
    return index_out_of_bounds(i, n);
}

// (cons x coll): x in front of coll's elements, keeping coll's kind like rest: a vector gives a
// vector, a string a string (so x must be a string too: a string holds nothing else), a list a
// list. Nil, sets and maps give a list, as in Clojure.
Result<Value> cons(Interpreter&, std::span<Value> a) {
    const Value& c = a[1];
    if (c.is(Type::String)) {
        if (!a[0].is(Type::String)) return type_error("cons", "a string to put before a string", a[0]);
        return make_string(a[0].str() + c.str());
    }
    if (c.is_seq() && c.unique()) {
        Value out = std::move(a[1]);
        if (!push_front_in_place(out, std::move(a[0]))) return Value();  // over the limit
        return out;
    }
    RTFS_TRY(Elems e, Elems::of("cons", c));
    std::vector<Value> out;
    out.reserve(e.size() + 1);
    out.push_back(std::move(a[0]));
    out.insert(out.end(), e.begin(), e.end());
    return c.is(Type::Vector) ? make_vector(std::move(out)) : make_list(std::move(out));
}

// Adds xs to a map: each one a [key value] vector, a map (all its entries) or nil (nothing).
Expected<void, Error> conj_map_entries(const char* op, Value& m, std::span<const Value> xs) {
    for (const Value& x : xs) {
        if (x.is_nil()) continue;
        if (x.is(Type::Map)) {
            if (x.map().size() == 0) continue;
            RTFS_CHECK(make_own(m));
            for (const auto& [k, v] : x.map().entries()) m.mutable_map().set(k, v);
        } else if (x.is(Type::Vector) && x.items().size() == 2) {
            RTFS_CHECK(make_own(m));
            m.mutable_map().set(x.items()[0], x.items()[1]);
        } else {
            return type_error(op, "[key value] vector or map", x);
        }
    }
    return Ok{};
}

// conj and into: vectors append, lists (and nil) prepend, sets add, maps take entries.
// coll is updated in place when the caller handed over the only reference.
Result<Value> conj_all(const char* op, Value coll, std::span<const Value> xs) {
    switch (coll.type()) {
        case Type::List:
            if (coll.unique()) {
                for (const Value& x : xs)
                    if (!push_front_in_place(coll, x)) return Value();  // over the limit
                return coll;
            }
            [[fallthrough]];
        case Type::Nil: {
            std::vector<Value> out;
            out.reserve(xs.size() + (coll.is_nil() ? 0 : coll.items().size()));
            for (size_t i = xs.size(); i-- > 0;) out.push_back(xs[i]);
            if (!coll.is_nil()) out.insert(out.end(), coll.items().begin(), coll.items().end());
            return make_list(std::move(out));
        }
        case Type::Vector:
            if (xs.empty()) return coll;
            RTFS_CHECK(make_own(coll));
            for (const Value& x : xs) RTFS_CHECK(push_in_place(coll, x));
            return coll;
        case Type::Set: {
            if (xs.empty()) return coll;
            RTFS_CHECK(make_own(coll));
            auto* set = static_cast<SeqObj*>(coll.object_ptr());
            for (const Value& x : xs) {
                RTFS_CHECK(poll_limits());
                RTFS_CHECK(room_to_grow(coll));
                set->add_member(x);  // O(1) with the set's index
            }
            return coll;
        }
        case Type::Map:
            RTFS_CHECK(conj_map_entries(op, coll, xs));
            return coll;
        default:
            return type_error(op, "collection", coll);
    }
}

Result<Value> conj(Interpreter&, std::span<Value> a) {
    if (a.empty()) return make_vector({});
    return conj_all("conj", std::move(a[0]), a.subspan(1));
}

Result<Value> into(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems from, Elems::of("into", a[1]));
    RTFS_CHECK(check_alloc(interp, from.size()));
    return conj_all("into", std::move(a[0]), from.span());
}

Result<Value> concat(Interpreter& interp, std::span<Value> a) {
    std::vector<Elems> parts;
    uint64_t total = 0;
    for (const Value& c : a) {
        RTFS_TRY(Elems e, Elems::of("concat", c));
        total += e.size();
        parts.push_back(std::move(e));
    }
    RTFS_CHECK(check_alloc_count(interp, total));
    std::vector<Value> out;
    out.reserve(total);
    for (const Elems& e : parts) out.insert(out.end(), e.begin(), e.end());
    return make_vector(std::move(out));
}

// (subvec v start [end]) with 0 <= start <= end <= (count v).
Result<Value> subvec(Interpreter&, std::span<Value> a) {
    if (!a[0].is(Type::Vector)) return type_error("subvec", "vector", a[0]);
    const auto& items = a[0].items();
    const size_t n = items.size();
    RTFS_TRY(int64_t start, int_arg("subvec", a[1]));
    int64_t end = static_cast<int64_t>(n);
    if (a.size() > 2) {
        RTFS_TRY(end, int_arg("subvec", a[2]));
    }
    if (start < 0 || static_cast<uint64_t>(start) > n) return index_out_of_bounds(start, n + 1);
    if (end < 0 || static_cast<uint64_t>(end) > n) return index_out_of_bounds(end, n + 1);
    if (end < start)
        return error(ErrorKind::IndexOutOfBounds,
                     "Index out of bounds: end index " + std::to_string(end) +
                         " is before start index " + std::to_string(start));
    RTFS_TRY(Elems e, Elems::of("subvec", a[0]));
    return kept_range(std::move(a[0]), e, static_cast<size_t>(start), static_cast<size_t>(end));
}

// n clamped to [0, size]: how many elements a count argument selects.
size_t clamp_count(int64_t n, size_t size) {
    if (n <= 0) return 0;
    return static_cast<uint64_t>(n) >= size ? size : static_cast<size_t>(n);
}

// coll's elements e from `from` on as a vector: shared with a list or vector (O(1)), copied
// from anything else.
Value suffix_vector(const Value& coll, const Elems& e, size_t from) {
    if (coll.is(Type::Vector) && from == 0) return coll;
    if (coll.is_seq() && from < e.size()) return make_suffix(coll, from, Type::Vector);
    return make_vector(e.slice(from, e.size()));
}

Result<Value> take(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("take", a[0]));
    RTFS_TRY(Elems e, Elems::of("take", a[1]));
    return kept_range(std::move(a[1]), e, 0, clamp_count(n, e.size()));
}

Result<Value> drop(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("drop", a[0]));
    RTFS_TRY(Elems e, Elems::of("drop", a[1]));
    return suffix_vector(a[1], e, clamp_count(n, e.size()));
}

Result<Value> take_last(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("take-last", a[0]));
    RTFS_TRY(Elems e, Elems::of("take-last", a[1]));
    return suffix_vector(a[1], e, e.size() - clamp_count(n, e.size()));
}

// (drop-last coll) or (drop-last n coll)
Result<Value> drop_last(Interpreter&, std::span<Value> a) {
    int64_t n = 1;
    if (a.size() == 2) {
        RTFS_TRY(n, int_arg("drop-last", a[0]));
    }
    RTFS_TRY(Elems e, Elems::of("drop-last", a.back()));
    return kept_range(std::move(a.back()), e, 0, e.size() - clamp_count(n, e.size()));
}

Result<Value> split_at(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("split-at", a[0]));
    RTFS_TRY(Elems e, Elems::of("split-at", a[1]));
    const size_t k = clamp_count(n, e.size());
    return make_vector({make_vector(e.slice(0, k)), make_vector(e.slice(k, e.size()))});
}

Result<Value> reverse(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("reverse", a[0]));
    RTFS_CHECK(check_alloc(interp, e.size()));  // before it is built
    return make_vector(std::vector<Value>(e.span().rbegin(), e.span().rend()));
}

Result<Value> distinct(Interpreter&, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("distinct", a[0]));
    ScopedHeapCharge held;  // the table, as it grows with the distinct elements
    std::unordered_set<Value, ValueHash, ValueEq> seen;
    std::vector<Value> out;
    for (const Value& x : e) {
        RTFS_CHECK(poll_limits());
        if (seen.insert(x).second) {
            held.add(kHashNodeBytes);
            out.push_back(x);
        }
    }
    return make_vector(std::move(out));
}

// (dedupe coll): drops elements equal to the one before them.
Result<Value> dedupe(Interpreter&, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("dedupe", a[0]));
    std::vector<Value> out;
    for (const Value& x : e)
        if (out.empty() || !equals(out.back(), x)) out.push_back(x);
    return make_vector(std::move(out));
}

Result<Value> int_range(Interpreter& interp, int64_t start, int64_t end, int64_t step) {
    // Element count in unsigned arithmetic: end - start may not fit in int64.
    uint64_t n = 0;
    if (step > 0 && end > start) {
        const uint64_t diff = static_cast<uint64_t>(end) - static_cast<uint64_t>(start);
        const auto s = static_cast<uint64_t>(step);
        n = diff / s + (diff % s != 0);
    } else if (step < 0 && end < start) {
        const uint64_t diff = static_cast<uint64_t>(start) - static_cast<uint64_t>(end);
        const uint64_t s = static_cast<uint64_t>(-(step + 1)) + 1;  // |step| without overflow
        n = diff / s + (diff % s != 0);
    }
    RTFS_CHECK(check_alloc_count(interp, n));
    std::vector<Value> out;
    out.reserve(static_cast<size_t>(n));
    // start + i*step wraps in uint64 but the true value lies between start and end.
    for (uint64_t i = 0; i < n; ++i)
        out.push_back(Value::integer(
            static_cast<int64_t>(static_cast<uint64_t>(start) + i * static_cast<uint64_t>(step))));
    return make_vector(std::move(out));
}

// Floats: start + i*step for i = 0 .. ceil((end - start) / step) - 1, each strictly before end
// (no accumulated rounding error, unlike Clojure's repeated addition).
Result<Value> float_range(Interpreter& interp, double start, double end, double step) {
    const double span = (end - start) / step;
    uint64_t n = 0;
    if (span > 0) n = span < 4e9 ? static_cast<uint64_t>(std::ceil(span)) : uint64_t{1} << 40;
    RTFS_CHECK(check_alloc_count(interp, n));
    std::vector<Value> out;
    out.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
        const double x = start + static_cast<double>(i) * step;
        if (step > 0 ? !(x < end) : !(x > end)) break;
        out.push_back(Value::floating(x));
    }
    return make_vector(std::move(out));
}

// (range end), (range start end), (range start end step); floats when any argument is one.
// `numbers` is an alias: the reference runtime lists it next to range with the same arguments.
template <const char* Name>
Result<Value> range(Interpreter& interp, std::span<Value> a) {
    bool any_float = false;
    for (const Value& v : a) {
        if (!v.is_number()) return type_error(Name, "number", v);
        any_float = any_float || v.is(Type::Float);
    }
    const Value start = a.size() > 1 ? a[0] : Value::integer(0);
    const Value end = a.size() > 1 ? a[1] : a[0];
    const Value step = a.size() > 2 ? a[2] : Value::integer(1);
    if (step.to_double() == 0) return invalid_argument(Name, "step must not be zero");
    if (!any_float) return int_range(interp, start.as_int(), end.as_int(), step.as_int());
    return float_range(interp, start.to_double(), end.to_double(), step.to_double());
}
constexpr char kRange[] = "range";
constexpr char kNumbers[] = "numbers";

// (partition n coll), (partition n step coll), (partition n step pad coll): chunks of n taken
// every step elements; an incomplete last chunk is dropped, or filled up from pad when given.
Result<Value> partition(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("partition", a[0]));
    int64_t step = n;
    if (a.size() > 2) {
        RTFS_TRY(step, int_arg("partition", a[1]));
    }
    if (n <= 0) return invalid_argument("partition", "the chunk size must be positive");
    if (step <= 0) return invalid_argument("partition", "the step must be positive");
    const bool padded = a.size() == 4;
    const Value no_pad;
    RTFS_TRY(Elems pad, Elems::of("partition", padded ? a[2] : no_pad));
    RTFS_TRY(Elems e, Elems::of("partition", a.back()));
    const auto un = static_cast<uint64_t>(n), ustep = static_cast<uint64_t>(step);
    std::vector<Value> out;
    for (size_t i = 0; i < e.size();) {
        const size_t left = e.size() - i;
        if (left < un) {
            if (padded) {
                std::vector<Value> chunk = e.slice(i, e.size());
                for (size_t k = 0; k < pad.size() && chunk.size() < un; ++k)
                    chunk.push_back(pad[k]);
                out.push_back(make_vector(std::move(chunk)));
            }
            break;
        }
        RTFS_CHECK(check_alloc_count(interp, un));  // overlapping chunks may outgrow the input
        out.push_back(make_vector(e.slice(i, i + static_cast<size_t>(un))));
        if (ustep >= left) break;
        i += static_cast<size_t>(ustep);
    }
    return make_vector(std::move(out));
}

// (seq coll): nil when empty, else a list of the elements.
Result<Value> seq(Interpreter&, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("seq", a[0]));
    if (e.empty()) return Value();
    if (a[0].is(Type::List)) return std::move(a[0]);
    if (a[0].is(Type::Vector)) return make_suffix(a[0], 0, Type::List);  // O(1), as Clojure's
    return make_list(e.slice(0, e.size()));
}

Result<Value> vec(Interpreter&, std::span<Value> a) {
    if (a[0].is(Type::Vector)) return std::move(a[0]);
    if (a[0].is(Type::List) && !a[0].items().empty()) return make_suffix(a[0], 0, Type::Vector);
    RTFS_TRY(Elems e, Elems::of("vec", a[0]));
    return make_vector(e.slice(0, e.size()));
}

// (flatten x): the non-sequential leaves of nested lists/vectors, depth first; [] for a
// non-sequential x. Iterative (nesting may be deep) and limit-checked (shared sub-vectors can
// make the result far larger than the input).
Result<Value> flatten(Interpreter& interp, std::span<Value> a) {
    std::vector<Value> out;
    if (!a[0].is_seq()) return make_vector({});
    struct Level {
        std::span<const Value> items;
        size_t next;
    };
    std::vector<Level> stack{{a[0].items(), 0}};
    uint64_t visited = 0;
    while (!stack.empty()) {
        if ((++visited & 4095) == 0) RTFS_CHECK(check_alloc(interp, out.size()));
        Level& top = stack.back();
        if (top.next == top.items.size()) {
            stack.pop_back();
            continue;
        }
        const Value& v = top.items[top.next++];
        if (v.is_seq()) {
            stack.push_back({v.items(), 0});
        } else {
            out.push_back(v);
        }
    }
    return make_vector(std::move(out));
}

Result<Value> interleave(Interpreter& interp, std::span<Value> a) {
    std::vector<Elems> colls;
    size_t n = a.empty() ? 0 : SIZE_MAX;
    for (const Value& c : a) {
        RTFS_TRY(Elems e, Elems::of("interleave", c));
        n = std::min(n, e.size());
        colls.push_back(std::move(e));
    }
    RTFS_CHECK(check_alloc_count(interp, uint64_t{n} * colls.size()));
    std::vector<Value> out;
    out.reserve(n * colls.size());
    for (size_t i = 0; i < n; ++i)
        for (const Elems& e : colls) out.push_back(e[i]);
    return make_vector(std::move(out));
}

Result<Value> repeat(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("repeat", a[0]));
    if (n <= 0) return make_vector({});
    RTFS_CHECK(check_alloc_count(interp, static_cast<uint64_t>(n)));
    return make_vector(std::vector<Value>(static_cast<size_t>(n), a[1]));
}

// peek/pop: the end conj adds at (vectors: last, lists: first).
Result<Value> peek(Interpreter&, std::span<Value> a) {
    const Value& c = a[0];
    if (c.is_nil()) return Value();
    if (!c.is_seq()) return type_error("peek", "vector or list", c);
    if (c.items().empty()) return Value();
    return c.is(Type::Vector) ? c.items().back() : c.items().front();
}

Result<Value> pop(Interpreter&, std::span<Value> a) {
    Value c = std::move(a[0]);
    if (c.is_nil()) return c;
    if (!c.is_seq()) return type_error("pop", "vector or list", c);
    if (c.items().empty())
        return invalid_argument("pop", std::string("cannot pop an empty ") + type_name(c));
    if (c.is(Type::List))  // O(1), as rest
        return c.unique() ? drop_first_in_place(std::move(c), Type::List) : make_suffix(c, 1, Type::List);
    RTFS_CHECK(make_own(c));  // a vector: its last element off, room and all
    static_cast<SeqObj*>(c.object_ptr())->keep(0, c.items().size() - 1);
    return c;
}

}  // namespace

void add_sequences(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
                          {"first", 1, 1, first},
                          {"second", 1, 1, second},
                          {"last", 1, 1, last},
                          {"rest", 1, 1, rest},
                          {"next", 1, 1, next},
                          {"nth", 2, 3, nth},
                          {"cons", 2, 2, cons},
                          {"conj", 0, kVariadic, conj},
                          {"into", 2, 2, into},
                          {"concat", 0, kVariadic, concat},
                          {"subvec", 2, 3, subvec},
                          {"take", 2, 2, take},
                          {"drop", 2, 2, drop},
                          {"take-last", 2, 2, take_last},
                          {"drop-last", 1, 2, drop_last},
                          {"split-at", 2, 2, split_at},
                          {"reverse", 1, 1, reverse},
                          {"distinct", 1, 1, distinct},
                          {"dedupe", 1, 1, dedupe},
                          {"range", 1, 3, range<kRange>},
                          {"numbers", 1, 3, range<kNumbers>},
                          {"partition", 2, 4, partition},
                          {"seq", 1, 1, seq},
                          {"vec", 1, 1, vec},
                          {"flatten", 1, 1, flatten},
                          {"interleave", 0, kVariadic, interleave},
                          {"repeat", 2, 2, repeat},
                          {"peek", 1, 1, peek},
                          {"pop", 1, 1, pop},
                      });
}

}  // namespace rtfs::stdlib
