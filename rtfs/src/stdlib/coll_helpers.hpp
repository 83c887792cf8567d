// Helpers shared by the collection, sequence and higher-order builtins (collections.cpp,
// sequences.cpp, higher_order.cpp, sorting.cpp, function_builders.cpp).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {

// The elements of a sequential argument (same rules as items_of), borrowed from vectors, lists
// and sets instead of copied. The Value it was made from must outlive it and stay unchanged.
class Elems {
  public:
    static Result<Elems> of(const char* op, const Value& v);
    Elems(Elems&&) noexcept = default;
    Elems(const Elems&) = delete;
    Elems& operator=(const Elems&) = delete;

    size_t size() const { return view_.size(); }
    bool empty() const { return view_.empty(); }
    const Value& operator[](size_t i) const { return view_[i]; }
    auto begin() const { return view_.begin(); }
    auto end() const { return view_.end(); }
    std::span<const Value> span() const { return view_; }
    // A copy of elements [from, to) as an owned vector.
    std::vector<Value> slice(size_t from, size_t to) const;

  private:
    Elems() = default;
    std::vector<Value> owned_;  // maps and strings: materialised elements
    std::span<const Value> view_;
};

// "Index out of bounds: index i is not in range [0, n)"
Unexpected<Error> index_out_of_bounds(int64_t index, size_t n);

// Calls a function value. Builtins are called directly (so an accumulator the caller owns
// stays uniquely owned and can be updated in place); everything else goes through
// Interpreter::apply. Checks interruption, limits and the native stack on every call.
Result<Value> call_fn(Interpreter& interp, const Value& f, std::span<Value> args);
Result<Value> call1(Interpreter& interp, const Value& f, Value a);
Result<Value> call2(Interpreter& interp, const Value& f, Value a, Value b);

// Looks key up the way `get` does (map key, vector/string index, set member). False when absent.
bool lookup(const Value& coll, const Value& key, Value* out);

// (assoc coll key val) for one pair; coll is consumed and updated in place when uniquely owned.
Result<Value> assoc1(const char* op, Value coll, Value key, Value val);

// The value under key in coll (nil when absent). When coll is uniquely owned, the value is
// moved out (leaving nil behind) so that it stays uniquely owned too for an in-place update.
Value take_at(Value& coll, const Value& key);

// Makes coll (a list, vector, set or map) uniquely owned with storage of its own: a shallow copy
// (charged before it is made) unless it already is; a suffix's elements are copied out.
Expected<void, Error> make_own(Value& coll);

// check_alloc for a count computed in 64 bits (safe where size_t is 32 bits wide).
Expected<void, Error> check_alloc_count(Interpreter& interp, uint64_t n_values);

// ResourceLimit when seq's storage is full and its growth does not fit the memory limit.
Expected<void, Error> room_to_grow(const Value& seq);
// Appends to a vector or list (after make_own), keeping the heap accounting right; growth is charged
// before it happens.
Expected<void, Error> push_in_place(Value& seq, Value x);

// O(1) for a uniquely owned list or vector (SeqObj keeps room in front): x put before its
// elements (false when that needs more memory than the limit leaves: the evaluator raises the
// kept failure), and its elements after the first as a collection of type `as` (List or Vector).
bool push_front_in_place(Value& seq, Value x);
Value drop_first_in_place(Value seq, Type as);

// Elements [from, to) of coll (whose elements e are) as a vector. In place, O(what is dropped),
// when coll is a uniquely owned list or vector with storage of its own (a loop peeling a
// vector's end with drop-last, subvec or take copied it every step: 50,000 elements 1.7 s);
// a copy of the kept elements otherwise (a suffix, a shared value). coll is consumed; e must
// not be used afterwards.
Value kept_range(Value coll, const Elems& e, size_t from, size_t to);

// Number of elements, as `count` reports it; a TypeError naming op for a non-collection.
Result<size_t> count_of(const char* op, const Value& coll);

// Element i of a collection (a map entry as [k v], a string character) without copying the
// rest; false when i is out of range, a TypeError naming op for a non-collection.
Result<bool> element_at(const char* op, const Value& coll, size_t i, Value* out);

}  // namespace rtfs::stdlib
