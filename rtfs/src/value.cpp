// Value objects, equality, hashing and ordering.
#include "rtfs/value.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <unordered_map>
#include <unordered_set>

#include "rtfs/function.hpp"
#include "native_stack.hpp"
#include "rtfs/interpreter.hpp"

namespace rtfs {

HeapStats*& current_heap_stats() {
    static thread_local HeapStats* stats = nullptr;
    return stats;
}

Object::~Object() {
    if (accounted != 0) {
        if (HeapStats* h = current_heap_stats()) h->live_bytes -= accounted;
    }
}

void Value::destroy(Object* o) {
    // Objects that die while another is being deleted are queued instead of deleted right away;
    // the outermost call drains the queue, so nesting depth never becomes native stack depth.
    static thread_local std::vector<Object*>* pending = nullptr;
    if (pending) {
        pending->push_back(o);
        return;
    }
    std::vector<Object*> queue{o};
    pending = &queue;
    while (!queue.empty()) {
        Object* next = queue.back();
        queue.pop_back();
        delete next;
    }
    pending = nullptr;
}

void Object::account(int64_t bytes) {
    accounted += bytes;
    if (HeapStats* h = current_heap_stats()) h->add(bytes);
}

const char* type_name(Type t) {
    switch (t) {
        case Type::Nil: return "nil";
        case Type::Bool: return "boolean";
        case Type::Int: return "integer";
        case Type::Float: return "float";
        case Type::String: return "string";
        case Type::Keyword: return "keyword";
        case Type::Symbol: return "symbol";
        case Type::List: return "list";
        case Type::Vector: return "vector";
        case Type::Map: return "map";
        case Type::Set: return "set";
        case Type::Function:
        case Type::Builtin: return "function";
        case Type::Error: return "error";
        case Type::Recur: return "recur";
    }
    return "unknown";
}

const char* type_name(const Value& v) { return type_name(v.type()); }

StrObj::StrObj(std::string v) : s(std::move(v)) {
    account(static_cast<int64_t>(sizeof(StrObj) + s.capacity()));
}

SeqObj::SeqObj(std::vector<Value> v) : items(std::move(v)) {
    account(static_cast<int64_t>(sizeof(SeqObj) + items.capacity() * sizeof(Value)));
}

SeqObj::~SeqObj() = default;

namespace {
// What the heap is charged for a hash index (a set's or a map's): its nodes and buckets, an
// estimate.
template <class Table>
int64_t index_charge(const Table* table) {
    return table ? static_cast<int64_t>(table->size()) * kHashNodeBytes +
                       static_cast<int64_t>(table->bucket_count() * sizeof(void*))
                 : 0;
}
}  // namespace

void SeqObj::set_index(std::unique_ptr<SetIndex> built) const {
    index = std::move(built);
    const int64_t now = index_charge(index ? &index->members : nullptr);
    // (The charge is the object's, whichever access made the index.)
    const_cast<SeqObj*>(this)->account(now - index_bytes);
    index_bytes = now;
}

void SeqObj::drop_index() { set_index(nullptr); }

void SeqObj::index_members() const {
    // The set may be shared and outlive this evaluation: an index is kept only when whole and
    // right. Without room for it under the memory limit, the set stays unindexed (scanned).
    const auto n = static_cast<int64_t>(items.size());
    if (!charge_alloc(n * (kHashNodeBytes + static_cast<int64_t>(sizeof(void*))))) return;
    auto built = std::make_unique<SetIndex>();
    built->members.reserve(items.size());
    for (const Value& m : items) {
        if (!keep_building()) return;  // a limit: no index, the error kept
        built->members.insert(m);
    }
    // A limit that cut the last member's hash walk short left it in the wrong bucket (red
    // team, 2026-12-06: a REPL's global set then missed a member for good).
    if (!keep_building()) return;
    set_index(std::move(built));
}

const Value* SeqObj::find_member(const Value& x) const {
    if (!index && items.size() > kSetIndexThreshold && scanned >= kScansPerIndex * items.size()) index_members();
    if (index) {
        auto it = index->members.find(x);
        return it == index->members.end() ? nullptr : &*it;
    }
    for (const Value& m : items) {
        ++scanned;
        if (equals(m, x)) return &m;
    }
    return nullptr;
}

void SeqObj::append(Value x) {
    hash_cache.forget();
    const size_t before = items.capacity();
    items.push_back(std::move(x));
    if (items.capacity() != before)
        account(static_cast<int64_t>((items.capacity() - before) * sizeof(Value)));
}

bool SeqObj::add_member(Value x) {
    if (find_member(x)) return false;
    if (index) index->members.insert(x);
    append(std::move(x));
    if (index) set_index(std::move(index));  // charges the new member
    return true;
}

namespace {
// Replaces o's storage with `room` nil slots followed by its elements (copied from a base, or
// moved), keeping the heap accounting right.
void own_elements(SeqObj& o, size_t room) {
    const std::span<const Value> e = o.elements();
    const size_t before = o.items.capacity();
    std::vector<Value> grown;
    grown.reserve(room + e.size());
    grown.resize(room);
    if (o.base.is_nil()) {
        grown.insert(grown.end(),
                     std::make_move_iterator(o.items.begin() + static_cast<std::ptrdiff_t>(o.head)),
                     std::make_move_iterator(o.items.end()));
    } else {
        grown.insert(grown.end(), e.begin(), e.end());
    }
    o.items.swap(grown);
    o.head = room;
    o.base = Value();
    o.account((static_cast<int64_t>(o.items.capacity()) - static_cast<int64_t>(before)) *
              static_cast<int64_t>(sizeof(Value)));
}
}  // namespace

std::vector<Value>& SeqObj::compacted() {
    if (!base.is_nil()) {
        own_elements(*this, 0);
    } else if (head > 0) {
        items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(head));
        head = 0;
    }
    return items;
}

void SeqObj::keep(size_t from, size_t to) {
    hash_cache.forget();
    items.erase(items.begin() + static_cast<ptrdiff_t>(head + to), items.end());
    for (size_t i = head; i < head + from; ++i) items[i] = Value();
    head += from;
    if (head == items.size()) {  // nothing left: the whole capacity is room again
        items.clear();
        head = 0;
    }
    // Storage over four times what is left is given back (what is left moved to storage of its
    // size: amortised, as the storage shrinks geometrically), so that a few elements taken from
    // a vector do not hold all of it (100,000 of (take 1 v) of 64 elements held 114 MB, not 14;
    // red team, 2026-12-07). Four, not two: growth doubles, and a conj, pop, pop loop at twice
    // copied the vector every step (review, 2026-12-07).
    if (items.capacity() > 4 * (items.size() - head)) own_elements(*this, 0);
}

void SeqObj::drop_first() {
    hash_cache.forget();
    if (!base.is_nil()) {
        if (++head == base.items().size()) {  // nothing left: let the base go
            base = Value();
            head = 0;
        }
        return;
    }
    items[head++] = Value();
    if (head == items.size()) {  // nothing left: the whole capacity is room again
        items.clear();
        head = 0;
    }
}

bool SeqObj::push_front(Value x) {
    if (head == 0 || !base.is_nil()) {
        const size_t n = elements().size();
        const size_t room = std::max<size_t>(n, 4);
        if (!room_to_build(static_cast<int64_t>((room + n) * sizeof(Value)))) return false;
        own_elements(*this, room);
    }
    hash_cache.forget();
    items[--head] = std::move(x);
    return true;
}

Value make_suffix(const Value& seq, size_t from, Type as) {
    const auto* o = static_cast<const SeqObj*>(seq.object_ptr());
    auto* s = new SeqObj({});
    // A suffix of a suffix shares the owner's storage (never a chain of suffixes).
    s->base = o->base.is_nil() ? seq : o->base;
    s->head = (o->base.is_nil() ? 0 : o->head) + from;
    return Value::object(as, s);
}

// ---- maps -----------------------------------------------------------------------------------

MapObj::MapObj(std::vector<Entry> e) {
    slots_.reserve(e.size());
    account(static_cast<int64_t>(sizeof(MapObj) + slots_.capacity() * sizeof(Entry)));
    for (auto& [k, v] : e) {
        if (!keep_building()) break;  // over a limit: the evaluator raises it, the map is dropped
        set(std::move(k), std::move(v));
    }
}

MapObj::MapObj(const MapObj& other) : Object() {
    refs = 0;
    other.close_gaps();
    slots_ = other.slots_;
    account(static_cast<int64_t>(sizeof(MapObj) + slots_.capacity() * sizeof(Entry)));
    if (other.index_) index_ = std::make_unique<MapIndex>(*other.index_);
    account_index();
}

void MapObj::account_index() {
    const int64_t now = index_charge(index_ ? &index_->pos : nullptr);
    account(now - index_bytes_);
    index_bytes_ = now;
}

MapObj::MapObj() { account(sizeof(MapObj)); }
MapObj::~MapObj() = default;

std::span<const MapObj::Entry> MapObj::entries() const {
    if (gaps_ > 0) close_gaps();
    return std::span<const Entry>(slots_).subspan(head_);
}

// An empty slot's key is the recur signal, which no program can hold (a lookup of the key in
// the index told them apart, and a ##NaN key, equal to nothing, read as empty: its entry was
// dropped and the index kept a slot past the end, red team 2026-12-07).
MapObj::Entry MapObj::empty_slot() { return {Value::recur_signal(), Value()}; }
bool MapObj::live(size_t slot) const { return !slots_[slot].first.is(Type::Recur); }

// Moves the entries to slots_[0..size()) and renumbers the index: O(n).
void MapObj::close_gaps() const {
    if (head_ == 0 && gaps_ == 0) return;
    std::vector<size_t> moved_to(slots_.size(), SIZE_MAX);
    size_t kept = 0;
    for (size_t i = head_; i < slots_.size(); ++i) {
        if (!live(i)) continue;
        if (kept != i) slots_[kept] = std::move(slots_[i]);
        moved_to[i] = kept++;
    }
    slots_.resize(kept);
    for (auto& [k, at] : index_->pos) at = moved_to[at];
    head_ = 0;
    gaps_ = 0;
}

const Value* MapObj::find(const Value& key) const {
    if (index_) {
        auto it = index_->pos.find(key);
        return it == index_->pos.end() ? nullptr : &slots_[it->second].second;
    }
    for (const auto& e : slots_)
        if (equals(e.first, key)) return &e.second;
    return nullptr;
}

void MapObj::set(Value key, Value val) {
    if (index_) {
        auto it = index_->pos.find(key);
        if (it != index_->pos.end()) {
            slots_[it->second].second = std::move(val);
            return;
        }
        // Empty slots as many as the entries are reclaimed before the storage grows: a map
        // that gains a key and loses its oldest on every step stays its size.
        if (slots_.size() == slots_.capacity() && head_ + gaps_ >= size()) close_gaps();
        index_->pos.emplace(key, slots_.size());
        account_index();
    } else {
        for (auto& e : slots_) {
            if (equals(e.first, key)) {
                e.second = std::move(val);
                return;
            }
        }
    }
    const size_t capacity = slots_.capacity();
    slots_.emplace_back(std::move(key), std::move(val));
    if (slots_.capacity() != capacity)
        account(static_cast<int64_t>((slots_.capacity() - capacity) * sizeof(Entry)));
    if (!index_ && slots_.size() > kIndexThreshold) rebuild_index();
}

size_t MapObj::erase_all(std::span<const Value> keys) {
    size_t n_gone = 0;
    if (!index_) {  // at most kIndexThreshold entries, no empty slots
        for (const Value& key : keys) {
            auto it = std::find_if(slots_.begin(), slots_.end(),
                                   [&](const Entry& e) { return equals(e.first, key); });
            if (it == slots_.end()) continue;
            slots_.erase(it);
            ++n_gone;
        }
        return n_gone;
    }
    for (const Value& key : keys) {
        auto it = index_->pos.find(key);
        if (it == index_->pos.end()) continue;
        const size_t at = it->second;
        index_->pos.erase(it);
        slots_[at] = empty_slot();
        ++n_gone;
        if (at == head_) {  // the oldest entry: the next live one becomes the first
            ++head_;
            while (gaps_ > 0 && head_ < slots_.size() && !live(head_)) ++head_, --gaps_;
        } else if (at + 1 == slots_.size()) {  // the newest: the storage ends at the one before
            slots_.pop_back();
            while (gaps_ > 0 && slots_.size() > head_ && !live(slots_.size() - 1))
                slots_.pop_back(), --gaps_;
        } else {
            ++gaps_;
        }
        if (head_ == slots_.size()) {
            slots_.clear();
            head_ = 0;
        }
    }
    if (size() <= kIndexThreshold) {
        close_gaps();
        index_.reset();
    }
    account_index();
    return n_gone;
}

void MapObj::rebuild_index() {  // only without empty slots
    if (slots_.size() <= kIndexThreshold) {
        index_.reset();
        account_index();
        return;
    }
    index_ = std::make_unique<MapIndex>();
    index_->pos.reserve(slots_.size() * 2);
    for (size_t i = 0; i < slots_.size(); ++i) index_->pos.emplace(slots_[i].first, i);
    account_index();
}

// ---- errors ---------------------------------------------------------------------------------

static constexpr struct {
    ErrorKind kind;
    const char* name;
} kErrorNames[] = {
    {ErrorKind::TypeError, "TypeError"},
    {ErrorKind::UndefinedSymbol, "UndefinedSymbol"},
    {ErrorKind::ArityMismatch, "ArityMismatch"},
    {ErrorKind::DivisionByZero, "DivisionByZero"},
    {ErrorKind::IndexOutOfBounds, "IndexOutOfBounds"},
    {ErrorKind::MatchError, "MatchError"},
    {ErrorKind::TypeValidationError, "TypeValidationError"},
    {ErrorKind::InvalidArgument, "InvalidArgument"},
    {ErrorKind::Overflow, "Overflow"},
    {ErrorKind::SecurityViolation, "SecurityViolation"},
    {ErrorKind::CapabilityError, "CapabilityError"},
    {ErrorKind::RecursionLimit, "RecursionLimit"},
    {ErrorKind::Interrupted, "Interrupted"},
    {ErrorKind::ResourceLimit, "ResourceLimit"},
    {ErrorKind::UserError, "UserError"},
    {ErrorKind::ReadError, "ReadError"},
};

const char* to_string(ErrorKind k) {
    for (const auto& e : kErrorNames)
        if (e.kind == k) return e.name;
    return "Error";
}

bool error_kind_from_string(std::string_view name, ErrorKind* out) {
    for (const auto& e : kErrorNames) {
        if (name == e.name) {
            *out = e.kind;
            return true;
        }
    }
    return false;
}

ErrObj::ErrObj(ErrorKind k, std::string msg, Value d)
    : kind(k), message(std::move(msg)), data(std::move(d)) {
    account(static_cast<int64_t>(sizeof(ErrObj) + message.capacity()));
}

Error::Error(ErrorKind kind, std::string message, Value data)
    : v_(make_error_value(kind, std::move(message), std::move(data))) {}

Error::Error(Value error_value) : v_(std::move(error_value)) {}

void Error::locate(int line, int column) {
    if (line <= 0 || v_.err().line > 0) return;
    auto& e = const_cast<ErrObj&>(v_.err());
    e.line = line;
    e.column = column;
}

std::string Error::located_message() const {
    std::string s = message();
    if (line() > 0) s += " (at " + std::to_string(line()) + ":" + std::to_string(column()) + ")";
    return s;
}

std::string Error::describe() const { return std::string(to_string(kind())) + ": " + located_message(); }

// ---- constructors ---------------------------------------------------------------------------

Value make_string(std::string s) { return Value::object(Type::String, new StrObj(std::move(s))); }
Value make_keyword(std::string n) { return Value::object(Type::Keyword, new StrObj(std::move(n))); }
Value make_symbol(std::string n) { return Value::object(Type::Symbol, new StrObj(std::move(n))); }
Value make_list(std::vector<Value> items) {
    return Value::object(Type::List, new SeqObj(std::move(items)));
}
Value make_vector(std::vector<Value> items) {
    return Value::object(Type::Vector, new SeqObj(std::move(items)));
}
Value make_set(std::vector<Value> items) {
    std::vector<Value> unique;
    unique.reserve(items.size());
    if (items.size() <= SeqObj::kSetIndexThreshold) {
        for (auto& v : items) {
            bool seen = false;
            for (const auto& u : unique) seen = seen || equals(u, v);
            if (!seen) unique.push_back(std::move(v));
        }
        return Value::object(Type::Set, new SeqObj(std::move(unique)));
    }
    auto index = std::make_unique<SetIndex>();
    {
        ScopedHeapCharge held;  // the table, as it grows with the distinct members
        for (auto& v : items) {
            if (!keep_building()) break;  // over a limit: the evaluator raises it
            if (index->members.insert(v).second) {
                held.add(kHashNodeBytes);
                unique.push_back(std::move(v));
            }
        }
    }  // the set is charged for the table from here on
    if (!keep_building()) index.reset();  // cut short: not an index to trust (nor a set to keep)
    auto* set = new SeqObj(std::move(unique));
    Value out = Value::object(Type::Set, set);
    set->set_index(std::move(index));
    if (set->items.size() <= SeqObj::kSetIndexThreshold) set->set_index(nullptr);
    return out;
}
Value make_map(std::vector<std::pair<Value, Value>> entries) {
    return Value::object(Type::Map, new MapObj(std::move(entries)));
}
Value make_error_value(ErrorKind kind, std::string message, Value data) {
    return Value::object(Type::Error, new ErrObj(kind, std::move(message), std::move(data)));
}

// ---- equality, hashing, ordering ------------------------------------------------------------

namespace {

bool is_collection(const Value& v) { return v.is_seq() || v.is(Type::Set) || v.is(Type::Map); }

// Collection levels that equals() has entered recursively on this thread, and nested iterative
// walks (see equals_iterative). Thread-local because equality is reached from hash-table
// lookups, which cannot pass a depth along.
thread_local uint32_t t_equals_level = 0;
thread_local uint32_t t_iterative_nesting = 0;

struct LevelGuard {
    uint32_t& level;
    explicit LevelGuard(uint32_t& l) : level(l) { ++level; }
    ~LevelGuard() { --level; }
};

// Equality and hashing cannot return an error, and a long walk (two large values, or sets
// compared element by element) must still end with the run: each collection they enter polls
// the evaluation's limits and counts as a step (poll_walk), and
// the first failure stops every walk on this thread until the evaluator takes its error
// (take_walk_interruption) and ends the evaluation with it. What a stopped walk answers is
// never used: the evaluator raises the error before it acts again.
// (A pointer: the wasm guest's runtime has no destructors for thread-local objects.)
thread_local Error* t_walk_interruption = nullptr;

// True when limits held; else their error is kept for the evaluator (take_walk_interruption).
bool keeps_going(Expected<void, Error> limits) {
    if (limits) return true;
    t_walk_interruption = new Error(limits.error());
    return false;
}

// A collection of `elements` entered: one step against max_steps, and its elements' work
// against the deadline (a step per collection alone let one deadline check sit 4096 walks of
// flat 1.5-million-element vectors apart: (dedupe) of 400,000 of them ran 19 s of a 3 s run;
// red team, 2026-12-06).
bool walk_step(size_t elements) {
    if (t_walk_interruption) return false;
    auto limits = poll_walk();
    if (limits && elements > 0) limits = poll_limits(elements);
    return keeps_going(std::move(limits));
}

uint64_t scramble(uint64_t x);

// A collection's kept hash (0: not hashed yet), read by equality and written by hashing.
const HashCache& hash_cache_of(const Value& v) {
    return v.is(Type::Map) ? v.map().hash_cache : static_cast<const SeqObj*>(v.object_ptr())->hash_cache;
}

// Two collections (by object), as equality and ordering meet them.
struct PairKey {
    const Object* a;
    const Object* b;
    bool operator==(const PairKey&) const = default;
};
struct PairKeyHash {
    size_t operator()(PairKey k) const {
        return static_cast<size_t>(scramble(reinterpret_cast<uintptr_t>(k.a) * 0x9e3779b97f4a7c15ULL ^
                                            reinterpret_cast<uintptr_t>(k.b)));
    }
};

// Values built apart from shared parts ([s s], nested N times, twice) meet the same pair of
// collections once per path: 2^N times. A walk that has entered more than kMemoAfter pairs
// keeps what each pair it finished answered, and answers a pair met again from there: the
// walk is then linear in the distinct pairs it meets. At most kMemoPairs are kept (a few MB of
// host memory), and as many by all the nested iterative walks together; past that the walk goes on without remembering more, its steps counted
// against max_steps (walk_step). Small walks never build the table.
constexpr uint32_t kMemoAfter = 64;
constexpr size_t kMemoPairs = size_t{1} << 16;

template <class R>
class PairMemo {
public:
    // A walk enters the pair (a, b): what it answered before, once the table is kept.
    const R* enter(const Object* a, const Object* b) {
        if (!known_ && ++entered_ > kMemoAfter) known_.emplace();
        if (!known_) return nullptr;
        auto it = known_->find(PairKey{a, b});
        return it == known_->end() ? nullptr : &it->second;
    }
    void put(const Object* a, const Object* b, R r) {
        if (known_ && known_->size() < kMemoPairs) known_->emplace(PairKey{a, b}, r);
    }

private:
    uint32_t entered_ = 0;
    std::optional<std::unordered_map<PairKey, R, PairKeyHash>> known_;
};

// The memo of the outermost equality running on this thread (its frame owns it), created once
// that equality has entered kMemoAfter pairs. Objects cannot die or change during the walk
// (the caller holds both values), so a pointer pair names the same two values throughout.
struct EqualityWalk {
    PairMemo<bool> memo;
    // Pairs the nested iterative walks keep between them (equals_iterative): one budget for all
    // of them, so that walks nested a thousand deep do not keep kMemoPairs each (3.7 GB of the
    // host's from a value of a megabyte: a review, 2026-12-06).
    size_t iterative_pairs = 0;
    // The lowest native stack address the walk may reach: nesting ends there as too deep,
    // whatever the frames cost (sanitizers make them several times larger).
    const char* stack_floor = nullptr;
};
thread_local EqualityWalk* t_equality_walk = nullptr;

// Points at a set's element, hashed and compared as the element.
struct ElemRef {
    const Value* v;
};
struct ElemRefHash {
    size_t operator()(ElemRef e) const { return hash_value(*e.v); }
};
struct ElemRefEq {
    bool operator()(ElemRef a, ElemRef b) const { return equals(*a.v, *b.v); }
};

// Two sets of the same size, neither with duplicates: equal when every element of x is in y.
// Small sets are compared pairwise; larger ones through a hash table of y (expected linear
// time; pairwise, two 300,000-element sets took minutes).
bool sets_equal(std::span<const Value> x, std::span<const Value> y) {
    constexpr size_t kPairwise = 8;
    if (x.size() <= kPairwise) {
        for (const auto& v : x) {
            bool found = false;
            for (const auto& w : y) {
                if (equals(v, w)) {
                    found = true;
                    break;
                }
            }
            if (!found) return false;
        }
        return true;
    }
    const ScopedHeapCharge held(static_cast<int64_t>(y.size()) * kHashNodeBytes);
    if (!keep_building(y.size())) return false;  // over a limit: the evaluator raises it
    std::unordered_set<ElemRef, ElemRefHash, ElemRefEq> index;
    index.reserve(y.size());
    for (const auto& w : y) index.insert(ElemRef{&w});
    for (const auto& v : x)
        if (!index.contains(ElemRef{&v})) return false;
    return true;
}

bool maps_equal(const MapObj& x, const MapObj& y) {
    for (const auto& [k, v] : x.entries()) {
        const Value* other = y.find(k);  // a hash lookup once the map is indexed
        if (!other || !equals(v, *other)) return false;
    }
    return true;
}

// One level of two collections of matching kinds and sizes (elements through equals()).
bool equal_contents(const Value& a, const Value& b) {
    if (a.is_seq()) {
        const auto& x = a.items();
        const auto& y = b.items();
        for (size_t i = 0; i < x.size(); ++i)
            if (!equals(x[i], y[i])) return false;
        return true;
    }
    if (a.is(Type::Set)) return sets_equal(a.items(), b.items());
    return maps_equal(a.map(), b.map());
}

size_t collection_size(const Value& v) { return v.is(Type::Map) ? v.map().size() : v.items().size(); }

// Past the nesting equality can walk, it cannot tell: rather than a wrong answer, it stops the
// evaluation with the RecursionLimit error compare gives (through the walk interruption; what
// it answers meanwhile is never used).
[[gnu::noinline, gnu::cold]] bool too_deep_to_test_equality() {
    if (!t_walk_interruption)
        t_walk_interruption = new Error(ErrorKind::RecursionLimit,
                                        "Recursion limit: cannot compare values nested more than " +
                                            std::to_string(2 * kMaxValueDepth) +
                                            " levels deep, or deeper than this thread's stack holds");
    return false;
}

// Equality below kMaxValueDepth levels, with a work list instead of native recursion: list and
// vector elements, and the single element of one-element sets and maps, are paired up on the
// list. Larger sets and maps need a lookup per element (equal_contents), which comes back
// here one native frame deeper; kMaxValueDepth such nested walks are allowed, beyond that
// equality is a RecursionLimit error (too_deep_to_test_equality).
bool equals_iterative(const Value& a, const Value& b) {
    if (t_iterative_nesting >= kMaxValueDepth) return too_deep_to_test_equality();
    LevelGuard nested(t_iterative_nesting);
    std::vector<std::pair<const Value*, const Value*>> work{{&a, &b}};
    // The walk's answer is that every pair on its list is equal: a pair of collections already
    // taken off the list needs no second look (it is equal, or the walk answers false anyway).
    // (On the heap: this frame is repeated once per nested walk.)
    std::unique_ptr<std::unordered_set<PairKey, PairKeyHash>> seen;
    uint32_t entered = 0;
    while (!work.empty()) {
        const Value& x = *work.back().first;
        const Value& y = *work.back().second;
        work.pop_back();
        const bool both_seq = x.is_seq() && y.is_seq();
        if (!is_collection(x) || (x.type() != y.type() && !both_seq)) {
            if (!equals(x, y)) return false;  // a scalar or a type mismatch: no recursion
            continue;
        }
        if (x.object_ptr() == y.object_ptr()) continue;
        if (collection_size(x) != collection_size(y)) return false;
        if (!walk_step(collection_size(x))) return false;
        if (!seen && ++entered > kMemoAfter) seen = std::make_unique<std::unordered_set<PairKey, PairKeyHash>>();
        if (seen) {
            const PairKey pair{x.object_ptr(), y.object_ptr()};
            if (seen->contains(pair)) continue;
            if (t_equality_walk->iterative_pairs < kMemoPairs) {
                seen->insert(pair);
                ++t_equality_walk->iterative_pairs;
            }
        }
        if (both_seq) {
            for (size_t i = 0; i < x.items().size(); ++i)
                work.emplace_back(&x.items()[i], &y.items()[i]);
        } else if (collection_size(x) == 1 && x.is(Type::Set)) {
            work.emplace_back(&x.items()[0], &y.items()[0]);
        } else if (collection_size(x) == 1) {
            const auto& e = x.map().entries()[0];
            const auto& f = y.map().entries()[0];
            work.emplace_back(&e.first, &f.first);
            work.emplace_back(&e.second, &f.second);
        } else if (!equal_contents(x, y)) {
            return false;
        }
    }
    return true;
}

// Two collections of matching kinds and sizes, within the outermost equality's walk.
bool equal_collections(const Value& a, const Value& b) {
    EqualityWalk& walk = *t_equality_walk;
    if (detail::below_stack_floor(walk.stack_floor)) return too_deep_to_test_equality();
    if (const bool* known = walk.memo.enter(a.object_ptr(), b.object_ptr())) return *known;
    bool equal;
    if (t_equals_level >= kMaxValueDepth) {
        equal = equals_iterative(a, b);
    } else {
        LevelGuard level(t_equals_level);
        equal = equal_contents(a, b);
    }
    // (After an interruption the answer means nothing, and neither does the rest of the walk.)
    walk.memo.put(a.object_ptr(), b.object_ptr(), equal);
    return equal;
}

// The outermost equality on this thread: its walk's state lives in this frame alone, not in
// every equals() frame the walk nests (sanitizers multiply what each frame holds).
[[gnu::noinline]] bool equals_outermost(const Value& a, const Value& b) {
    EqualityWalk walk;
    walk.stack_floor = detail::stack_floor_here();
    t_equality_walk = &walk;
    const bool equal = equal_collections(a, b);
    t_equality_walk = nullptr;
    return equal;
}

}  // namespace

bool equals(const Value& a, const Value& b) {
    const bool a_seq = a.is_seq(), b_seq = b.is_seq();
    if (a.type() != b.type() && !(a_seq && b_seq)) return false;
    switch (a.type()) {
        case Type::Nil: return true;
        case Type::Bool: return a.as_bool() == b.as_bool();
        case Type::Int: return a.as_int() == b.as_int();
        case Type::Float: return a.as_float() == b.as_float();
        case Type::String:
        case Type::Keyword:
        case Type::Symbol: return a.object_ptr() == b.object_ptr() || a.str() == b.str();
        case Type::List:
        case Type::Vector:
        case Type::Set:
        case Type::Map: {
            if (a.object_ptr() == b.object_ptr()) return true;
            if (collection_size(a) != collection_size(b)) return false;
            if (const uint64_t ha = hash_cache_of(a).get(), hb = hash_cache_of(b).get(); ha && hb && ha != hb)
                return false;  // both hashed before, and equal values hash equally
            if (!walk_step(collection_size(a))) return false;
            return t_equality_walk ? equal_collections(a, b) : equals_outermost(a, b);
        }
        case Type::Function:
        case Type::Error: return a.object_ptr() == b.object_ptr();
        case Type::Builtin: return a.as_builtin() == b.as_builtin();
        case Type::Recur: return true;
    }
    return false;
}

namespace {

uint64_t mix(uint64_t h, uint64_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

// splitmix64's finalizer: every input bit affects every output bit.
uint64_t scramble(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Chosen once per process, so that a program cannot precompute keys that collide (integers
// hashed to themselves collided at will: multiples of a table's bucket count; and the plain
// sum of element hashes made #{i (- K i)} all equal). Not cryptographic: it only has to be
// unknown to a program, which never sees a hash.
uint64_t hash_seed() {
    static const uint64_t seed = [] {
        int local = 0;
        const auto now = static_cast<uint64_t>(
            std::chrono::steady_clock::now().time_since_epoch().count());
        return scramble(now ^ scramble(reinterpret_cast<uintptr_t>(&local)) ^
                        (reinterpret_cast<uintptr_t>(&hash_seed) << 1));
    }();
    return seed;
}

uint64_t scalar_hash(const Value& v) {
    switch (v.type()) {
        case Type::Nil: return 0x51ed27;
        case Type::Bool: return v.as_bool() ? 0x1231 : 0x1237;
        case Type::Int: return scramble(static_cast<uint64_t>(v.as_int()) ^ hash_seed());
        case Type::Float: return scramble(std::hash<double>()(v.as_float()) ^ hash_seed() ^ 0xf10a7);
        case Type::String:
        case Type::Keyword:
        case Type::Symbol: {
            const HashCache& cache = static_cast<const StrObj*>(v.object_ptr())->hash_cache;
            if (const uint64_t h = cache.get()) return h;
            uint64_t h = scramble(mix(static_cast<uint64_t>(v.type()) ^ hash_seed(), std::hash<std::string_view>()(v.str())));
            if (h == 0) h = 0x243f6a8885a308d3ULL;  // 0 means "not hashed yet"
            cache.set(h);
            return h;
        }
        case Type::Function:
        case Type::Error: return std::hash<const void*>()(v.object_ptr());
        case Type::Builtin: return std::hash<const void*>()(v.as_builtin());
        case Type::Recur: return 1;
        case Type::List:
        case Type::Vector:
        case Type::Set:
        case Type::Map: break;  // hash_collection
    }
    return 0;
}

// A collection being hashed: its hash so far, and the next of its parts to fold in (a map's
// keys and values alternate).
struct HashFrame {
    const Value* v;
    size_t next = 0;
    uint64_t acc = 0;
    uint64_t key = 0;  // a map's last key hash, until its value comes
    explicit HashFrame(const Value& c) : v(&c) {
        if (c.is(Type::Map)) acc = mix(0x3a9, c.map().size());
        else if (c.is(Type::Set)) acc = mix(0x5e7, c.items().size());
        else acc = mix(0x5e9, c.items().size());  // lists and vectors: equal if items are
    }
    size_t parts() const { return v->is(Type::Map) ? 2 * v->map().size() : v->items().size(); }
    const Value& part(size_t i) const {
        if (!v->is(Type::Map)) return v->items()[i];
        const auto& e = v->map().entries()[i / 2];
        return i % 2 == 0 ? e.first : e.second;
    }
    void fold(uint64_t h) {
        if (v->is_seq()) {
            acc = mix(acc, h);
        } else if (v->is(Type::Set)) {
            // Order-independent: a sum, of scrambled (seeded) element hashes so that no
            // arithmetic relation between elements makes two sets collide.
            acc += scramble(h ^ hash_seed());
        } else if (next % 2 == 1) {
            key = h;
        } else {
            acc += scramble(mix(key, h) ^ hash_seed());
        }
    }
};

// A collection's hash over all its depth, with a work list instead of native recursion, each
// collection's hash kept in it once known (HashCache): a part met again, by another path or in
// a later hash, is not walked again, so hashing is linear in the distinct collections not yet
// hashed. Each collection walked is a step (walk_step); a walk stopped there answers a hash
// that means nothing, and keeps only those it finished.
uint64_t hash_collection(const Value& root) {
    if (const uint64_t h = hash_cache_of(root).get()) return h;
    if (!walk_step(collection_size(root))) return 0;
    std::vector<HashFrame> work;
    work.emplace_back(root);
    for (;;) {
        HashFrame& top = work.back();
        if (top.next < top.parts()) {
            const Value& part = top.part(top.next++);
            if (part.is_seq() || part.is(Type::Set) || part.is(Type::Map)) {
                if (const uint64_t h = hash_cache_of(part).get()) {
                    top.fold(h);
                } else {
                    if (!walk_step(collection_size(part))) return 0;
                    work.emplace_back(part);  // (top is not used again before it is back)
                }
            } else {
                top.fold(scalar_hash(part));
            }
            continue;
        }
        uint64_t h = top.acc;
        if (h == 0) h = 0x6a09e667f3bcc908ULL;  // 0 means "not hashed yet"
        hash_cache_of(*top.v).set(h);
        work.pop_back();
        if (work.empty()) return h;
        work.back().fold(h);
    }
}

}  // namespace

size_t hash_value(const Value& v) {
    const bool collection = v.is_seq() || v.is(Type::Set) || v.is(Type::Map);
    const uint64_t h = collection ? hash_collection(v) : scalar_hash(v);
    return static_cast<size_t>(h ^ (h >> 32));  // size_t is 32 bits in the wasm guest
}

size_t ValueHash::operator()(const Value& v) const { return hash_value(v); }
bool ValueEq::operator()(const Value& a, const Value& b) const { return equals(a, b); }

static int type_rank(Type t) {
    switch (t) {
        case Type::Nil: return 0;
        case Type::Bool: return 1;
        case Type::Int:
        case Type::Float: return 2;
        case Type::String: return 3;
        case Type::Keyword: return 4;
        case Type::Symbol: return 5;
        case Type::List:
        case Type::Vector: return 6;
        default: return 7;
    }
}

[[gnu::noinline, gnu::cold]] static Unexpected<Error> too_deep_to_compare() {
    return error(ErrorKind::RecursionLimit, "Recursion limit: cannot compare values nested more than " +
                                                std::to_string(kMaxValueDepth) +
                                                " levels deep, or deeper than this thread's stack holds");
}

// Ordering meets pairs of shared parts once per path as equality does: past kMemoAfter pairs
// it keeps what each pair it finished answered (an error ends the whole comparison).
struct OrderingWalk {
    PairMemo<int> memo;
    // As equality's: the nesting ends where the thread's stack does, whatever a frame costs.
    const char* stack_floor = detail::stack_floor_here();
};

static Result<int> compare_at(const Value& a, const Value& b, uint32_t level, OrderingWalk& walk) {
    if (a.is_number() && b.is_number()) {
        if (a.is(Type::Int) && b.is(Type::Int))
            return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
        double x = a.to_double(), y = b.to_double();
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    // nil comes before every other value, as in Clojure: sorting by a key some maps lack was a
    // TypeError (red team, 2026-12-07).
    if (a.is_nil() || b.is_nil()) return a.is_nil() == b.is_nil() ? 0 : (a.is_nil() ? -1 : 1);
    int ra = type_rank(a.type()), rb = type_rank(b.type());
    if (ra != rb || ra == 7) {
        if (ra == rb && ra != 7) return 0;
        return error(ErrorKind::TypeError, std::string("Type error in compare: cannot compare ") +
                                               type_name(a) + " with " + type_name(b));
    }
    switch (ra) {
        case 0: return 0;
        case 1: return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
        case 3:
        case 4:
        case 5: {
            int c = a.str().compare(b.str());
            return c < 0 ? -1 : (c > 0 ? 1 : 0);
        }
        case 6: {
            if (level >= kMaxValueDepth || detail::below_stack_floor(walk.stack_floor)) return too_deep_to_compare();
            RTFS_CHECK(poll_walk());
            if (const int* known = walk.memo.enter(a.object_ptr(), b.object_ptr())) return *known;
            const auto& x = a.items();
            const auto& y = b.items();
            RTFS_CHECK(poll_limits(std::min(x.size(), y.size())));  // the elements' work, as walk_step
            int order = x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
            for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
                RTFS_TRY(int c, compare_at(x[i], y[i], level + 1, walk));
                if (c != 0) {
                    order = c;
                    break;
                }
            }
            walk.memo.put(a.object_ptr(), b.object_ptr(), order);
            return order;
        }
    }
    return 0;
}

Result<int> compare_values(const Value& a, const Value& b) {
    OrderingWalk walk;
    return compare_at(a, b, 0, walk);
}

bool keep_building(uint64_t work) {
    if (t_walk_interruption) return false;
    return keeps_going(poll_limits(work));
}

bool room_to_build(int64_t bytes) {
    if (t_walk_interruption) return false;
    return keeps_going(charge_alloc(bytes));
}

ScopedHeapCharge::ScopedHeapCharge(int64_t bytes) : heap_(current_heap_stats()), bytes_(bytes) {
    if (heap_) heap_->add(bytes_);
}
ScopedHeapCharge::~ScopedHeapCharge() {
    if (heap_) heap_->add(-bytes_);
}
void ScopedHeapCharge::add(int64_t bytes) {
    bytes_ += bytes;
    if (heap_) heap_->add(bytes);
}

std::optional<Error> take_walk_interruption() {
    if (!t_walk_interruption) return std::nullopt;
    std::unique_ptr<Error> taken(std::exchange(t_walk_interruption, nullptr));
    return std::move(*taken);
}

}  // namespace rtfs
