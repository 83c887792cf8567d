// Regex: parser (pattern -> syntax tree), compiler (tree -> NFA program) and Pike VM matcher.
#include "stdlib/regex.hpp"

#include <algorithm>

#include "stdlib/utf8.hpp"

namespace rtfs::regex {

namespace {

// A byte that is not valid UTF-8 (in the text or the pattern) reads as this + its value, so it
// can never be confused with a real character.
constexpr uint32_t kRawByteBase = 0x110000;
constexpr uint32_t kMaxUnit = kRawByteBase + 0xFF;

enum AssertKind : uint32_t { kBeginText, kEndText, kWordBoundary, kNotWordBoundary };

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

struct Unit {
    uint32_t value;
    size_t len;
};

Unit unit_at(std::string_view s, size_t i) {
    utf8::Decoded d = utf8::decode(s, i);
    return {d.valid ? d.cp : kRawByteBase + d.cp, d.len};
}

bool is_word_byte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Ranges normalized(Ranges r) {
    std::sort(r.begin(), r.end());
    Ranges out;
    for (const auto& [lo, hi] : r) {
        if (!out.empty() && lo <= out.back().second + 1) {
            out.back().second = std::max(out.back().second, hi);
        } else {
            out.emplace_back(lo, hi);
        }
    }
    return out;
}

Ranges complement(const Ranges& sorted) {
    Ranges out;
    uint32_t next = 0;
    for (const auto& [lo, hi] : sorted) {
        if (lo > next) out.emplace_back(next, lo - 1);
        next = hi + 1;
    }
    if (next <= kMaxUnit) out.emplace_back(next, kMaxUnit);
    return out;
}

// \d \w \s and their negations (ASCII definitions).
Ranges perl_class(char e) {
    Ranges r;
    switch (e | 0x20) {
        case 'd': r = {{'0', '9'}}; break;
        case 'w': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
        default: r = {{'\t', '\r'}, {' ', ' '}}; break;  // \t \n \v \f \r and space
    }
    return (e >= 'A' && e <= 'Z') ? complement(r) : r;
}

struct Node {
    enum class Kind { Empty, Char, Class, Concat, Alt, Repeat, Group, Assert };
    Kind kind = Kind::Empty;
    uint32_t value = 0;  // Char: the character; Assert: its kind; Group: capture index, 0 = none
    Ranges ranges{};     // Class (normalized)
    std::vector<Node> kids{};
    int min = 0, max = -1;  // Repeat; max -1 = unbounded
    bool greedy = true;
};

using ParseResult = Expected<Node, CompileError>;

class Parser {
public:
    explicit Parser(std::string_view p) : p_(p) {}

    ParseResult parse() {
        RTFS_TRY(Node root, parse_alternation(0));
        // parse_alternation stops early only at a ')' with no group open.
        if (i_ < p_.size()) return fail(i_, "unbalanced ')'");
        return root;
    }
    size_t groups() const { return groups_; }

private:
    static Unexpected<CompileError> fail(size_t at, std::string why) {
        return unexpected(CompileError{at + 1, std::move(why)});
    }
    bool more() const { return i_ < p_.size(); }

    ParseResult parse_alternation(int depth) {
        Node alt{.kind = Node::Kind::Alt};
        for (;;) {
            RTFS_TRY(Node branch, parse_concatenation(depth));
            alt.kids.push_back(std::move(branch));
            if (!more() || p_[i_] != '|') break;
            ++i_;
        }
        if (alt.kids.size() == 1) return std::move(alt.kids[0]);
        return alt;
    }

    ParseResult parse_concatenation(int depth) {
        Node cat{.kind = Node::Kind::Concat};
        while (more() && p_[i_] != '|' && p_[i_] != ')') {
            RTFS_TRY(Node atom, parse_atom(depth));
            RTFS_TRY(Node item, parse_quantifier(std::move(atom)));
            cat.kids.push_back(std::move(item));
        }
        if (cat.kids.empty()) return Node{};
        if (cat.kids.size() == 1) return std::move(cat.kids[0]);
        return cat;
    }

    // Reads {n}, {n,}, {n,m} at i_. Returns false (and leaves i_) when the text there is not a
    // counted quantifier, in which case '{' is a literal character.
    Expected<bool, CompileError> parse_counts(int& min, int& max) {
        size_t j = i_ + 1;
        auto number = [&](int& out) {
            size_t first = j;
            long v = 0;
            for (; j < p_.size() && p_[j] >= '0' && p_[j] <= '9'; ++j)
                v = std::min(v * 10 + (p_[j] - '0'), 1'000'000L);
            out = static_cast<int>(v);
            return j > first;
        };
        if (!number(min)) return false;
        max = min;
        if (j < p_.size() && p_[j] == ',') {
            ++j;
            if (!number(max)) max = -1;
        }
        if (j >= p_.size() || p_[j] != '}') return false;
        if (min > kMaxRepeat || max > kMaxRepeat)
            return fail(i_, "repeat count over " + std::to_string(kMaxRepeat));
        if (max != -1 && max < min) return fail(i_, "repeat range {min,max} with max < min");
        i_ = j + 1;
        return true;
    }

    bool at_quantifier() {
        if (!more()) return false;
        char c = p_[i_];
        if (c == '*' || c == '+' || c == '?') return true;
        if (c != '{') return false;
        size_t save = i_;
        int a = 0, b = 0;
        auto r = parse_counts(a, b);
        i_ = save;
        return !r || *r;  // a malformed count such as {5,2} is a quantifier too
    }

    ParseResult parse_quantifier(Node atom) {
        if (!at_quantifier()) return atom;
        const size_t at = i_;
        int min = 0, max = -1;
        switch (p_[i_]) {
            case '*': ++i_; break;
            case '+': min = 1, ++i_; break;
            case '?': max = 1, ++i_; break;
            default: {
                RTFS_TRY(bool counted, parse_counts(min, max));
                (void)counted;  // at_quantifier() saw a well-formed count
            }
        }
        if (atom.kind == Node::Kind::Assert) return fail(at, "nothing to repeat");
        bool greedy = true;
        if (more() && p_[i_] == '?') greedy = false, ++i_;
        if (at_quantifier()) return fail(i_, "nested quantifier");
        Node rep{.kind = Node::Kind::Repeat, .min = min, .max = max, .greedy = greedy};
        rep.kids.push_back(std::move(atom));
        return rep;
    }

    ParseResult parse_atom(int depth) {
        const size_t at = i_;
        const char c = p_[i_];
        switch (c) {
            case '(': return parse_group(depth);
            case '[': return parse_class();
            case '.': ++i_; return class_node(complement({{'\n', '\n'}}));
            case '^': ++i_; return Node{.kind = Node::Kind::Assert, .value = kBeginText};
            case '$': ++i_; return Node{.kind = Node::Kind::Assert, .value = kEndText};
            case '\\': return parse_escape_atom();
            case '*':
            case '+':
            case '?': return fail(at, "nothing to repeat");
            default: break;
        }
        if (c == '{' && at_quantifier()) return fail(at, "nothing to repeat");
        Unit u = unit_at(p_, i_);
        i_ += u.len;
        return Node{.kind = Node::Kind::Char, .value = u.value};
    }

    ParseResult parse_group(int depth) {
        const size_t open = i_++;
        if (depth + 1 > kMaxNesting)
            return fail(open, "groups nested deeper than " + std::to_string(kMaxNesting));
        uint32_t index = 0;
        if (more() && p_[i_] == '?') {
            if (i_ + 1 >= p_.size() || p_[i_ + 1] != ':')
                return fail(i_, "unsupported group syntax '(?'");
            i_ += 2;
        } else {
            index = static_cast<uint32_t>(++groups_);
        }
        RTFS_TRY(Node inner, parse_alternation(depth + 1));
        if (!more()) return fail(open, "missing ')'");
        ++i_;  // ')'
        Node g{.kind = Node::Kind::Group, .value = index};
        g.kids.push_back(std::move(inner));
        return g;
    }

    static Node class_node(Ranges r) {
        return Node{.kind = Node::Kind::Class, .ranges = normalized(std::move(r))};
    }

    // One escape at i_ ('\'): a character, a class (\d ...) or, outside classes, an assertion.
    struct Escape {
        enum { Char, Class, Assert } kind;
        uint32_t value = 0;
        Ranges ranges{};
    };
    Expected<Escape, CompileError> parse_escape(bool in_class) {
        const size_t at = i_;
        if (i_ + 1 >= p_.size()) return fail(at, "trailing backslash");
        const char e = p_[i_ + 1];
        i_ += 2;
        switch (e) {
            case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
                return Escape{Escape::Class, 0, perl_class(e)};
            case 'n': return Escape{Escape::Char, '\n'};
            case 't': return Escape{Escape::Char, '\t'};
            case 'r': return Escape{Escape::Char, '\r'};
            case 'f': return Escape{Escape::Char, '\f'};
            case 'v': return Escape{Escape::Char, '\v'};
            case '0': return Escape{Escape::Char, 0};
            case 'x':
            case 'u': {
                const size_t digits = e == 'x' ? 2 : 4;
                auto hex = [&](uint32_t& v) {
                    v = 0;
                    for (size_t k = 0; k < digits; ++k, ++i_) {
                        char h = more() ? p_[i_] : '\0';
                        int d = (h >= '0' && h <= '9')   ? h - '0'
                                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                         : -1;
                        if (d < 0) return false;
                        v = v * 16 + static_cast<uint32_t>(d);
                    }
                    return true;
                };
                uint32_t v = 0;
                if (!hex(v)) return fail(at, std::string("\\") + e + " needs " + std::to_string(digits) + " hex digits");
                // A high surrogate followed by a \u escape of a low one is the character they
                // encode, as in strings and JSON ("\uD83D\uDE00"); either half alone is an error.
                if (v >= 0xD800 && v <= 0xDBFF && i_ + 1 < p_.size() && p_[i_] == '\\' && p_[i_ + 1] == 'u') {
                    const size_t second = i_;
                    i_ += 2;
                    uint32_t low = 0;
                    if (!hex(low)) return fail(second, "\\u needs 4 hex digits");
                    if (low < 0xDC00 || low > 0xDFFF) return fail(at, "\\u escape of a surrogate");
                    return Escape{Escape::Char, 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)};
                }
                if (v >= 0xD800 && v <= 0xDFFF) return fail(at, "\\u escape of a surrogate");
                return Escape{Escape::Char, v};
            }
            default: break;
        }
        if (!in_class) {
            switch (e) {
                case 'b': return Escape{Escape::Assert, kWordBoundary};
                case 'B': return Escape{Escape::Assert, kNotWordBoundary};
                case 'A': return Escape{Escape::Assert, kBeginText};
                case 'z': return Escape{Escape::Assert, kEndText};
                default: break;
            }
        }
        if (e >= '1' && e <= '9') return fail(at, "backreferences are not supported");
        const auto b = static_cast<unsigned char>(e);
        if (b >= 0x80) {  // an escaped non-ASCII character stands for itself
            i_ -= 1;
            Unit u = unit_at(p_, i_);
            i_ += u.len;
            return Escape{Escape::Char, u.value};
        }
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || b < 0x20)
            return fail(at, std::string("unknown escape '\\") + e + "'");
        return Escape{Escape::Char, b};  // escaped punctuation
    }

    ParseResult parse_escape_atom() {
        RTFS_TRY(Escape e, parse_escape(false));
        switch (e.kind) {
            case Escape::Char: return Node{.kind = Node::Kind::Char, .value = e.value};
            case Escape::Assert: return Node{.kind = Node::Kind::Assert, .value = e.value};
            case Escape::Class: break;
        }
        return class_node(std::move(e.ranges));
    }

    ParseResult parse_class() {
        const size_t open = i_++;
        bool negate = false;
        if (more() && p_[i_] == '^') negate = true, ++i_;
        Ranges r;
        for (bool first = true;; first = false) {
            if (!more()) return fail(open, "missing ']'");
            if (p_[i_] == ']' && !first) {
                ++i_;
                break;
            }
            const size_t item = i_;
            RTFS_TRY(Escape lo, class_item());
            if (lo.kind == Escape::Class) {
                r.insert(r.end(), lo.ranges.begin(), lo.ranges.end());
                continue;
            }
            if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
                ++i_;
                RTFS_TRY(Escape hi, class_item());
                if (hi.kind == Escape::Class || hi.value < lo.value)
                    return fail(item, "invalid range in character class");
                r.emplace_back(lo.value, hi.value);
            } else {
                r.emplace_back(lo.value, lo.value);
            }
        }
        r = normalized(std::move(r));
        return class_node(negate ? complement(r) : r);
    }

    Expected<Escape, CompileError> class_item() {
        if (p_[i_] == '\\') return parse_escape(true);
        Unit u = unit_at(p_, i_);
        i_ += u.len;
        return Escape{Escape::Char, u.value};
    }

    std::string_view p_;
    size_t i_ = 0;
    size_t groups_ = 0;
};

}  // namespace

bool CharClass::contains(uint32_t c) const {
    if (c < 0x80) return (ascii[c >> 6] >> (c & 63)) & 1;
    auto it = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(c, kMaxUnit));
    return it != ranges.begin() && std::prev(it)->second >= c;
}

// Emits the program for a syntax tree. Stops (too_big) once the program limit is reached, which
// also bounds the work nested counted repeats can cause.
class Compiler {
public:
    explicit Compiler(Regex& re) : re_(re) {}
    bool too_big = false;

    void compile(const Node& n) {
        if (too_big) return;
        switch (n.kind) {
            case Node::Kind::Empty: return;
            case Node::Kind::Char: emit({Op::Char, n.value}); return;
            case Node::Kind::Assert: emit({Op::Assert, n.value}); return;
            case Node::Kind::Class: return compile_class(n.ranges);
            case Node::Kind::Concat:
                for (const Node& k : n.kids) compile(k);
                return;
            case Node::Kind::Group:
                if (n.value == 0) return compile(n.kids[0]);
                emit({Op::Save, 2 * n.value});
                compile(n.kids[0]);
                emit({Op::Save, 2 * n.value + 1});
                return;
            case Node::Kind::Alt: return compile_alternation(n.kids);
            case Node::Kind::Repeat: return compile_repeat(n);
        }
    }

    void finish() { emit({Op::Match}); }

private:
    uint32_t here() const { return static_cast<uint32_t>(re_.prog_.size()); }
    uint32_t emit(Inst in) {
        if (re_.prog_.size() >= kMaxProgram) {
            too_big = true;
            return 0;
        }
        re_.prog_.push_back(in);
        return here() - 1;
    }
    void patch(uint32_t at, uint32_t x, uint32_t y) {
        if (too_big) return;
        re_.prog_[at].x = x;
        re_.prog_[at].y = y;
    }

    void compile_class(const Ranges& r) {
        if (r.size() == 1 && r[0].first == r[0].second) {
            emit({Op::Char, r[0].first});
            return;
        }
        CharClass cc;
        for (auto [lo, hi] : r) {
            for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 0x7F); ++c)
                cc.ascii[c >> 6] |= uint64_t{1} << (c & 63);
            if (hi >= 0x80) cc.ranges.emplace_back(std::max<uint32_t>(lo, 0x80), hi);
        }
        re_.classes_.push_back(std::move(cc));
        emit({Op::Class, static_cast<uint32_t>(re_.classes_.size() - 1)});
    }

    // a|b|c: Split(a, Split(b, c)); each branch but the last jumps to the end.
    void compile_alternation(const std::vector<Node>& kids) {
        std::vector<uint32_t> jumps;
        for (size_t i = 0; i < kids.size() && !too_big; ++i) {
            if (i + 1 == kids.size()) {
                compile(kids[i]);
                break;
            }
            uint32_t split = emit({Op::Split});
            compile(kids[i]);
            jumps.push_back(emit({Op::Jmp}));
            patch(split, split + 1, here());
        }
        for (uint32_t j : jumps) patch(j, here(), 0);
    }

    void compile_repeat(const Node& n) {
        const Node& x = n.kids[0];
        const bool unbounded = n.max == -1;
        // The mandatory copies; x{n,} keeps the last one for the loop (x+).
        const int fixed = unbounded && n.min > 0 ? n.min - 1 : n.min;
        for (int i = 0; i < fixed && !too_big; ++i) compile(x);
        if (unbounded && n.min > 0) {  // x+: L: x; Split(L, out)
            uint32_t loop = here();
            compile(x);
            uint32_t split = emit({Op::Split});
            if (n.greedy) patch(split, loop, split + 1);
            else patch(split, split + 1, loop);
        } else if (unbounded) {  // x*: L: Split(body, out); body: x; Jmp L
            uint32_t split = emit({Op::Split});
            compile(x);
            emit({Op::Jmp, split});
            if (n.greedy) patch(split, split + 1, here());
            else patch(split, here(), split + 1);
        } else {  // (x(x(x)?)?)? for the optional copies
            std::vector<uint32_t> splits;
            for (int i = n.min; i < n.max && !too_big; ++i) {
                splits.push_back(emit({Op::Split}));
                compile(x);
            }
            for (uint32_t s : splits) {
                if (n.greedy) patch(s, s + 1, here());
                else patch(s, here(), s + 1);
            }
        }
    }

    Regex& re_;
};

Expected<Regex, CompileError> Regex::compile(std::string_view pattern) {
    if (pattern.size() > kMaxPatternBytes)
        return unexpected(CompileError{kMaxPatternBytes + 1, "pattern longer than " +
                                                                 std::to_string(kMaxPatternBytes) +
                                                                 " bytes"});
    Parser parser(pattern);
    RTFS_TRY(Node root, parser.parse());
    Regex re;
    re.groups_ = parser.groups();
    Compiler c(re);
    re.prog_.push_back({Op::Save, 0});
    c.compile(root);
    if (!c.too_big) re.prog_.push_back({Op::Save, 1});
    c.finish();
    const size_t slots = 2 * (re.groups_ + 1);
    if (c.too_big || re.prog_.size() * slots > kMaxProgramSlots)
        return unexpected(CompileError{1, "pattern too large (compiled program over the limit)"});
    return re;
}

// ---- matching -------------------------------------------------------------------------------

size_t Regex::matcher_bytes() const {
    const size_t nslots = 2 * (groups_ + 1);
    // Two thread lists (dense, sparse, slots per instruction) plus the exploration stack.
    return prog_.size() * (2 * (2 * sizeof(uint32_t) + nslots * sizeof(size_t)) + 32);
}

Matcher::Matcher(const Regex& re, PollFn poll, void* poll_ctx)
    : re_(re), poll_(poll), poll_ctx_(poll_ctx), nslots_(2 * (re.groups_ + 1)) {
    caps_.resize(nslots_);
    for (ThreadList* l : {&clist_, &nlist_}) {
        l->dense.resize(re.prog_.size());
        l->sparse.resize(re.prog_.size());
        l->slots.resize(re.prog_.size() * nslots_);
    }
}

static bool assertion_holds(uint32_t kind, size_t pos, std::string_view text) {
    switch (kind) {
        case kBeginText: return pos == 0;
        case kEndText: return pos == text.size();
        default: {
            bool before = pos > 0 && is_word_byte(text[pos - 1]);
            bool after = pos < text.size() && is_word_byte(text[pos]);
            return (before != after) == (kind == kWordBoundary);
        }
    }
}

// Follows the empty transitions from pc at text position pos, adding every thread that waits for
// a character (or a Match) to the list, in priority order. Iterative: an explicit stack of
// "explore" and "restore a capture slot" frames, so no pattern can overflow the native stack.
void Matcher::add_thread(ThreadList& list, uint32_t pc0, size_t pos, std::string_view text) {
    const auto& prog = re_.prog_;
    stack_.clear();
    stack_.push_back({false, pc0, 0});
    while (!stack_.empty()) {
        Frame f = stack_.back();
        stack_.pop_back();
        if (f.restore) {
            caps_[f.pc_or_slot] = f.old;
            continue;
        }
        for (uint32_t pc = f.pc_or_slot; !list.contains(pc);) {
            list.insert(pc);
            const Inst& in = prog[pc];
            if (in.op == Op::Jmp) {
                pc = in.x;
            } else if (in.op == Op::Split) {
                stack_.push_back({false, in.y, 0});
                pc = in.x;
            } else if (in.op == Op::Save) {
                stack_.push_back({true, in.x, caps_[in.x]});
                caps_[in.x] = pos;
                ++pc;
            } else if (in.op == Op::Assert) {
                if (!assertion_holds(in.x, pos, text)) break;
                ++pc;
            } else {  // Char, Class, Match: the thread waits here
                std::copy(caps_.begin(), caps_.end(), list.slots.begin() + pc * nslots_);
                break;
            }
        }
    }
}

Outcome Matcher::match(std::string_view text, size_t start, Anchor anchor,
                       std::vector<Span>& groups) {
    constexpr uint64_t kPollEvery = 1u << 16;
    const auto& prog = re_.prog_;
    const size_t n = text.size();
    if (start > n) return Outcome::NoMatch;
    std::vector<size_t> best;
    clist_.size = 0;
    for (size_t pos = start;;) {
        if (best.empty() && (anchor == Anchor::Search || pos == start)) {
            std::fill(caps_.begin(), caps_.end(), Span::npos);
            add_thread(clist_, 0, pos, text);
        }
        if (clist_.size == 0) break;
        const Unit u = pos < n ? unit_at(text, pos) : Unit{0, 0};
        nlist_.size = 0;
        for (size_t t = 0; t < clist_.size; ++t) {
            const uint32_t pc = clist_.dense[t];
            const Inst& in = prog[pc];
            const size_t* slots = clist_.slots.data() + pc * nslots_;
            if (in.op == Op::Match) {
                if (anchor == Anchor::Full && pos != n) continue;
                best.assign(slots, slots + nslots_);
                break;  // lower-priority threads are cut off
            }
            const bool step = pos < n && ((in.op == Op::Char && u.value == in.x) ||
                                          (in.op == Op::Class &&
                                           re_.classes_[in.x].contains(u.value)));
            if (step) {
                std::copy(slots, slots + nslots_, caps_.begin());
                add_thread(nlist_, pc + 1, pos + u.len, text);
            }
        }
        work_ += clist_.size;
        std::swap(clist_, nlist_);
        if (pos >= n) break;
        pos += u.len;
        if (poll_ && work_ >= kPollEvery) {
            work_ = 0;
            if (!poll_(poll_ctx_)) return Outcome::Stopped;
        }
    }
    if (best.empty()) return Outcome::NoMatch;
    groups.assign(nslots_ / 2, Span{});
    for (size_t g = 0; g < groups.size(); ++g) {
        // A group counts only when both ends were recorded by the same iteration.
        if (best[2 * g] != Span::npos && best[2 * g + 1] != Span::npos &&
            best[2 * g] <= best[2 * g + 1])
            groups[g] = {best[2 * g], best[2 * g + 1]};
    }
    return Outcome::Match;
}

}  // namespace rtfs::regex
