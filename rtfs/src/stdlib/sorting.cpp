// sort and sort-by: a stable merge sort of our own, because std::sort may read out of bounds
// when a user-supplied comparator is inconsistent, and a comparator call can fail.
#include "stdlib/coll_helpers.hpp"

namespace rtfs::stdlib {
namespace {

// Bottom-up stable merge sort; `less(a, b)` returns Result<bool>. Stops at the first error.
// Any comparator, even an inconsistent one, only ever yields some permutation of v.
// The merge buffer is in the heap's live total while it lives (held): sort-by's buffer and
// key pairs went uncounted, 4.5 times the limit (red team, 2026-12-07).
template <class T, class Less>
Expected<void, Error> merge_sort(std::vector<T>& v, Less less) {
    const size_t n = v.size();
    const auto bytes = static_cast<int64_t>(n * sizeof(T));
    RTFS_CHECK(charge_alloc(bytes));
    const ScopedHeapCharge held(bytes);
    std::vector<T> buf(n);
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            const size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                RTFS_TRY(bool right_first, less(v[j], v[i]));
                buf[k++] = std::move(right_first ? v[j++] : v[i++]);
            }
            while (i < mid) buf[k++] = std::move(v[i++]);
            while (j < hi) buf[k++] = std::move(v[j++]);
        }
        v.swap(buf);
        if (2 * width >= n) break;  // guards width overflow for huge n
    }
    return Ok{};
}

// Roughly how many elements compare_values may visit in v (its top level).
size_t comparison_work(const Value& v) {
    switch (v.type()) {
        case Type::List:
        case Type::Vector:
        case Type::Set: return v.items().size();
        case Type::Map: return v.map().size();
        case Type::String: return v.str().size() / 64;
        default: return 0;
    }
}

// a < b under an optional RTFS comparator: a number result means (compare a b), anything else
// is a truth value meaning "a comes first" (so both `compare` and `<` work, as in Clojure).
Result<bool> ordered_before(Interpreter& interp, const Value* comparator, const Value& a,
                            const Value& b) {
    if (!comparator) {
        // compare_values runs in C++ without a limit check: a sort of many long vectors could
        // otherwise outlive its deadline by minutes. Each comparison counts as the elements it
        // may visit, so the cancel flag and the deadline are seen every ~4096 of them.
        RTFS_CHECK(poll_limits(1 + comparison_work(a) + comparison_work(b)));
        RTFS_TRY(int c, compare_values(a, b));
        return c < 0;
    }
    RTFS_TRY(Value r, call2(interp, *comparator, a, b));
    if (r.is_number()) return r.to_double() < 0;
    return r.truthy();
}

// (sort coll) / (sort comparator coll)
Result<Value> sort(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("sort", a.back()));
    const Value* comparator = a.size() == 2 ? &a[0] : nullptr;
    std::vector<Value> v = e.slice(0, e.size());
    RTFS_CHECK(merge_sort(v, [&](const Value& x, const Value& y) {
        return ordered_before(interp, comparator, x, y);
    }));
    return make_vector(std::move(v));
}

// (sort-by keyfn coll) / (sort-by keyfn comparator coll): keyfn is called once per element.
Result<Value> sort_by(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Elems e, Elems::of("sort-by", a.back()));
    const Value* comparator = a.size() == 3 ? &a[1] : nullptr;
    using Entry = std::pair<Value, Value>;
    const auto bytes = static_cast<int64_t>(e.size() * sizeof(Entry));
    RTFS_CHECK(charge_alloc(bytes));
    const ScopedHeapCharge held(bytes);
    std::vector<Entry> keyed;  // (key, element)
    keyed.reserve(e.size());
    for (const Value& x : e) {
        RTFS_TRY(Value k, call1(interp, a[0], x));
        keyed.emplace_back(std::move(k), x);
    }
    RTFS_CHECK(merge_sort(keyed, [&](const Entry& x, const Entry& y) {
        return ordered_before(interp, comparator, x.first, y.first);
    }));
    std::vector<Value> out;
    out.reserve(keyed.size());
    for (auto& [k, x] : keyed) out.push_back(std::move(x));
    return make_vector(std::move(out));
}

}  // namespace

void add_sorting(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
                          {"sort", 1, 2, sort},
                          {"sort-by", 2, 3, sort_by},
                      });
}

}  // namespace rtfs::stdlib
