// Recursive-descent reader with a depth limit.
#include "rtfs/reader.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include "native_stack.hpp"
#include "rtfs/interpreter.hpp"
#include "stdlib/utf8.hpp"

namespace rtfs {
namespace {

bool is_delimiter(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '(' || c == ')' ||
           c == '[' || c == ']' || c == '{' || c == '}' || c == '"' || c == ';';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
}
bool is_symbol_start(char c) { return is_letter(c) || std::strchr("_$+-*/=<>!?%.&", c) != nullptr; }
bool is_symbol_char(char c) {
    return is_symbol_start(c) || is_digit(c) || std::strchr(".-@':#", c) != nullptr;
}

// Values read and held in a vector until their collection is made (read_seq's items, read_all's
// forms): charged to the evaluation's heap while held, so that a literal of millions of elements
// stops at the memory limit (its vector was counted only once the collection was made: 64 MB of
// `[1 1 ...]` took 5.9 s and 650 MB under a 64 MiB limit; review, 2026-12-06).
class HeldValues {
public:
    explicit HeldValues(std::vector<Value>& values) : values_(values) {}
    HeldValues(const HeldValues&) = delete;
    HeldValues& operator=(const HeldValues&) = delete;
    ~HeldValues() {
        if (heap_) heap_->live_bytes -= charged_;
    }
    void push(Value v) {
        values_.push_back(std::move(v));
        if (heap_) {
            heap_->add(static_cast<int64_t>(sizeof(Value)));
            charged_ += static_cast<int64_t>(sizeof(Value));
        }
    }

private:
    std::vector<Value>& values_;
    HeapStats* heap_ = current_heap_stats();
    int64_t charged_ = 0;
};

class Reader {
public:
    Reader(std::string_view src, SourcePositions* positions)
        : src_(src), positions_(positions), stack_floor_(detail::stack_floor_here()) {}

    Result<std::vector<Value>> read_all() {
        std::vector<Value> forms;
        HeldValues held(forms);
        for (;;) {
            RTFS_CHECK(skip_ignored(0));
            if (at_end()) return forms;
            RTFS_TRY(Value v, read_form(0));
            held.push(std::move(v));
        }
    }

    // Whether the last read failed because the text ended inside a form, a string or a block
    // comment (more text could complete it), not at something wrong in it.
    bool ended_inside() const { return ended_inside_; }

private:
    bool at_end() const { return pos_ >= src_.size(); }
    char peek(size_t ahead = 0) const {
        return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
    }
    // CR LF, LF and a lone CR each end a line.
    static bool ends_line(char c, char after) { return c == '\n' || (c == '\r' && after != '\n'); }
    char next() {
        char c = src_[pos_++];
        if (ends_line(c, peek())) {
            ++line_;
            col_ = 1;
        } else {
            ++col_;
        }
        return c;
    }

    Unexpected<Error> fail(std::string msg, int line, int col) {
        Error e(ErrorKind::ReadError, std::move(msg));
        e.locate(line, col);
        return {std::move(e)};
    }
    Unexpected<Error> fail(std::string msg) { return fail(std::move(msg), line_, col_); }
    Unexpected<Error> fail_at_end(std::string msg, int line, int col) {
        ended_inside_ = true;
        return fail(std::move(msg), line, col);
    }
    Unexpected<Error> fail_at_end(std::string msg) { return fail_at_end(std::move(msg), line_, col_); }

    Expected<void, Error> skip_space() {
        while (!at_end()) {
            char c = peek();
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
                next();
            } else if (c == ';') {
                while (!at_end() && peek() != '\n' && peek() != '\r') next();
            } else if (c == '#' && peek(1) == '|') {
                int l = line_, co = col_;
                next();
                next();
                for (;;) {
                    if (at_end()) return fail_at_end("unterminated block comment", l, co);
                    if (peek() == '|' && peek(1) == '#') {
                        next();
                        next();
                        break;
                    }
                    next();
                }
            } else {
                break;
            }
        }
        return Ok{};
    }

    // Whitespace, comments and `#_ form` discards: between forms a discarded one is nothing, so
    // `[1 #_ 2]` is [1] and a text may end with one, as in Clojure (the reader took the closing
    // bracket for the form to keep and refused it).
    Expected<void, Error> skip_ignored(int depth) {
        for (;;) {
            RTFS_CHECK(skip_space());
            if (at_end() || peek() != '#' || peek(1) != '_') return Ok{};
            const int line = line_, col = col_;
            next();
            next();
            RTFS_CHECK(skip_space());
            if (at_end()) return fail_at_end("expected a form after #_ discard", line, col);
            RTFS_TRY(Value ignored, read_form(depth + 1));
            (void)ignored;
        }
    }

    Value remember(Value v, int line, int col) {
        if (v.is_heap()) record(v.object_ptr(), SourcePos{line, col});
        return v;
    }

    // A new entry is charged to the evaluation's heap (kSourcePositionBytes): a program of many
    // small forms held more in the map than in its values (red team, 2026-12-06).
    void record(const Object* object, SourcePos pos) {
        if (!positions_) return;
        if (positions_->insert_or_assign(object, pos).second) {
            if (HeapStats* heap = current_heap_stats()) heap->add(kSourcePositionBytes);
        }
    }

    Result<Value> read_form(int depth) {
        if (depth > kMaxReadDepth || detail::below_stack_floor(stack_floor_))
            return fail("nesting deeper than " + std::to_string(kMaxReadDepth) +
                        " levels or than the native stack allows");
        // The evaluation's deadline, cancellation and memory limit hold from the first form
        // read: 66 MB of `[][]...` took 30 s and 4.4 GB under a 1 s, 64 MiB limit (red team).
        RTFS_CHECK(poll_limits());
        RTFS_CHECK(skip_space());
        if (at_end()) return fail_at_end("unexpected end of input");
        const int line = line_, col = col_;
        char c = peek();
        switch (c) {
            case '(': {
                next();
                RTFS_TRY(auto items, read_seq(')', depth, line, col));
                return remember(make_list(std::move(items)), line, col);
            }
            case '[': {
                next();
                RTFS_TRY(auto items, read_seq(']', depth, line, col));
                return remember(make_vector(std::move(items)), line, col);
            }
            case '{': {
                next();
                RTFS_TRY(auto items, read_seq('}', depth, line, col));
                if (items.size() % 2 != 0)
                    return fail("map literal needs an even number of forms, got " +
                                    std::to_string(items.size()),
                                line, col);
                std::vector<std::pair<Value, Value>> entries;
                for (size_t i = 0; i < items.size(); i += 2)
                    entries.emplace_back(std::move(items[i]), std::move(items[i + 1]));
                return remember(make_map(std::move(entries)), line, col);
            }
            case ')':
            case ']':
            case '}': return fail(std::string("unexpected '") + c + "'");
            case '"': return read_string();
            case '\'': return read_prefixed("quote", depth, line, col);
            case '`': return read_prefixed("quasiquote", depth, line, col);
            case '~':
                if (peek(1) == '@') {
                    next();
                    return read_prefixed("unquote-splicing", depth, line, col);
                }
                return read_prefixed("unquote", depth, line, col);
            case '@': return read_prefixed("deref", depth, line, col);
            case '^': {
                next();
                RTFS_TRY(Value meta, read_form(depth + 1));
                (void)meta;  // metadata is accepted and ignored
                return read_form(depth + 1);
            }
            case '#': return read_dispatch(depth, line, col);
            case ':': return read_keyword();
            default: break;
        }
        return read_atom();
    }

    Result<std::vector<Value>> read_seq(char close, int depth, int line, int col) {
        std::vector<Value> items;
        HeldValues held(items);
        for (;;) {
            RTFS_CHECK(skip_ignored(depth));
            if (at_end())
                return fail_at_end(std::string("unexpected end of input: '") + opener(close) +
                                "' opened at " + std::to_string(line) + ":" +
                                std::to_string(col) + " is not closed",
                            line_, col_);
            char c = peek();
            if (c == close) {
                next();
                return items;
            }
            if (c == ')' || c == ']' || c == '}')
                return fail(std::string("mismatched '") + c + "': expected '" + close + "'");
            RTFS_TRY(Value v, read_form(depth + 1));
            held.push(std::move(v));
        }
    }

    static char opener(char close) { return close == ')' ? '(' : close == ']' ? '[' : '{'; }

    Result<Value> read_prefixed(const char* sym, int depth, int line, int col) {
        next();
        RTFS_CHECK(skip_space());
        if (at_end()) return fail_at_end(std::string("expected a form after ") + sym);
        RTFS_TRY(Value inner, read_form(depth + 1));
        return remember(make_list({remember(make_symbol(sym), line, col), std::move(inner)}), line,
                        col);
    }

    Result<Value> read_dispatch(int depth, int line, int col) {
        char c = peek(1);
        if (c == '#') {  // ##Inf ##-Inf ##NaN
            next();
            next();
            std::string tok = read_token();
            if (tok == "Inf") return Value::floating(std::numeric_limits<double>::infinity());
            if (tok == "-Inf") return Value::floating(-std::numeric_limits<double>::infinity());
            if (tok == "NaN") return Value::floating(std::numeric_limits<double>::quiet_NaN());
            if (at_end()) {  // "##", "##In" at the end: the rest may follow
                for (std::string_view name : {"Inf", "-Inf", "NaN"}) {
                    if (name.starts_with(tok)) return fail_at_end("unknown symbolic value ##" + tok, line, col);
                }
            }
            return fail("unknown symbolic value ##" + tok, line, col);
        }
        if (c == '{') {
            next();
            next();
            RTFS_TRY(auto items, read_seq('}', depth, line, col));
            return remember(make_set(std::move(items)), line, col);
        }
        if (c == '(') {
            next();
            next();
            RTFS_TRY(auto body, read_seq(')', depth, line, col));
            return anon_fn(std::move(body), line, col);
        }
        if (c == '_') {  // #_ discards the next form
            next();
            next();
            RTFS_TRY(Value ignored, read_form(depth + 1));
            (void)ignored;
            RTFS_CHECK(skip_space());
            if (at_end()) return fail_at_end("expected a form after #_ discard", line, col);
            return read_form(depth);
        }
        if (pos_ + 1 >= src_.size()) return fail_at_end("expected a form after '#'", line, col);
        return fail(std::string("unknown dispatch '#") + (c ? std::string(1, c) : "") + "'", line,
                    col);
    }

    // #(+ % %2) => (fn [%1 %2] (+ %1 %2)); %& binds the rest.
    Result<Value> anon_fn(std::vector<Value> body, int line, int col) {
        int max_arg = 0;
        bool rest = false;
        std::vector<Value> renamed;
        renamed.reserve(body.size());
        for (auto& f : body) renamed.push_back(rename_percent(f, &max_arg, &rest));
        std::vector<Value> params;
        for (int i = 1; i <= max_arg; ++i) params.push_back(make_symbol("%" + std::to_string(i)));
        if (rest) {
            params.push_back(make_symbol("&"));
            params.push_back(make_symbol("%&"));
        }
        Value call = remember(make_list(std::move(renamed)), line, col);
        return remember(make_list({make_symbol("fn"), make_vector(std::move(params)), call}), line,
                        col);
    }

    Value rename_percent(const Value& v, int* max_arg, bool* rest) {
        if (v.is(Type::Symbol)) {
            const std::string& s = v.str();
            if (s == "%") {
                *max_arg = std::max(*max_arg, 1);
                return make_symbol("%1");
            }
            if (s == "%&") {
                *rest = true;
                return v;
            }
            if (s.size() >= 2 && s[0] == '%') {
                int n = 0;
                auto [p, ec] = std::from_chars(s.data() + 1, s.data() + s.size(), n);
                if (ec == std::errc() && p == s.data() + s.size() && n >= 1 && n <= 20)
                    *max_arg = std::max(*max_arg, n);
            }
            return v;
        }
        if (v.is(Type::List) || v.is(Type::Vector)) {
            std::vector<Value> out;
            out.reserve(v.items().size());
            for (const auto& x : v.items()) out.push_back(rename_percent(x, max_arg, rest));
            Value r = v.is(Type::List) ? make_list(std::move(out)) : make_vector(std::move(out));
            if (positions_) {
                auto it = positions_->find(v.object_ptr());
                if (it != positions_->end()) record(r.object_ptr(), it->second);
            }
            return r;
        }
        if (v.is(Type::Map)) {
            std::vector<std::pair<Value, Value>> out;
            for (const auto& [k, x] : v.map().entries())
                out.emplace_back(rename_percent(k, max_arg, rest), rename_percent(x, max_arg, rest));
            return make_map(std::move(out));
        }
        return v;
    }

    std::string read_token() {
        size_t start = pos_;
        while (!at_end() && !is_delimiter(peek())) next();
        return std::string(src_.substr(start, pos_ - start));
    }

    Result<Value> read_keyword() {
        const int line = line_, col = col_;
        next();  // ':'
        std::string tok = read_token();
        if (tok.empty()) return remember(make_symbol(":"), line, col);  // `[x : Int]`
        if (!is_symbol_start(tok[0]) && !is_digit(tok[0]))
            return fail("invalid keyword :" + tok, line, col);
        for (char ch : tok)
            if (!is_symbol_char(ch)) return fail("invalid character in keyword :" + tok, line, col);
        return make_keyword(std::move(tok));
    }

    Result<Value> read_atom() {
        const int line = line_, col = col_;
        std::string tok = read_token();
        if (tok.empty()) return fail(std::string("unexpected character '") + peek() + "'");
        const char c0 = tok[0];
        if (is_digit(c0) || ((c0 == '+' || c0 == '-') && tok.size() > 1 && is_digit(tok[1])))
            return read_number(tok, line, col);
        if (tok == "nil") return Value::nil();
        if (tok == "true") return Value::boolean(true);
        if (tok == "false") return Value::boolean(false);
        if (!is_symbol_start(c0)) return fail("invalid symbol '" + tok + "'", line, col);
        for (char ch : tok)
            if (!is_symbol_char(ch)) return fail("invalid character in symbol '" + tok + "'", line, col);
        return remember(make_symbol(std::move(tok)), line, col);
    }

    Result<Value> read_number(const std::string& tok, int line, int col) {
        size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;
        size_t digits_start = i;
        while (i < tok.size() && is_digit(tok[i])) ++i;
        if (i == tok.size()) {
            int64_t v = 0;
            const char* b = tok.data() + digits_start;
            auto [p, ec] = std::from_chars(b, tok.data() + tok.size(), v);
            if (ec == std::errc::result_out_of_range) {
                // "-9223372036854775808" only fits when read with its sign.
                auto [p2, ec2] = std::from_chars(tok.data() + (tok[0] == '+' ? 1 : 0),
                                                 tok.data() + tok.size(), v);
                if (ec2 == std::errc() && p2 == tok.data() + tok.size()) return Value::integer(v);
                return fail("integer literal " + tok + " does not fit in 64 bits", line, col);
            }
            if (ec != std::errc() || p != tok.data() + tok.size())
                return fail("invalid number " + tok, line, col);
            return Value::integer(tok[0] == '-' ? -v : v);
        }
        // Spec section 1: a float has digits on both sides of its dot ("1e3" is no number).
        bool ok = tok[i] == '.';
        if (ok) {
            ++i;
            size_t frac = i;
            while (i < tok.size() && is_digit(tok[i])) ++i;
            ok = i > frac;
        }
        if (ok && i < tok.size() && (tok[i] == 'e' || tok[i] == 'E')) {
            ++i;
            if (i < tok.size() && (tok[i] == '+' || tok[i] == '-')) ++i;
            size_t exp = i;
            while (i < tok.size() && is_digit(tok[i])) ++i;
            ok = i > exp;
        }
        if (!ok || i != tok.size()) return fail("invalid number " + tok, line, col);
        // strtod rather than from_chars: libc++ 19 (the wasm32-wasi build) lacks the latter for
        // doubles. The token was validated above, so strtod consumes all of it.
        const std::string text = tok[0] == '+' ? tok.substr(1) : tok;
        double d = std::strtod(text.c_str(), nullptr);
        return Value::floating(d);
    }

    Result<Value> read_string() {
        const int line = line_, col = col_;
        next();  // opening quote
        std::string out;
        for (;;) {
            if (at_end()) return fail_at_end("unterminated string", line, col);
            char c = next();
            if (c == '"') break;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) return fail_at_end("unterminated string", line, col);
            const int el = line_, ec = col_ - 1;
            char e = next();
            switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case '\\': out += '\\'; break;
                case '"': out += '"'; break;
                case 'u': {
                    auto hex4 = [&]() -> std::optional<uint32_t> {
                        uint32_t v = 0;
                        for (int k = 0; k < 4; ++k) {
                            char h = at_end() ? '\0' : peek();
                            int d = (h >= '0' && h <= '9')   ? h - '0'
                                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                             : -1;
                            if (d < 0) return std::nullopt;
                            v = v * 16 + static_cast<uint32_t>(d);
                            next();
                        }
                        return v;
                    };
                    std::optional<uint32_t> cp = hex4();
                    if (!cp) return fail("invalid \\u escape: expected 4 hex digits", el, ec);
                    // A high surrogate followed by a low one's escape is one character, as in
                    // JSON and Clojure ("\uD83D\uDE00"); either alone is not text.
                    if (*cp >= 0xD800 && *cp <= 0xDBFF && peek() == '\\' && peek(1) == 'u') {
                        next();
                        next();
                        std::optional<uint32_t> low = hex4();
                        if (!low) return fail("invalid \\u escape: expected 4 hex digits", el, ec);
                        if (*low >= 0xDC00 && *low <= 0xDFFF)
                            cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
                    }
                    if (*cp >= 0xD800 && *cp <= 0xDFFF)
                        return fail("invalid \\u escape: lone surrogate", el, ec);
                    utf8::append(out, *cp);
                    break;
                }
                default: return fail(std::string("invalid escape '\\") + e + "' in string", el, ec);
            }
        }
        RTFS_CHECK(charge_alloc(static_cast<int64_t>(out.size())));
        return make_string(std::move(out));
    }

    std::string_view src_;
    SourcePositions* positions_;
    const char* stack_floor_;  // deeper than this and nesting is refused, whatever kMaxReadDepth
    size_t pos_ = 0;
    int line_ = 1;
    int col_ = 1;
    bool ended_inside_ = false;
};

}  // namespace

Result<std::vector<Value>> read_all(std::string_view src, SourcePositions* positions) {
    return Reader(src, positions).read_all();
}

bool ends_inside_a_form(std::string_view src) {
    Reader reader(src, nullptr);
    return !reader.read_all() && reader.ended_inside();
}

Result<Value> read_one(std::string_view src) {
    RTFS_TRY(auto forms, read_all(src));
    if (forms.size() != 1) {
        Error e(ErrorKind::ReadError,
                "expected exactly one form, got " + std::to_string(forms.size()));
        e.locate(1, 1);
        return unexpected(std::move(e));
    }
    return std::move(forms[0]);
}

}  // namespace rtfs
