// JSON: the rtfs::json API (include/rtfs/json.hpp) and the builtins parse-json, serialize-json
// and serialize-json-pretty, which call it with the interpreter's limits as hooks.
#include "rtfs/json.hpp"

#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rtfs/printer.hpp"
#include "stdlib/stdlib.hpp"
#include "stdlib/utf8.hpp"
#include "text_build.hpp"

namespace rtfs::json {
namespace {

constexpr size_t kCheckEvery = 4096;  // values between two calls of Hooks::check
constexpr size_t kLongString = 64 * 1024;  // a string this long calls Hooks::check by itself

// ---- parsing --------------------------------------------------------------------------------

class Parser {
public:
    Parser(std::string_view s, const Hooks& hooks)
        : s_(s), hooks_(hooks), op_(hooks.op ? hooks.op : "parse-json") {}

    Result<Value> parse() {
        // The containers being filled, innermost last.
        struct Open {
            bool object;
            std::vector<Value> items;
            std::vector<std::pair<Value, Value>> entries;
            Value key;
        };
        std::vector<Open> stack;
        skip_ws();
        for (;;) {
            // A value starts at i_.
            Value v;
            if (!more()) return fail("unexpected end of input");
            const char c = s_[i_];
            if (c == '{' || c == '[') {
                if (stack.size() >= kMaxDepth)
                    return fail("nesting deeper than " + std::to_string(kMaxDepth));
                ++i_;
                skip_ws();
                const char close = c == '{' ? '}' : ']';
                if (more() && s_[i_] == close) {
                    ++i_;
                    v = c == '{' ? make_map({}) : make_vector({});
                } else {
                    stack.push_back(Open{c == '{', {}, {}, {}});
                    if (c == '{') {
                        RTFS_TRY(stack.back().key, parse_key());
                    }
                    continue;
                }
            } else {
                RTFS_TRY(v, parse_scalar());
            }
            RTFS_CHECK(counted());
            // Hand v to the enclosing containers, closing those that end here.
            for (;;) {
                if (stack.empty()) {
                    skip_ws();
                    if (more()) return fail("unexpected characters after the JSON value");
                    return v;
                }
                Open& top = stack.back();
                if (top.object) {
                    top.entries.emplace_back(std::move(top.key), std::move(v));
                    held_ += 2;
                } else {
                    top.items.push_back(std::move(v));
                    held_ += 1;
                }
                skip_ws();
                const char close = top.object ? '}' : ']';
                if (more() && s_[i_] == ',') {
                    ++i_;
                    skip_ws();
                    if (top.object) {
                        RTFS_TRY(top.key, parse_key());
                    }
                    break;  // the next element's value
                }
                if (!more() || s_[i_] != close)
                    return fail(std::string("expected ',' or '") + close + "'");
                ++i_;
                held_ -= top.object ? 2 * top.entries.size() : top.items.size();
                v = top.object ? make_map(std::move(top.entries))
                               : make_vector(std::move(top.items));
                stack.pop_back();
            }
        }
    }

private:
    bool more() const { return i_ < s_.size(); }
    void skip_ws() {
        while (more() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }

    // "Invalid argument to parse-json: {why} at line:column" (column in characters).
    Unexpected<Error> fail(const std::string& why) const { return fail_at(why, i_); }
    Unexpected<Error> fail_at(const std::string& why, size_t at) const {
        size_t line = 1, line_start = 0;
        for (size_t k = 0; k < at && k < s_.size(); ++k)
            if (s_[k] == '\n') ++line, line_start = k + 1;
        const size_t column = utf8::length(s_.substr(line_start, at - line_start)) + 1;
        return stdlib::invalid_argument(
            op_, why + " at " + std::to_string(line) + ":" + std::to_string(column));
    }

    // Values held in open containers are not in the heap statistics until the container closes.
    Expected<void, Error> counted() {
        if (hooks_.check && ++values_ % kCheckEvery == 0)
            return hooks_.check(hooks_.ctx, (held_ + kCheckEvery) * sizeof(Value));
        return Ok{};
    }

    // An object key and its colon; i_ is at the key.
    Result<Value> parse_key() {
        if (!more() || s_[i_] != '"') return fail("expected a string key");
        RTFS_TRY(Value key, parse_string());
        skip_ws();
        if (!more() || s_[i_] != ':') return fail("expected ':'");
        ++i_;
        skip_ws();
        return key;
    }

    Result<Value> parse_scalar() {
        const char c = s_[i_];
        if (c == '"') return parse_string();
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        for (auto [word, value] : {std::pair{std::string_view("true"), Value::boolean(true)},
                                   std::pair{std::string_view("false"), Value::boolean(false)},
                                   std::pair{std::string_view("null"), Value()}}) {
            if (s_.substr(i_, word.size()) == word) {
                i_ += word.size();
                return value;
            }
        }
        return fail("unexpected " + describe_char(i_));
    }

    // "character 'x'" for a printable character, "byte 0xHH" otherwise.
    std::string describe_char(size_t at) const {
        const utf8::Decoded d = utf8::decode(s_, at);
        if (d.valid && d.cp >= 0x20 && d.cp != 0x7F)
            return "character '" + std::string(s_.substr(at, d.len)) + "'";
        static constexpr char kHex[] = "0123456789ABCDEF";
        const auto b = static_cast<unsigned char>(s_[at]);
        return std::string("byte 0x") + kHex[b >> 4] + kHex[b & 0xF];
    }

    Result<Value> parse_number() {
        const size_t start = i_;
        auto digits = [&] {
            size_t first = i_;
            while (more() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
            return i_ - first;
        };
        if (s_[i_] == '-') ++i_;
        const size_t int_start = i_;
        const size_t n = digits();
        if (n == 0) return fail_at("invalid number", start);
        if (n > 1 && s_[int_start] == '0') return fail_at("leading zero in number", start);
        bool integral = true;
        if (more() && s_[i_] == '.') {
            ++i_;
            integral = false;
            if (digits() == 0) return fail_at("invalid number", start);
        }
        if (more() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            integral = false;
            if (more() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (digits() == 0) return fail_at("invalid number", start);
        }
        if (integral) {
            int64_t v = 0;
            auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + i_, v);
            if (ec == std::errc() && p == s_.data() + i_) return Value::integer(v);
            // out of range: a float
        }
        // strtod rather than from_chars: libc++ 19 (the wasm32-wasi build) lacks the latter for
        // doubles. The text was validated above, so strtod reads all of it.
        const double d = std::strtod(std::string(s_.substr(start, i_ - start)).c_str(), nullptr);
        if (std::isinf(d)) return fail_at("number out of range", start);
        return Value::floating(d);  // an underflow gives 0 or a subnormal, as in JavaScript
    }

    int hex4(size_t at) const {
        if (at + 4 > s_.size()) return -1;
        int v = 0;
        for (size_t k = at; k < at + 4; ++k) {
            const char h = s_[k];
            const int d = (h >= '0' && h <= '9')   ? h - '0'
                          : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                          : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                   : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        return v;
    }

    Result<Value> parse_string() {
        const size_t open = i_++;
        std::string out;
        for (;;) {
            if (!more()) return fail_at("unterminated string", open);
            const char c = s_[i_];
            if (c == '"') {
                ++i_;
                return make_string(std::move(out));
            }
            if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
            if (c != '\\') {
                out += c;
                ++i_;
                continue;
            }
            const size_t esc = i_;
            if (i_ + 1 >= s_.size()) return fail_at("unterminated string", open);
            const char e = s_[i_ + 1];
            i_ += 2;
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    int cp = hex4(i_);
                    if (cp < 0) return fail_at("invalid \\u escape", esc);
                    i_ += 4;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail_at("lone surrogate", esc);
                    if (cp >= 0xD800 && cp <= 0xDBFF) {  // must be followed by the low half
                        const int low = s_.substr(i_, 2) == "\\u" ? hex4(i_ + 2) : -1;
                        if (low < 0xDC00 || low > 0xDFFF) return fail_at("lone surrogate", esc);
                        i_ += 6;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    utf8::append(out, static_cast<uint32_t>(cp));
                    break;
                }
                default: return fail_at("invalid escape " + describe_char(esc + 1), esc);
            }
        }
    }

    std::string_view s_;
    const Hooks& hooks_;
    const char* op_;
    size_t i_ = 0;
    size_t values_ = 0;
    size_t held_ = 0;  // values in the open containers
};

// ---- serializing ----------------------------------------------------------------------------

// The writer's output, or (no string) only its length.
struct Text {
    std::string* s;
    size_t n = 0;
    void operator+=(std::string_view v) { append(v); }
    void operator+=(char c) { append(1, c); }
    void append(std::string_view v) {
        n += v.size();
        if (s) s->append(v);
    }
    void append(size_t k, char c) {
        n += k;
        if (s) s->append(k, c);
    }
    size_t size() const { return n; }
};

class Writer {
public:
    // Writes into out, or only counts the text's length when out is null; a writer given a
    // cap stops (capped()) once the text would outgrow it.
    Writer(bool pretty, const Hooks& hooks, std::string* out, size_t cap = SIZE_MAX)
        : pretty_(pretty), hooks_(hooks), op_(hooks.op ? hooks.op : "serialize-json"), out_{out},
          cap_(cap) {}
    bool capped() const { return capped_; }

    // The text's length.
    Result<size_t> run(const Value& root) {
        // Containers being written, innermost last: the container and the next index.
        struct Open {
            const Value* v;
            size_t next;
        };
        std::vector<Open> stack;
        RTFS_TRY(bool opened, write_value(root));
        if (opened) stack.push_back({&root, 0});
        while (!stack.empty()) {
            Open& top = stack.back();
            const Value& c = *top.v;
            const bool is_map = c.is(Type::Map);
            const size_t size = is_map ? c.map().size() : c.items().size();
            if (top.next == size) {
                if (size > 0) newline(stack.size() - 1);
                out_ += is_map ? '}' : ']';
                stack.pop_back();
                continue;
            }
            if (top.next > 0) out_ += ',';
            newline(stack.size());
            const Value* child;
            if (is_map) {
                const auto& [k, v] = c.map().entries()[top.next];
                RTFS_CHECK(write_key(k));
                out_ += pretty_ ? ": " : ":";
                child = &v;
            } else {
                child = &c.items()[top.next];
            }
            ++top.next;
            RTFS_TRY(opened, write_value(*child));
            if (!opened) continue;
            // What we write must read back: the same depth limit as parse.
            if (stack.size() >= kMaxDepth)
                return stdlib::invalid_argument(
                    op_, "nesting deeper than " + std::to_string(kMaxDepth));
            stack.push_back({child, 0});  // `top` may dangle from here on
        }
        return out_.size();
    }

private:
    void newline(size_t depth) {
        if (!pretty_) return;
        out_ += '\n';
        out_.append(2 * depth, ' ');
    }

    // Shared substructure can make the text far larger than the value's memory.
    // Stops a capped writer before the text outgrows its cap by more bytes.
    Expected<void, Error> within_cap(size_t more) {
        if (more <= cap_ && out_.size() <= cap_ - more) return Ok{};
        capped_ = true;
        return unexpected(Error(ErrorKind::ResourceLimit, std::string(op_) + ": past the cap"));
    }

    Expected<void, Error> check_size() {
        RTFS_CHECK(within_cap(0));
        if (out_.size() > hooks_.max_output_bytes)
            return unexpected(Error(ErrorKind::ResourceLimit,
                                    std::string(op_) + ": JSON text longer than " +
                                        std::to_string(hooks_.max_output_bytes) + " bytes"));
        if (hooks_.check && ++values_ % kCheckEvery == 0)
            return hooks_.check(hooks_.ctx, out_.size());
        return Ok{};
    }

    // Writes a scalar, or the opening bracket of a container (returns true then).
    Result<bool> write_value(const Value& v) {
        RTFS_CHECK(check_size());
        switch (v.type()) {
            case Type::Nil: out_ += "null"; return false;
            case Type::Bool: out_ += v.as_bool() ? "true" : "false"; return false;
            case Type::Int: out_ += print(v); return false;
            case Type::Float:
                if (!std::isfinite(v.as_float()))
                    return stdlib::invalid_argument(op_, "JSON has no NaN or infinity");
                out_ += format_float(v.as_float());
                return false;
            case Type::String:
            case Type::Keyword:  // keywords and symbols lose the colon: :a -> "a"
            case Type::Symbol: RTFS_CHECK(write_string(v.str())); return false;
            case Type::List:
            case Type::Vector:
            case Type::Set: out_ += '['; return true;
            case Type::Map: out_ += '{'; return true;
            default: return stdlib::type_error(op_, "a JSON-compatible value", v);
        }
    }

    // Object keys are strings: keywords and symbols by name, numbers and booleans as printed.
    Expected<void, Error> write_key(const Value& k) {
        switch (k.type()) {
            case Type::String:
            case Type::Keyword:
            case Type::Symbol: return write_string(k.str());
            case Type::Int:
            case Type::Bool: return write_string(print(k));
            case Type::Float:
                if (!std::isfinite(k.as_float()))
                    return stdlib::invalid_argument(op_, "JSON has no NaN or infinity");
                return write_string(print(k));
            default:
                return stdlib::type_error(op_, "a string, keyword, symbol or number as map key",
                                          k);
        }
    }

    // JSON text is UTF-8: a string holding other bytes cannot be written faithfully.
    Expected<void, Error> write_string(std::string_view s) {
        static constexpr char kHex[] = "0123456789abcdef";
        // One value can be a long string (or many references to one): the text it adds is
        // charged before it is written, not kCheckEvery values later.
        RTFS_CHECK(within_cap(s.size()));
        if (hooks_.check && s.size() >= kLongString)
            RTFS_CHECK(hooks_.check(hooks_.ctx, out_.size() + s.size()));
        out_ += '"';
        for (size_t i = 0; i < s.size();) {
            const char c = s[i];
            if (static_cast<unsigned char>(c) >= 0x80) {
                const utf8::Decoded d = utf8::decode(s, i);
                if (!d.valid)
                    return stdlib::invalid_argument(
                        op_, "string is not valid UTF-8 (byte " + std::to_string(i) + ")");
                out_.append(s.substr(i, d.len));
                i += d.len;
                continue;
            }
            ++i;
            switch (c) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                case '\b': out_ += "\\b"; break;
                case '\f': out_ += "\\f"; break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        out_ += "\\u00";
                        out_ += kHex[(c >> 4) & 0xF];
                        out_ += kHex[c & 0xF];
                    } else {
                        out_ += c;
                    }
            }
        }
        out_ += '"';
        return Ok{};
    }

    bool pretty_;
    const Hooks& hooks_;
    const char* op_;
    Text out_;
    size_t cap_;
    bool capped_ = false;
    size_t values_ = 0;
};

}  // namespace

Result<Value> parse(std::string_view text) { return parse(text, Hooks{}); }
Result<Value> parse(std::string_view text, const Hooks& hooks) {
    return Parser(text, hooks).parse();
}

Result<std::string> serialize(const Value& v, bool pretty) { return serialize(v, pretty, Hooks{}); }
Result<std::string> serialize(const Value& v, bool pretty, const Hooks& hooks) {
    auto write = [&](std::string* out, size_t max) -> Result<std::optional<size_t>> {
        Writer w(pretty, hooks, out, max);
        auto n = w.run(v);
        if (!n && w.capped()) return std::optional<size_t>();
        if (!n) return unexpected(std::move(n).error());
        return std::optional<size_t>(*n);
    };
    // Unbounded but by the hooks, which refuse a text past the memory limit as it grows.
    auto too_long = [&] { return Error(ErrorKind::ResourceLimit, "JSON text too long"); };
    auto admit = [&](size_t n) -> Result<size_t> {
        if (hooks.check) RTFS_CHECK(hooks.check(hooks.ctx, n));
        return size_t{0};  // the hooks count the text as it is built
    };
    return build_text(SIZE_MAX, write, too_long, admit);
}

}  // namespace rtfs::json

// ---- builtins -------------------------------------------------------------------------------

namespace rtfs::stdlib {
namespace {

// Memory the JSON code holds outside the heap statistics counts against the interpreter's
// memory limit; the check also notices interruption.
Expected<void, Error> check_interpreter(void* interp, size_t pending_bytes) {
    return check_alloc(*static_cast<Interpreter*>(interp), pending_bytes / sizeof(Value));
}

json::Hooks hooks_for(Interpreter& interp, const char* op) {
    return json::Hooks{.op = op, .check = check_interpreter, .ctx = &interp};
}

Result<Value> parse_json(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg("parse-json", a[0]));
    return json::parse(*s, hooks_for(interp, "parse-json"));
}

Result<Value> serialize_with(Interpreter& interp, const Value& v, bool pretty, const char* op) {
    RTFS_TRY(std::string text, json::serialize(v, pretty, hooks_for(interp, op)));
    RTFS_CHECK(check_alloc(interp, text.size() / sizeof(Value)));
    return make_string(std::move(text));
}

Result<Value> serialize_json(Interpreter& interp, std::span<Value> a) {
    return serialize_with(interp, a[0], false, "serialize-json");
}
Result<Value> serialize_json_pretty(Interpreter& interp, std::span<Value> a) {
    return serialize_with(interp, a[0], true, "serialize-json-pretty");
}

}  // namespace

void add_json(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"parse-json", 1, 1, parse_json},
        {"serialize-json", 1, 1, serialize_json},
        {"serialize-json-pretty", 1, 1, serialize_json_pretty},
    });
}

}  // namespace rtfs::stdlib
