// The regular-expression engine behind re-matches, re-find and re-seq.
//
// A pattern compiles to a small NFA program that a Pike VM runs over the text: all alternatives
// advance together one character at a time, so matching takes O(text x program) time for every
// pattern — (a*)*b against a long run of a's is as fast as a plain scan. std::regex is not used:
// it throws or aborts on bad patterns and backtracks exponentially.
//
// Syntax: literals, `.` (any character but newline), classes `[abc]` `[^a-z]`, escapes
// `\d \w \s \D \W \S` (ASCII classes), `\b \B` (ASCII word boundary), `\A \z`, `\n \t \r \f \v
// \0 \xHH \uHHHH`, `\` before punctuation; anchors `^ $` (start and end of the whole text);
// groups `( )` and `(?: )`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}` (counts up to
// 1000) and their lazy forms with a trailing `?`. Submatches follow leftmost-first (Perl, JS)
// priority. The text is read as UTF-8 characters: `.` and classes match whole characters, and a
// byte that is not valid UTF-8 is a character of its own (matched by `.` and negated classes).
//
// Untrusted patterns are bounded: at most 10,000 bytes, 100 nested groups and 50,000 program
// instructions, and counts above 1000 are refused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtfs/expected.hpp"

namespace rtfs::regex {

inline constexpr size_t kMaxPatternBytes = 10'000;
inline constexpr int kMaxRepeat = 1000;
inline constexpr int kMaxNesting = 100;
inline constexpr size_t kMaxProgram = 50'000;
// Matching keeps capture positions per instruction: program size x capture slots is bounded too.
inline constexpr size_t kMaxProgramSlots = 1u << 20;

struct CompileError {
    size_t position;  // 1-based byte position in the pattern
    std::string message;
};

// Where a group matched: bytes [begin, end) of the text; npos when it took no part.
struct Span {
    static constexpr size_t npos = static_cast<size_t>(-1);
    size_t begin = npos;
    size_t end = npos;
    bool matched() const { return begin != npos; }
};

enum class Anchor {
    Search,  // the leftmost match starting at or after the start offset
    Full,    // the whole text must match
};

enum class Outcome { Match, NoMatch, Stopped };

// A set of characters: ASCII as a bitmap, the rest as sorted disjoint ranges.
struct CharClass {
    std::array<uint64_t, 2> ascii{};
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // code points >= 0x80 (and raw bytes)
    bool contains(uint32_t c) const;
};

enum class Op : uint8_t { Char, Class, Split, Jmp, Save, Assert, Match };

struct Inst {
    Op op;
    uint32_t x = 0;  // Char: character; Class: class index; Split/Jmp: target; Save: slot; Assert
    uint32_t y = 0;  // Split: the lower-priority target
};

class Regex {
public:
    static Expected<Regex, CompileError> compile(std::string_view pattern);
    size_t group_count() const { return groups_; }  // capture groups, not counting the match
    // Bytes a Matcher for this program keeps in its work buffers (at most a few tens of MB).
    size_t matcher_bytes() const;

private:
    friend class Matcher;
    friend class Compiler;
    std::vector<Inst> prog_;
    std::vector<CharClass> classes_;
    size_t groups_ = 0;
};

// Runs a Regex. It keeps its work buffers between calls, so one Matcher serves a whole re-seq.
class Matcher {
public:
    // Called every so often during a long match; returning false abandons it (Outcome::Stopped).
    using PollFn = bool (*)(void* ctx);

    explicit Matcher(const Regex& re, PollFn poll = nullptr, void* poll_ctx = nullptr);
    Matcher(const Matcher&) = delete;
    Matcher& operator=(const Matcher&) = delete;

    // On Match, `groups` holds 1 + group_count() spans (the whole match first).
    Outcome match(std::string_view text, size_t start, Anchor anchor, std::vector<Span>& groups);

private:
    // The threads alive at one text position, in priority order (a sparse set of program
    // counters), each with its capture positions.
    struct ThreadList {
        std::vector<uint32_t> dense, sparse;
        size_t size = 0;
        std::vector<size_t> slots;  // program size x capture slots
        bool contains(uint32_t pc) const { return sparse[pc] < size && dense[sparse[pc]] == pc; }
        void insert(uint32_t pc) {
            sparse[pc] = static_cast<uint32_t>(size);
            dense[size++] = pc;
        }
    };
    struct Frame {
        bool restore;         // restore a capture slot, or explore from a program counter
        uint32_t pc_or_slot;
        size_t old;
    };

    void add_thread(ThreadList& list, uint32_t pc, size_t pos, std::string_view text);

    const Regex& re_;
    PollFn poll_;
    void* poll_ctx_;
    size_t nslots_;
    std::vector<size_t> caps_;  // the captures of the thread being added
    std::vector<Frame> stack_;
    ThreadList clist_, nlist_;
    uint64_t work_ = 0;
};

}  // namespace rtfs::regex
