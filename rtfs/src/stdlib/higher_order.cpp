// Higher-order functions: map filter reduce apply group-by some every? ... Results are vectors
// where Clojure returns lazy seqs. Any callable works as the function argument: closures,
// builtins, keywords, maps, vectors and sets (through call_fn / Interpreter::apply).
#include "stdlib/coll_helpers.hpp"

namespace rtfs::stdlib {
namespace {

// (map f coll & colls): f over the elements side by side, stopping at the shortest collection.
Result<Value> map_impl(const char* op, Interpreter& interp, std::span<Value> a) {
    const Value& f = a[0];
    std::vector<Elems> colls;
    size_t n = SIZE_MAX;
    for (size_t i = 1; i < a.size(); ++i) {
        RTFS_TRY(Elems e, Elems::of(op, a[i]));
        n = std::min(n, e.size());
        colls.push_back(std::move(e));
    }
    std::vector<Value> out;
    out.reserve(n);
    std::vector<Value> args(colls.size());
    for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < colls.size(); ++j) args[j] = colls[j][i];
        RTFS_TRY(Value v, call_fn(interp, f, args));
        out.push_back(std::move(v));
    }
    return make_vector(std::move(out));
}
Result<Value> map(Interpreter& interp, std::span<Value> a) {
    return map_impl("map", interp, a);
}
Result<Value> mapv(Interpreter& interp, std::span<Value> a) {
    return map_impl("mapv", interp, a);
}

Result<Value> map_indexed(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("map-indexed", a[1]));
    std::vector<Value> out;
    out.reserve(e.size());
    for (size_t i = 0; i < e.size(); ++i) {
        RTFS_TRY(Value v, call2(interp, a[0], Value::integer(static_cast<int64_t>(i)), e[i]));
        out.push_back(std::move(v));
    }
    return make_vector(std::move(out));
}

// The elements x of coll for which (pred x) is truthy (keep_if) or falsy.
Result<Value> select(const char* op, Interpreter& interp, std::span<Value> a, bool keep_if) {
    RTFS_TRY(Elems e, Elems::of(op, a[1]));
    std::vector<Value> out;
    for (const Value& x : e) {
        RTFS_TRY(Value t, call1(interp, a[0], x));
        if (t.truthy() == keep_if) out.push_back(x);
    }
    return make_vector(std::move(out));
}
Result<Value> filter(Interpreter& i, std::span<Value> a) {
    return select("filter", i, a, true);
}
Result<Value> filterv(Interpreter& i, std::span<Value> a) {
    return select("filterv", i, a, true);
}
Result<Value> remove(Interpreter& i, std::span<Value> a) {
    return select("remove", i, a, false);
}

// (keep f coll): the non-nil results of (f x).
Result<Value> keep(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("keep", a[1]));
    std::vector<Value> out;
    for (const Value& x : e) {
        RTFS_TRY(Value v, call1(interp, a[0], x));
        if (!v.is_nil()) out.push_back(std::move(v));
    }
    return make_vector(std::move(out));
}

// (reduce f coll) / (reduce f init coll). The accumulator is handed to f as its only
// reference, so builtins like conj and assoc extend it in place.
Result<Value> reduce(Interpreter& interp, std::span<Value> a) {
    const Value& f = a[0];
    RTFS_TRY(Elems e, Elems::of("reduce", a.back()));
    Value acc;
    size_t i = 0;
    if (a.size() == 2) {
        if (e.empty()) return invalid_argument("reduce", "empty collection and no initial value");
        acc = e[0];
        i = 1;
    } else {
        acc = std::move(a[1]);
    }
    Value args[2];
    for (; i < e.size(); ++i) {
        args[0] = std::move(acc);
        args[1] = e[i];
        RTFS_TRY(acc, call_fn(interp, f, args));
    }
    return acc;
}

// (apply f a b ... coll): f called with a, b, ... and then the elements of coll.
Result<Value> apply(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems spread, Elems::of("apply", a.back()));
    RTFS_CHECK(check_alloc(interp, spread.size()));
    std::vector<Value> args;
    args.reserve(a.size() - 2 + spread.size());
    for (size_t i = 1; i + 1 < a.size(); ++i) args.push_back(std::move(a[i]));
    args.insert(args.end(), spread.begin(), spread.end());
    return call_fn(interp, a[0], args);
}

Result<Value> mapcat(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Value parts, map_impl("mapcat", interp, a));
    std::vector<Value> out;
    for (const Value& p : parts.items()) {
        RTFS_TRY(Elems e, Elems::of("mapcat", p));
        RTFS_CHECK(check_alloc(interp, out.size() + e.size()));
        out.insert(out.end(), e.begin(), e.end());
    }
    return make_vector(std::move(out));
}

// (group-by f coll): {(f x) [x ...]} in order of first appearance.
Result<Value> group_by(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("group-by", a[1]));
    Value index = make_map({});  // group key -> position in groups
    std::vector<std::vector<Value>> groups;
    for (const Value& x : e) {
        RTFS_TRY(Value k, call1(interp, a[0], x));
        if (const Value* pos = index.map().find(k)) {
            groups[static_cast<size_t>(pos->as_int())].push_back(x);
        } else {
            index.mutable_map().set(std::move(k),
                                    Value::integer(static_cast<int64_t>(groups.size())));
            groups.push_back({x});
        }
    }
    std::vector<std::pair<Value, Value>> entries;
    entries.reserve(groups.size());
    for (size_t i = 0; i < groups.size(); ++i)
        entries.emplace_back(index.map().entries()[i].first, make_vector(std::move(groups[i])));
    return make_map(std::move(entries));
}

// (partition-by f coll): runs of consecutive elements with equal (f x).
Result<Value> partition_by(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("partition-by", a[1]));
    std::vector<Value> out;
    std::vector<Value> run;
    Value run_key;
    for (const Value& x : e) {
        RTFS_TRY(Value k, call1(interp, a[0], x));
        if (!run.empty() && !equals(k, run_key)) out.push_back(make_vector(std::move(run)));
        run.push_back(x);
        run_key = std::move(k);
    }
    if (!run.empty()) out.push_back(make_vector(std::move(run)));
    return make_vector(std::move(out));
}

// The first element for which (pred x) is truthy (or falsy), as an index; e.size() if none.
Result<size_t> find_first(Interpreter& interp, const Value& pred, const Elems& e, bool want_truthy,
                          Value* result) {
    for (size_t i = 0; i < e.size(); ++i) {
        RTFS_TRY(Value t, call1(interp, pred, e[i]));
        if (t.truthy() == want_truthy) {
            if (result) *result = std::move(t);
            return i;
        }
    }
    return e.size();
}

// (some pred coll): the first truthy (pred x), else nil.
Result<Value> some(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("some", a[1]));
    Value found;
    RTFS_TRY(size_t i, find_first(interp, a[0], e, true, &found));
    (void)i;
    return found;
}

Result<Value> every(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("every?", a[1]));
    RTFS_TRY(size_t i, find_first(interp, a[0], e, false, nullptr));
    return Value::boolean(i == e.size());
}

Result<Value> not_any(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("not-any?", a[1]));
    RTFS_TRY(size_t i, find_first(interp, a[0], e, true, nullptr));
    return Value::boolean(i == e.size());
}

Result<Value> not_every(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("not-every?", a[1]));
    RTFS_TRY(size_t i, find_first(interp, a[0], e, false, nullptr));
    return Value::boolean(i != e.size());
}

Result<Value> take_while(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("take-while", a[1]));
    RTFS_TRY(size_t i, find_first(interp, a[0], e, false, nullptr));
    return make_vector(e.slice(0, i));
}

Result<Value> drop_while(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("drop-while", a[1]));
    RTFS_TRY(size_t i, find_first(interp, a[0], e, false, nullptr));
    return make_vector(e.slice(i, e.size()));
}

Result<Value> identity(Interpreter&, std::span<Value> a) {
    return std::move(a[0]);
}

}  // namespace

void add_higher_order(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
                          {"map", 2, kVariadic, map},
                          {"mapv", 2, kVariadic, mapv},
                          {"map-indexed", 2, 2, map_indexed},
                          {"filter", 2, 2, filter},
                          {"filterv", 2, 2, filterv},
                          {"remove", 2, 2, remove},
                          {"keep", 2, 2, keep},
                          {"reduce", 2, 3, reduce},
                          {"apply", 2, kVariadic, apply},
                          {"mapcat", 2, kVariadic, mapcat},
                          {"group-by", 2, 2, group_by},
                          {"partition-by", 2, 2, partition_by},
                          {"some", 2, 2, some},
                          {"every?", 2, 2, every},
                          {"not-any?", 2, 2, not_any},
                          {"not-every?", 2, 2, not_every},
                          {"take-while", 2, 2, take_while},
                          {"drop-while", 2, 2, drop_while},
                          {"identity", 1, 1, identity},
                      });
}

}  // namespace rtfs::stdlib
