// Value objects, equality, hashing and ordering.
#include "rtfs/value.hpp"

#include <cmath>
#include <cstring>
#include <unordered_map>

#include "rtfs/function.hpp"

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

// ---- maps -----------------------------------------------------------------------------------

struct MapIndex {
    std::unordered_map<Value, size_t, ValueHash, ValueEq> pos;
};

MapObj::MapObj(std::vector<std::pair<Value, Value>> e) {
    account(sizeof(MapObj));
    entries.reserve(e.size());
    for (auto& [k, v] : e) set(std::move(k), std::move(v));
}

MapObj::MapObj(const MapObj& other) : Object(), entries(other.entries) {
    refs = 0;
    account(static_cast<int64_t>(sizeof(MapObj) + entries.capacity() * 2 * sizeof(Value)));
    if (other.index_) index_ = std::make_unique<MapIndex>(*other.index_);
}

MapObj::MapObj() { account(sizeof(MapObj)); }
MapObj::~MapObj() = default;

const Value* MapObj::find(const Value& key) const {
    if (index_) {
        auto it = index_->pos.find(key);
        return it == index_->pos.end() ? nullptr : &entries[it->second].second;
    }
    for (const auto& e : entries)
        if (equals(e.first, key)) return &e.second;
    return nullptr;
}

void MapObj::set(Value key, Value val) {
    if (index_) {
        auto it = index_->pos.find(key);
        if (it != index_->pos.end()) {
            entries[it->second].second = std::move(val);
            return;
        }
        index_->pos.emplace(key, entries.size());
    } else {
        for (auto& e : entries) {
            if (equals(e.first, key)) {
                e.second = std::move(val);
                return;
            }
        }
    }
    entries.emplace_back(std::move(key), std::move(val));
    account(2 * sizeof(Value));
    if (!index_ && entries.size() > kIndexThreshold) rebuild_index();
}

bool MapObj::erase(const Value& key) {
    for (size_t i = 0; i < entries.size(); ++i) {
        if (equals(entries[i].first, key)) {
            entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
            if (index_) rebuild_index();
            return true;
        }
    }
    return false;
}

void MapObj::rebuild_index() {
    if (entries.size() <= kIndexThreshold) {
        index_.reset();
        return;
    }
    index_ = std::make_unique<MapIndex>();
    index_->pos.reserve(entries.size() * 2);
    for (size_t i = 0; i < entries.size(); ++i) index_->pos.emplace(entries[i].first, i);
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
    if (items.size() <= 16) {
        for (auto& v : items) {
            bool seen = false;
            for (const auto& u : unique) seen = seen || equals(u, v);
            if (!seen) unique.push_back(std::move(v));
        }
    } else {
        std::unordered_map<Value, bool, ValueHash, ValueEq> seen;
        for (auto& v : items)
            if (seen.emplace(v, true).second) unique.push_back(std::move(v));
    }
    return Value::object(Type::Set, new SeqObj(std::move(unique)));
}
Value make_map(std::vector<std::pair<Value, Value>> entries) {
    return Value::object(Type::Map, new MapObj(std::move(entries)));
}
Value make_error_value(ErrorKind kind, std::string message, Value data) {
    return Value::object(Type::Error, new ErrObj(kind, std::move(message), std::move(data)));
}

// ---- equality, hashing, ordering ------------------------------------------------------------

static bool set_contains(const std::vector<Value>& items, const Value& v) {
    for (const auto& x : items)
        if (equals(x, v)) return true;
    return false;
}

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
        case Type::Vector: {
            if (a.object_ptr() == b.object_ptr()) return true;
            const auto& x = a.items();
            const auto& y = b.items();
            if (x.size() != y.size()) return false;
            for (size_t i = 0; i < x.size(); ++i)
                if (!equals(x[i], y[i])) return false;
            return true;
        }
        case Type::Set: {
            const auto& x = a.items();
            const auto& y = b.items();
            if (x.size() != y.size()) return false;
            for (const auto& v : x)
                if (!set_contains(y, v)) return false;
            return true;
        }
        case Type::Map: {
            const auto& x = a.map();
            const auto& y = b.map();
            if (x.size() != y.size()) return false;
            for (const auto& [k, v] : x.entries) {
                const Value* other = y.find(k);
                if (!other || !equals(v, *other)) return false;
            }
            return true;
        }
        case Type::Function:
        case Type::Error: return a.object_ptr() == b.object_ptr();
        case Type::Builtin: return a.as_builtin() == b.as_builtin();
        case Type::Recur: return true;
    }
    return false;
}

static size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

size_t hash_value(const Value& v) {
    switch (v.type()) {
        case Type::Nil: return 0x51ed27;
        case Type::Bool: return v.as_bool() ? 0x1231 : 0x1237;
        case Type::Int: return std::hash<int64_t>()(v.as_int());
        case Type::Float: return std::hash<double>()(v.as_float()) ^ 0xf10a7;
        case Type::String:
        case Type::Keyword:
        case Type::Symbol:
            return mix(static_cast<size_t>(v.type()), std::hash<std::string_view>()(v.str()));
        case Type::List:
        case Type::Vector: {
            size_t h = 0x5e9;
            for (const auto& x : v.items()) h = mix(h, hash_value(x));
            return h;
        }
        case Type::Set: {
            size_t h = 0x5e7;
            for (const auto& x : v.items()) h += hash_value(x);  // order-independent
            return h;
        }
        case Type::Map: {
            size_t h = 0x3a9;
            for (const auto& [k, x] : v.map().entries) h += mix(hash_value(k), hash_value(x));
            return h;
        }
        case Type::Function:
        case Type::Error: return std::hash<const void*>()(v.object_ptr());
        case Type::Builtin: return std::hash<const void*>()(v.as_builtin());
        case Type::Recur: return 1;
    }
    return 0;
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

Result<int> compare_values(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is(Type::Int) && b.is(Type::Int))
            return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
        double x = a.to_double(), y = b.to_double();
        return x < y ? -1 : (x > y ? 1 : 0);
    }
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
            const auto& x = a.items();
            const auto& y = b.items();
            for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
                RTFS_TRY(int c, compare_values(x[i], y[i]));
                if (c != 0) return c;
            }
            return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
        }
    }
    return 0;
}

}  // namespace rtfs
