// Strings: str, lengths and substrings by character (UTF-8 code point), searching, splitting,
// joining, Unicode (simple) case mapping, ASCII trimming, keyword/symbol/name conversion, and the regex
// builtins re-matches, re-find, re-seq (engine: regex.hpp).
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "rtfs/ascii_text.hpp"
#include "rtfs/printer.hpp"
#include "stdlib/coll_helpers.hpp"
#include "stdlib/regex.hpp"
#include "stdlib/stdlib.hpp"
#include "stdlib/unicode_case_table.hpp"
#include "stdlib/utf8.hpp"

namespace rtfs::stdlib {
namespace {

// Joining strings that share storage can make text far larger than the memory they take
// ((str s s s ...) with s large): check the known part of the result fits before building it.
Expected<void, Error> check_text(Interpreter& interp, std::span<const Value> parts,
                                 size_t extra_bytes) {
    size_t bytes = extra_bytes;
    for (const Value& v : parts)
        if (v.is(Type::String)) bytes += v.str().size();
    return check_alloc(interp, bytes / sizeof(Value));
}

Result<Value> str(Interpreter& interp, std::span<Value> a) {
    if (a.size() == 1 && a[0].is(Type::String)) return std::move(a[0]);
    RTFS_CHECK(check_text(interp, a, 0));
    RTFS_TRY(std::string out, display_text("str", a, ""));
    return make_string(std::move(out));
}

Result<Value> string_length(Interpreter&, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg("string-length", a[0]));
    return Value::integer(static_cast<int64_t>(utf8::length(*s)));
}

// (substring s start [end]): characters [start, end); end defaults to the length.
Result<Value> substring_impl(const char* op, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg(op, a[0]));
    RTFS_TRY(int64_t start, int_arg(op, a[1]));
    const auto len = static_cast<int64_t>(utf8::length(*s));
    int64_t end = len;
    if (a.size() > 2 && !a[2].is_nil()) {
        RTFS_TRY(end, int_arg(op, a[2]));
    }
    // start and end may both equal the length: valid positions are [0, len + 1).
    if (start < 0 || start > len) return index_out_of_bounds(start, static_cast<size_t>(len) + 1);
    if (end < start || end > len) return index_out_of_bounds(end, static_cast<size_t>(len) + 1);
    const size_t b = utf8::offset_of(*s, static_cast<size_t>(start));
    const size_t e = b + utf8::offset_of(std::string_view(*s).substr(b),
                                         static_cast<size_t>(end - start));
    return make_string(s->substr(b, e - b));
}
Result<Value> substring(Interpreter&, std::span<Value> a) { return substring_impl("substring", a); }
Result<Value> subs(Interpreter&, std::span<Value> a) { return substring_impl("subs", a); }

// The two string arguments of a two-string test such as starts-with?.
template <bool (*Test)(std::string_view, std::string_view)>
Result<Value> string_test(const char* op, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg(op, a[0]));
    RTFS_TRY(const std::string* t, string_arg(op, a[1]));
    return Value::boolean(Test(*s, *t));
}
// Where t first occurs in s at or after from (npos: nowhere), in linear time: string::find
// compares the whole of t at every offset, and (string-contains s d) of an 8 MB s and a 256 KB d
// ran 58 s inside one builtin, past any deadline (red team, 2026-12-07). memmem is the C
// library's two-way search (glibc and wasi-libc alike).
size_t find_text(std::string_view s, std::string_view t, size_t from = 0) {
    if (from > s.size()) return std::string::npos;
    if (t.empty()) return from;
    const void* at = ::memmem(s.data() + from, s.size() - from, t.data(), t.size());
    return at ? static_cast<size_t>(static_cast<const char*>(at) - s.data()) : std::string::npos;
}

bool contains(std::string_view s, std::string_view t) { return find_text(s, t) != std::string::npos; }
bool starts(std::string_view s, std::string_view t) { return s.starts_with(t); }
bool ends(std::string_view s, std::string_view t) { return s.ends_with(t); }

Result<Value> string_contains(Interpreter&, std::span<Value> a) {
    return string_test<contains>("string-contains", a);
}
Result<Value> includes(Interpreter&, std::span<Value> a) {
    return string_test<contains>("includes?", a);
}
Result<Value> starts_with(Interpreter&, std::span<Value> a) {
    return string_test<starts>("starts-with?", a);
}
Result<Value> ends_with(Interpreter&, std::span<Value> a) {
    return string_test<ends>("ends-with?", a);
}

// (split s delim): the pieces between literal occurrences of delim, empty ones included;
// an empty delim splits into characters.
Result<Value> split(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg("split", a[0]));
    RTFS_TRY(const std::string* d, string_arg("split", a[1]));
    std::vector<Value> parts;
    // Each piece costs far more memory than its bytes of text: count them as they are made.
    auto add = [&](size_t from, size_t len) -> Expected<void, Error> {
        parts.push_back(make_string(s->substr(from, len)));
        if (parts.size() % 4096 == 0) return check_alloc(interp, parts.size());
        return Ok{};
    };
    if (d->empty()) {
        for (size_t i = 0; i < s->size();) {
            const size_t len = utf8::decode(*s, i).len;
            RTFS_CHECK(add(i, len));
            i += len;
        }
        return make_vector(std::move(parts));
    }
    size_t from = 0;
    for (size_t at; (at = find_text(*s, *d, from)) != std::string::npos; from = at + d->size())
        RTFS_CHECK(add(from, at - from));
    RTFS_CHECK(add(from, s->size() - from));
    return make_vector(std::move(parts));
}

// (join sep coll), (join coll). A collection first and a string second is accepted as well:
// the order is unambiguous then.
Result<Value> join_impl(const char* op, Interpreter& interp, std::span<Value> a) {
    std::string sep;
    const Value* coll = &a[0];
    if (a.size() == 2) {
        const bool coll_first = !a[0].is(Type::String) && a[1].is(Type::String);
        const Value& s = coll_first ? a[1] : a[0];
        coll = coll_first ? &a[0] : &a[1];
        RTFS_TRY(const std::string* sp, string_arg(op, s));
        sep = *sp;
    }
    RTFS_TRY(std::vector<Value> items, items_of(op, *coll));
    RTFS_CHECK(check_text(interp, items, items.empty() ? 0 : sep.size() * (items.size() - 1)));
    RTFS_TRY(std::string out, display_text(op, items, sep));
    return make_string(std::move(out));
}
Result<Value> join(Interpreter& interp, std::span<Value> a) { return join_impl("join", interp, a); }
Result<Value> string_join(Interpreter& interp, std::span<Value> a) {
    return join_impl("string-join", interp, a);
}

// Unicode simple case mapping, one code point to one (UnicodeData's, generated into
// unicode_case_table.hpp by tools/gen_case_table.py): "École" -> "ÉCOLE", Greek and Cyrillic
// too. Not the full mappings of SpecialCasing ("straße" keeps its ß; Clojure's upper-case,
// Java's toUpperCase, gives "STRASSE"), nor context (a final Σ lowers to σ). Bytes that are not
// well-formed UTF-8 are kept as they are.
uint32_t map_code_point(uint32_t cp, std::span<const unicode_case::CaseRun> runs) {
    // The last run starting at or before cp (runs are sorted and do not overlap).
    auto it = std::upper_bound(runs.begin(), runs.end(), cp,
                               [](uint32_t c, const unicode_case::CaseRun& r) { return c < r.first; });
    if (it == runs.begin()) return cp;
    --it;
    if (cp > it->last || (cp - it->first) % it->stride != 0) return cp;
    return static_cast<uint32_t>(static_cast<int64_t>(cp) + it->delta);
}

Result<Value> map_case(Interpreter& interp, const char* op, std::span<Value> a, bool upper) {
    RTFS_TRY(const std::string* s, string_arg(op, a[0]));
    // A mapped character takes at most 1.5 times its bytes (2 -> 3: U+023A lowers to U+2C65).
    RTFS_CHECK(check_alloc(interp, (s->size() + s->size() / 2) / sizeof(Value)));
    const std::span<const unicode_case::CaseRun> runs =
        upper ? std::span<const unicode_case::CaseRun>(unicode_case::kToUpper)
              : std::span<const unicode_case::CaseRun>(unicode_case::kToLower);
    std::string out;
    out.reserve(s->size());
    for (size_t i = 0; i < s->size();) {
        const auto c = static_cast<unsigned char>((*s)[i]);
        if (c < 0x80) {  // ASCII
            out += static_cast<char>(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c)
                                           : (c >= 'A' && c <= 'Z' ? c + 32 : c));
            ++i;
            continue;
        }
        const utf8::Decoded d = utf8::decode(*s, i);
        if (d.valid) {
            utf8::append(out, map_code_point(d.cp, runs));
        } else {
            out += (*s)[i];  // not UTF-8: the byte as it is
        }
        i += d.len;
    }
    return make_string(std::move(out));
}
Result<Value> string_upper(Interpreter& interp, std::span<Value> a) {
    return map_case(interp, "string-upper", a, true);
}
Result<Value> upper_case(Interpreter& interp, std::span<Value> a) {
    return map_case(interp, "upper-case", a, true);
}
Result<Value> string_lower(Interpreter& interp, std::span<Value> a) {
    return map_case(interp, "string-lower", a, false);
}
Result<Value> lower_case(Interpreter& interp, std::span<Value> a) {
    return map_case(interp, "lower-case", a, false);
}

// Trims ASCII whitespace (space, \t \n \v \f \r) from both ends.
Result<Value> trim_impl(const char* op, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg(op, a[0]));
    return make_string(std::string(rtfs::trim_ascii(*s)));
}
Result<Value> string_trim(Interpreter&, std::span<Value> a) { return trim_impl("string-trim", a); }
Result<Value> trim(Interpreter&, std::span<Value> a) { return trim_impl("trim", a); }

// (replace s match replacement): every literal occurrence. An empty match inserts the
// replacement between all characters and at both ends.
Result<Value> replace(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(const std::string* s, string_arg("replace", a[0]));
    RTFS_TRY(const std::string* m, string_arg("replace", a[1]));
    RTFS_TRY(const std::string* r, string_arg("replace", a[2]));
    // The occurrences, in order (with an empty match: before each character and at the end),
    // found twice rather than kept: their offsets took 8 bytes a character the heap never saw
    // (595 MB for a 32 MB string under a 64 MiB limit; red team, 2026-12-06).
    auto each_hit = [&](auto&& f) {
        if (m->empty()) {
            for (size_t i = 0; i < s->size(); i += utf8::decode(*s, i).len) f(i);
            f(s->size());
        } else {
            for (size_t at = find_text(*s, *m); at != std::string::npos; at = find_text(*s, *m, at + m->size())) f(at);
        }
    };
    size_t hits = 0;
    each_hit([&](size_t) { ++hits; });
    // The result can be far larger than the inputs: check it fits before building it.
    const size_t size = s->size() - hits * m->size() + hits * r->size();
    RTFS_CHECK(check_alloc(interp, size / sizeof(Value)));
    std::string out;
    out.reserve(size);
    size_t from = 0;
    each_hit([&](size_t at) {
        out.append(*s, from, at - from);
        out += *r;
        from = at + m->size();
    });
    out.append(*s, from);
    return make_string(std::move(out));
}

// (keyword "a") and (keyword ":a") -> :a; keywords stay; symbols convert; nil stays nil.
Result<Value> keyword(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is(Type::Keyword) || v.is_nil()) return v;
    if (!v.is(Type::String) && !v.is(Type::Symbol))
        return type_error("keyword", "string, keyword or symbol", v);
    std::string_view name = v.str();
    if (v.is(Type::String) && name.starts_with(':')) name.remove_prefix(1);
    if (name.empty()) return invalid_argument("keyword", "empty name");
    return make_keyword(std::string(name));
}

Result<Value> symbol(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is(Type::Symbol)) return v;
    if (!v.is(Type::String) && !v.is(Type::Keyword))
        return type_error("symbol", "string, keyword or symbol", v);
    if (v.str().empty()) return invalid_argument("symbol", "empty name");
    return make_symbol(v.str());
}

// The name of a keyword or symbol without the colon; a string is its own name.
Result<Value> name(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is(Type::String)) return v;
    if (!v.is(Type::Keyword) && !v.is(Type::Symbol))
        return type_error("name", "string, keyword or symbol", v);
    return make_string(v.str());
}

// ---- regular expressions --------------------------------------------------------------------

// Lets a long match notice the interpreter's limits (deadline, cancel, step budget).
struct PollState {
    Interpreter* interp;
    std::optional<Error> stopped;
};
bool poll_interpreter(void* ctx) {
    auto* st = static_cast<PollState*>(ctx);
    auto r = st->interp->check_limits();
    if (r) return true;
    st->stopped = r.error();
    return false;
}

// Compiles the pattern and checks the matcher's work buffers fit in the memory limit.
Result<regex::Regex> compile_pattern(const char* op, Interpreter& interp, const Value& pattern) {
    RTFS_TRY(const std::string* p, string_arg(op, pattern));
    auto re = regex::Regex::compile(*p);
    if (!re)
        return invalid_argument(op, "bad pattern at " + std::to_string(re.error().position) +
                                        ": " + re.error().message);
    RTFS_CHECK(check_alloc(interp, re->matcher_bytes() / sizeof(Value)));
    return std::move(*re);
}

// Clojure's result shape: the matched text, or [whole g1 g2 ...] (nil for a group that took no
// part) when the pattern has groups.
Value match_value(const std::string& text, const std::vector<regex::Span>& groups) {
    auto piece = [&](const regex::Span& s) {
        return s.matched() ? make_string(text.substr(s.begin, s.end - s.begin)) : Value();
    };
    if (groups.size() == 1) return piece(groups[0]);
    std::vector<Value> out;
    out.reserve(groups.size());
    for (const auto& g : groups) out.push_back(piece(g));
    return make_vector(std::move(out));
}

Result<Value> match_once(const char* op, regex::Anchor anchor, Interpreter& interp,
                         std::span<Value> a) {
    RTFS_TRY(regex::Regex re, compile_pattern(op, interp, a[0]));
    RTFS_TRY(const std::string* text, string_arg(op, a[1]));
    PollState poll{&interp, std::nullopt};
    regex::Matcher m(re, poll_interpreter, &poll);
    std::vector<regex::Span> groups;
    switch (m.match(*text, 0, anchor, groups)) {
        case regex::Outcome::Match: return match_value(*text, groups);
        case regex::Outcome::NoMatch: return Value();
        case regex::Outcome::Stopped: break;
    }
    return unexpected(std::move(*poll.stopped));
}

Result<Value> re_matches(Interpreter& interp, std::span<Value> a) {
    return match_once("re-matches", regex::Anchor::Full, interp, a);
}
Result<Value> re_find(Interpreter& interp, std::span<Value> a) {
    return match_once("re-find", regex::Anchor::Search, interp, a);
}

// Every non-overlapping match, left to right, as a vector; nil when there is none (as in
// Clojure). After an empty match the search resumes one character further on.
Result<Value> re_seq(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(regex::Regex re, compile_pattern("re-seq", interp, a[0]));
    RTFS_TRY(const std::string* text, string_arg("re-seq", a[1]));
    PollState poll{&interp, std::nullopt};
    regex::Matcher m(re, poll_interpreter, &poll);
    std::vector<regex::Span> groups;
    std::vector<Value> out;
    size_t unchecked = 0;  // values made since the last memory check
    for (size_t pos = 0; pos <= text->size();) {
        const regex::Outcome o = m.match(*text, pos, regex::Anchor::Search, groups);
        if (o == regex::Outcome::Stopped) return unexpected(std::move(*poll.stopped));
        if (o == regex::Outcome::NoMatch) break;
        out.push_back(match_value(*text, groups));
        const regex::Span whole = groups[0];
        pos = whole.end > whole.begin ? whole.end
              : whole.end < text->size() ? whole.end + utf8::decode(*text, whole.end).len
                                         : whole.end + 1;
        // With many groups the result outgrows the text: count it against the memory limit.
        unchecked += groups.size();
        if (unchecked >= 4096) {
            unchecked = 0;
            RTFS_CHECK(check_alloc(interp, out.size()));
        }
    }
    if (out.empty()) return Value();
    return make_vector(std::move(out));
}

}  // namespace

void add_strings(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"str", 0, kVariadic, str},
        {"string-length", 1, 1, string_length},
        {"substring", 2, 3, substring},
        {"subs", 2, 3, subs},
        {"string-contains", 2, 2, string_contains},
        {"includes?", 2, 2, includes},
        {"starts-with?", 2, 2, starts_with},
        {"ends-with?", 2, 2, ends_with},
        {"split", 2, 2, split},
        {"join", 1, 2, join},
        {"string-join", 1, 2, string_join},
        {"string-upper", 1, 1, string_upper},
        {"upper-case", 1, 1, upper_case},
        {"string-lower", 1, 1, string_lower},
        {"lower-case", 1, 1, lower_case},
        {"string-trim", 1, 1, string_trim},
        {"trim", 1, 1, trim},
        {"replace", 3, 3, replace},
        {"keyword", 1, 1, keyword},
        {"symbol", 1, 1, symbol},
        {"name", 1, 1, name},
        {"re-matches", 2, 2, re_matches},
        {"re-find", 2, 2, re_find},
        {"re-seq", 2, 2, re_seq},
    });
}

}  // namespace rtfs::stdlib
