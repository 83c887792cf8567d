// RTFS values. A Value is 16 bytes: a type tag and either an immediate (nil, bool, int, float,
// builtin) or a pointer to a reference-counted heap object. Values are immutable to programs;
// the runtime may update an object in place only while it holds the sole reference (so that
// `(reduce conj [] xs)` is linear), which no program can observe.
//
// Reference counts are not atomic: a value graph belongs to one interpreter (one thread) at a
// time. Handing a finished result to another thread after a join is fine.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "rtfs/expected.hpp"

namespace rtfs {

enum class Type : uint8_t {
    Nil,
    Bool,
    Int,
    Float,
    Builtin,   // native function of the standard library (an immediate: a static table entry)
    String,
    Keyword,
    Symbol,
    List,
    Vector,
    Map,
    Set,
    Function,  // closure
    Error,     // an error value (what `catch` binds)
    Recur,     // internal: the signal `recur` sends to its loop; never visible to programs
};

// "integer", "float", ... as returned by `type-name`.
const char* type_name(Type t);

class Value;
class Interpreter;
struct Object;
struct BuiltinDef;
struct HeapStats;

// Heap accounting for the interpreter running on this thread (nullptr = none). Objects add
// their size when created and subtract it when destroyed; the interpreter compares the live
// total against its memory limit.
struct HeapStats {
    int64_t live_bytes = 0;
    int64_t peak_bytes = 0;
    void add(int64_t n) {
        live_bytes += n;
        if (live_bytes > peak_bytes) peak_bytes = live_bytes;
    }
};
HeapStats*& current_heap_stats();

struct Object {
    uint32_t refs = 0;
    int64_t accounted = 0;  // bytes added to the heap stats at creation
    virtual ~Object();
    void account(int64_t bytes);  // adds to the current heap stats (and remembers it)
};

class Value {
public:
    Value() : type_(Type::Nil) { u_.i = 0; }
    static Value nil() { return Value(); }
    static Value boolean(bool b) { Value v(Type::Bool); v.u_.b = b; return v; }
    static Value integer(int64_t i) { Value v(Type::Int); v.u_.i = i; return v; }
    static Value floating(double d) { Value v(Type::Float); v.u_.f = d; return v; }
    static Value builtin(const BuiltinDef* b) { Value v(Type::Builtin); v.u_.b_def = b; return v; }
    static Value recur_signal() { return Value(Type::Recur); }
    // Takes ownership of a freshly created object (refcount 0 -> 1).
    static Value object(Type t, Object* o) {
        Value v(t);
        v.u_.o = o;
        ++o->refs;
        return v;
    }

    Value(const Value& other) : type_(other.type_), u_(other.u_) { retain(); }
    Value(Value&& other) noexcept : type_(other.type_), u_(other.u_) { other.type_ = Type::Nil; }
    Value& operator=(const Value& other) {
        if (this != &other) {
            Value tmp(other);
            swap(tmp);
        }
        return *this;
    }
    Value& operator=(Value&& other) noexcept {
        if (this != &other) {
            release();
            type_ = other.type_;
            u_ = other.u_;
            other.type_ = Type::Nil;
        }
        return *this;
    }
    ~Value() { release(); }
    void swap(Value& o) noexcept {
        std::swap(type_, o.type_);
        std::swap(u_, o.u_);
    }

    Type type() const { return type_; }
    bool is(Type t) const { return type_ == t; }
    bool is_nil() const { return type_ == Type::Nil; }
    bool is_number() const { return type_ == Type::Int || type_ == Type::Float; }
    bool is_seq() const { return type_ == Type::List || type_ == Type::Vector; }
    // String through Error are reference-counted heap objects.
    bool is_heap() const { return type_ >= Type::String && type_ <= Type::Error; }
    bool truthy() const { return !(type_ == Type::Nil || (type_ == Type::Bool && !u_.b)); }
    bool unique() const { return is_heap() && u_.o->refs == 1; }

    bool as_bool() const { return u_.b; }
    int64_t as_int() const { return u_.i; }
    double as_float() const { return u_.f; }
    double to_double() const { return type_ == Type::Int ? static_cast<double>(u_.i) : u_.f; }
    const BuiltinDef* as_builtin() const { return u_.b_def; }
    Object* object_ptr() const { return u_.o; }

    // Typed access to heap objects; the caller has checked the type.
    const std::string& str() const;  // String, Keyword, Symbol
    std::span<const Value> items() const;  // List, Vector, Set
    std::vector<Value>& mutable_items();  // only while unique()
    const struct MapObj& map() const;
    struct MapObj& mutable_map();  // only while unique()
    const struct FnObj& fn() const;
    const struct ErrObj& err() const;

private:
    explicit Value(Type t) : type_(t) { u_.i = 0; }
    void retain() const {
        if (is_heap()) ++u_.o->refs;
    }
    void release() {
        if (is_heap() && --u_.o->refs == 0) destroy(u_.o);
    }
    // Deletes o without recursing through nested values (a million-deep vector must not
    // overflow the native stack when it dies).
    static void destroy(Object* o);

    Type type_;
    union {
        bool b;
        int64_t i;
        double f;
        Object* o;
        const BuiltinDef* b_def;
    } u_;
};

// ---- heap objects ---------------------------------------------------------------------------

// A collection's hash once computed (0 = not yet), kept so that hashing a value whose parts are
// shared ([s s], nested) visits each part once: its value never changes while anything but its
// sole owner can see it, and mutable_items()/mutable_map() forget it. A relaxed atomic, so that
// hashing stays a read as far as threads go: were a finished value ever read by two threads at
// once (the reference counts above do not allow more), both would store the same number.
struct HashCache {
    mutable std::atomic<uint64_t> hash{0};
    HashCache() = default;
    HashCache(const HashCache&) : hash(0) {}
    HashCache& operator=(const HashCache&) = delete;
    uint64_t get() const { return hash.load(std::memory_order_relaxed); }
    void set(uint64_t h) const { hash.store(h, std::memory_order_relaxed); }
    void forget() { hash.store(0, std::memory_order_relaxed); }
};

struct StrObj final : Object {  // String, Keyword, Symbol
    std::string s;
    // Its hash once computed: (set (repeat 5000 s)) of a 128 MiB s hashed all of it 5000
    // times, 157 s inside one builtin (red team, 2026-12-07).
    HashCache hash_cache;
    explicit StrObj(std::string v);
};

struct SeqObj final : Object {  // List, Vector, Set (a set keeps insertion order, no duplicates)
    // The elements are items[head..]; the slots before head are nil, left by taking the first
    // element off or made as room to put one in front. Or, when `base` is set, they are base's
    // elements from head on: a suffix that shares base's storage (base is then never changed,
    // as it is never uniquely owned). Both make `rest`, `next` and `cons` O(1), so that loops
    // over (rest s) or of (cons x acc) are linear as in Clojure (they were quadratic).
    std::vector<Value> items;
    size_t head = 0;
    Value base;  // nil, or a List/Vector SeqObj that owns its items (never itself a suffix)
    HashCache hash_cache;
    explicit SeqObj(std::vector<Value> v);

    std::span<const Value> elements() const;
    // The elements as a vector of their own (the room in front given up, a suffix copied). O(n)
    // once after drop_first, push_front or a suffix, then free.
    std::vector<Value>& compacted();
    // Only while the sole owner holds it (Value::unique).
    void drop_first();
    // Only while the sole owner holds it, with no base: keeps elements [from, to) of the
    // elements, releasing the rest; the storage stays (room in front, capacity behind) unless
    // it is over four times what is left.
    void keep(size_t from, size_t to);
    // Only while the sole owner holds it, with no base: x after the elements, the storage's
    // growth accounted (push_in_place, add_member).
    void append(Value x);
    // Amortised O(1): the room in front doubles as it runs out. False, nothing changed, when the
    // larger storage does not fit the memory limit (the failure kept, as room_to_build keeps it).
    bool push_front(Value x);

    // A set of more than kSetIndexThreshold members also holds them in a hash table, so that
    // membership is O(1): contains?, get and conj scanned every member, and a set grown one conj
    // at a time was quadratic (80,000 members: 8.6 s). `set` builds it at once; a set made
    // otherwise (a copy to update) gets one once its scans have visited kScansPerIndex times its
    // members (a table costs about that many comparisons), so that a copy updated once, or
    // searched for members found early, costs no table. Sets never have room, nor a base. The
    // index is made inside a lookup (a value belongs to one thread, as its reference counts do).
    static constexpr size_t kSetIndexThreshold = 16;
    static constexpr uint64_t kScansPerIndex = 4;
    mutable std::unique_ptr<struct SetIndex> index;
    mutable int64_t index_bytes = 0;  // what the heap was charged for the index (an estimate)
    mutable uint64_t scanned = 0;     // members visited by scans, towards an index
    ~SeqObj() override;
    const Value* find_member(const Value& x) const;
    bool add_member(Value x);  // sole owner: appends x unless present; true when it did
    void set_index(std::unique_ptr<struct SetIndex> built) const;
    void drop_index();

  private:
    void index_members() const;  // stops, with no index, at a limit (keep_building)
};

// seq's elements from `from` on (from <= its count), as a collection of type `as` (List or
// Vector) sharing seq's storage: O(1).
Value make_suffix(const Value& seq, size_t from, Type as);

struct ValueHash {
    size_t operator()(const Value& v) const;
};
struct ValueEq {
    bool operator()(const Value& a, const Value& b) const;
};
// The hash indexes hold their own references: the letrec collector counts them.
struct SetIndex {
    std::unordered_set<Value, ValueHash, ValueEq> members;
};
struct MapIndex {
    std::unordered_map<Value, size_t, ValueHash, ValueEq> pos;  // key -> slot (MapObj::slots_)
};

// A map keeps insertion order. Small maps are searched linearly; larger ones carry a hash index.
struct MapObj final : Object {
    using Entry = std::pair<Value, Value>;
    HashCache hash_cache;
    MapObj();
    explicit MapObj(std::vector<Entry> e);
    MapObj(const MapObj& other);  // the live entries only
    ~MapObj() override;

    // The entries in insertion order. An indexed map's erasures leave empty slots behind (an
    // erasure that moved the rest and renumbered the index made (dissoc m k) O(n), and a loop
    // of them quadratic: 50,000 took 24 s); this closes the gaps first (O(n), once after any
    // number of erasures, then free), except at either end, where nothing is left to close.
    // A value belongs to one thread, so the const accessor may tidy the storage: what find()
    // points to, and an earlier entries() span, last until the next call of entries() (or an
    // update), not longer.
    std::span<const Entry> entries() const;
    const Value* find(const Value& key) const;
    void set(Value key, Value val);  // insert or replace (keeps the original position)
    // Removes the entries of every key in keys; how many were removed. O(1) per key with an
    // index: (apply dissoc m ks) was a pass and an index rebuild per key, n * k.
    size_t erase_all(std::span<const Value> keys);
    size_t size() const { return slots_.size() - head_ - gaps_; }
    const MapIndex* index() const { return index_.get(); }

private:
    static constexpr size_t kIndexThreshold = 12;
    void rebuild_index();
    void close_gaps() const;
    static Entry empty_slot();
    bool live(size_t slot) const;  // whether slot holds an entry
    // Charges the heap what the index holds now (its nodes and buckets, an estimate), against
    // what it was charged before: the index was never counted, so a map held 2.75 times what
    // the limit allowed (red team, 2026-12-06).
    void account_index();
    int64_t index_bytes_ = 0;
    // The entries are slots_[head_..]; gaps_ of those are empty (empty_slot()), only in an
    // indexed map.
    mutable std::vector<Entry> slots_;
    mutable size_t head_ = 0;
    mutable size_t gaps_ = 0;
    // key -> slot in slots_; only when size() > kIndexThreshold.
    mutable std::unique_ptr<struct MapIndex> index_;
};

struct ErrorKindInfo;
enum class ErrorKind : uint8_t {
    TypeError,
    UndefinedSymbol,
    ArityMismatch,
    DivisionByZero,
    IndexOutOfBounds,
    MatchError,
    TypeValidationError,
    InvalidArgument,
    Overflow,            // integer overflow: an error, never wrap-around
    SecurityViolation,
    CapabilityError,     // an allowed capability failed (file missing, connection refused, ...)
    RecursionLimit,
    Interrupted,
    ResourceLimit,
    UserError,
    ReadError,
};
const char* to_string(ErrorKind k);
bool error_kind_from_string(std::string_view name, ErrorKind* out);

struct ErrObj final : Object {
    ErrorKind kind;
    std::string message;
    Value data;      // payload of a user error (`(throw {:message ...})`), else nil
    int line = 0;    // where it was raised, when known
    int column = 0;
    ErrObj(ErrorKind k, std::string msg, Value d = {});
};

// The error of a failed operation. It wraps an ErrObj value so that `catch` can bind it as is.
class Error {
public:
    Error(ErrorKind kind, std::string message, Value data = {});
    explicit Error(Value error_value);  // must be Type::Error

    ErrorKind kind() const { return v_.err().kind; }
    const std::string& message() const { return v_.err().message; }
    int line() const { return v_.err().line; }
    int column() const { return v_.err().column; }
    const Value& value() const { return v_; }
    // Sets line/column if the error has none yet (the innermost location wins).
    void locate(int line, int column);
    // "Division by zero (at 3:7)": the message, with the location when known.
    std::string located_message() const;
    // "DivisionByZero: Division by zero (at 3:7)".
    std::string describe() const;

private:
    Value v_;
};

template <class T>
using Result = Expected<T, Error>;

inline Unexpected<Error> error(ErrorKind kind, std::string message) {
    return {Error(kind, std::move(message))};
}

// ---- constructors and accessors -------------------------------------------------------------

Value make_string(std::string s);
Value make_keyword(std::string name);  // without the leading colon
Value make_symbol(std::string name);
Value make_list(std::vector<Value> items);
Value make_vector(std::vector<Value> items);
Value make_set(std::vector<Value> items);  // removes duplicates, keeps first occurrences
Value make_map(std::vector<std::pair<Value, Value>> entries);  // later duplicate keys win
Value make_error_value(ErrorKind kind, std::string message, Value data = {});

inline const std::string& Value::str() const { return static_cast<const StrObj*>(u_.o)->s; }
inline std::span<const Value> SeqObj::elements() const {
    if (!base.is_nil()) return base.items().subspan(head);
    return {items.data() + head, items.size() - head};
}
inline std::span<const Value> Value::items() const {
    return static_cast<const SeqObj*>(u_.o)->elements();
}
inline std::vector<Value>& Value::mutable_items() {
    auto* o = static_cast<SeqObj*>(u_.o);
    o->hash_cache.forget();
    if (o->index) o->drop_index();  // the caller may change the members
    return o->compacted();
}
inline const MapObj& Value::map() const { return *static_cast<const MapObj*>(u_.o); }
inline MapObj& Value::mutable_map() {
    auto* o = static_cast<MapObj*>(u_.o);
    o->hash_cache.forget();
    return *o;
}
inline const ErrObj& Value::err() const { return *static_cast<const ErrObj*>(u_.o); }

// A program can build a value millions of levels deep at runtime ((loop ... (recur [acc]))),
// and recursion that deep overflows the native stack (8 MiB in the wasm guest). No walk over a
// value recurses deeper than this: ordering and printing refuse such a value (RecursionLimit),
// equality goes on iteratively, hashing walks with a work list. The same 1000 levels as the
// reader and JSON: a level of set equality takes about 3 KB of stack in an ASan build, so 10,000
// levels overflowed an 8 MiB stack there (CI's sanitizer run).
constexpr uint32_t kMaxValueDepth = 1'000;

// Structural equality: (= 1 1.0) is false; lists and vectors with equal items are equal;
// maps and sets compare regardless of order (in expected linear time).
bool equals(const Value& a, const Value& b);
// Consistent with equals; a set's or map's hash does not depend on the order of its elements.
// A collection's hash is kept in it (HashCache): hashing is linear in the collections not
// hashed before, however their parts are shared.
size_t hash_value(const Value& v);
// Total order used by `compare` and `sort`: numbers numerically, strings lexicographically,
// then by type. Returns <0, 0, >0; error for values of incomparable types, and RecursionLimit
// for lists/vectors nested deeper than kMaxValueDepth.
Result<int> compare_values(const Value& a, const Value& b);

// The value's RTFS type name ("integer", "map", ...).
const char* type_name(const Value& v);

}  // namespace rtfs
