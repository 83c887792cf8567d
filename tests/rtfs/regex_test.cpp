// Unit tests of the RTFS regex engine (rtfs/src/stdlib/regex.hpp): syntax errors, matching,
// capture groups with leftmost-first priority, and linear time on pathological patterns.
#include "../../rtfs/src/stdlib/regex.hpp"  // internal to rtfs_core

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace {

using rtfs::regex::Anchor;
using rtfs::regex::Matcher;
using rtfs::regex::Outcome;
using rtfs::regex::Regex;
using rtfs::regex::Span;

// The groups of the first match ("-" for a group that took no part), or nullopt for no match.
std::optional<std::vector<std::string>> run(const std::string& pattern, const std::string& text,
                                            Anchor anchor = Anchor::Search, size_t start = 0) {
    auto re = Regex::compile(pattern);
    EXPECT_TRUE(re.has_value()) << pattern << ": " << (re ? "" : re.error().message);
    if (!re) return std::nullopt;
    Matcher m(*re);
    std::vector<Span> groups;
    Outcome o = m.match(text, start, anchor, groups);
    if (o != Outcome::Match) return std::nullopt;
    std::vector<std::string> out;
    for (const Span& s : groups)
        out.push_back(s.matched() ? text.substr(s.begin, s.end - s.begin) : "-");
    return out;
}

std::string whole(const std::string& pattern, const std::string& text) {
    auto r = run(pattern, text);
    return r ? (*r)[0] : "<none>";
}

bool full(const std::string& pattern, const std::string& text) {
    return run(pattern, text, Anchor::Full).has_value();
}

std::string compile_error(const std::string& pattern) {
    auto re = Regex::compile(pattern);
    if (re) return "<compiled>";
    return std::to_string(re.error().position) + ": " + re.error().message;
}

using Groups = std::vector<std::string>;

TEST(Regex, Literals) {
    EXPECT_EQ(whole("abc", "xxabcxx"), "abc");
    EXPECT_EQ(whole("abc", "ab"), "<none>");
    EXPECT_EQ(whole("", "abc"), "");
    EXPECT_EQ(whole("a.c", "abc"), "abc");
    EXPECT_EQ(whole("a.c", "a\nc"), "<none>");
    EXPECT_EQ(whole("\\.", "a.b"), ".");
    EXPECT_EQ(whole("\\\\", "a\\b"), "\\");
    EXPECT_EQ(whole("a\\tb\\n", "xa\tb\n"), "a\tb\n");
    EXPECT_EQ(whole("\\x41\\u00e9", "Aé"), "Aé");
    EXPECT_EQ(whole("a{", "a{"), "a{");  // not a count: literal brace
    EXPECT_EQ(whole("a{,2}", "a{,2}"), "a{,2}");
    EXPECT_EQ(whole("}", "}"), "}");
}

TEST(Regex, ClassesAndEscapes) {
    EXPECT_EQ(whole("[abc]+", "xxcabz"), "cab");
    EXPECT_EQ(whole("[^a-z]+", "abc123def"), "123");
    EXPECT_EQ(whole("[a-]+", "x-a-"), "-a-");
    EXPECT_EQ(whole("[]a]+", "x]a]"), "]a]");
    EXPECT_EQ(whole("[\\d.]+", "v1.25x"), "1.25");
    EXPECT_EQ(whole("\\d+", "ab 123 c"), "123");
    EXPECT_EQ(whole("\\D+", "12ab34"), "ab");
    EXPECT_EQ(whole("\\w+", "  hello_1 x"), "hello_1");
    EXPECT_EQ(whole("\\W+", "ab, cd"), ", ");
    EXPECT_EQ(whole("\\s+", "a \t\nb"), " \t\n");
    EXPECT_EQ(whole("\\S+", "  ab  "), "ab");
    EXPECT_EQ(whole("[^\\s]+", "  ab  "), "ab");
}

TEST(Regex, Utf8CharactersAreUnits) {
    EXPECT_EQ(whole("h.llo", "héllo"), "héllo");
    EXPECT_EQ(whole("é+", "xééy"), "éé");
    EXPECT_EQ(whole("[éa]+", "xaéz"), "aé");
    EXPECT_EQ(whole("[^a]", "é"), "é");
    EXPECT_EQ(whole("[α-ω]+", "abγδε"), "γδε");
    // A byte that is not UTF-8 is one character of its own.
    EXPECT_EQ(whole("a.b", std::string("a\xff" "b")), std::string("a\xff" "b"));
}

TEST(Regex, Anchors) {
    EXPECT_EQ(whole("^ab", "abab"), "ab");
    EXPECT_EQ(whole("^b", "ab"), "<none>");
    EXPECT_EQ(whole("b$", "abab"), "b");
    EXPECT_EQ(whole("a$", "ab"), "<none>");
    EXPECT_EQ(whole("^$", ""), "");
    EXPECT_EQ(whole("\\bfoo\\b", "a foo b"), "foo");
    EXPECT_EQ(whole("\\bfoo\\b", "afoo"), "<none>");
    EXPECT_EQ(whole("\\Boo", "foo"), "oo");
    EXPECT_EQ(whole("\\Aa", "aa"), "a");
    EXPECT_EQ(whole("a\\z", "aa"), "a");
    // ^ means the start of the text, also when searching from an offset.
    EXPECT_FALSE(run("^a", "aa", Anchor::Search, 1).has_value());
}

TEST(Regex, Quantifiers) {
    EXPECT_EQ(whole("ab*", "abbbc"), "abbb");
    EXPECT_EQ(whole("ab+", "ac"), "<none>");
    EXPECT_EQ(whole("ab?c", "ac"), "ac");
    EXPECT_EQ(whole("a{3}", "aaaaa"), "aaa");
    EXPECT_EQ(whole("a{2,}", "aaaaa"), "aaaaa");
    EXPECT_EQ(whole("a{2,3}", "aaaaa"), "aaa");
    EXPECT_EQ(whole("a{0}b", "aab"), "b");
    EXPECT_EQ(whole("(?:ab){2}", "abababx"), "abab");
    EXPECT_EQ(whole("a*?b", "aaab"), "aaab");
    EXPECT_EQ(whole("a+?", "aaa"), "a");
    EXPECT_EQ(whole("a??", "aaa"), "");
    EXPECT_EQ(whole("a{2,3}?", "aaaa"), "aa");
    EXPECT_EQ(whole("<.*>", "<a><b>"), "<a><b>");
    EXPECT_EQ(whole("<.*?>", "<a><b>"), "<a>");
}

TEST(Regex, Alternation) {
    EXPECT_EQ(whole("cat|dog", "hotdog"), "dog");
    EXPECT_EQ(whole("a|ab", "ab"), "a");  // leftmost-first, not longest
    EXPECT_EQ(whole("ab|a", "ab"), "ab");
    EXPECT_EQ(whole("(|a)+", "aa"), "");
    EXPECT_EQ(whole("x(a|b|c)*y", "xabcacby"), "xabcacby");
}

TEST(Regex, Groups) {
    EXPECT_EQ(run("(\\d+)-(\\d+)", "tel 12-345"), (Groups{"12-345", "12", "345"}));
    EXPECT_EQ(run("(a)|(b)", "b"), (Groups{"b", "-", "b"}));
    EXPECT_EQ(run("(a*)+", "b"), (Groups{"", ""}));
    EXPECT_EQ(run("(a+)(a*)", "aaa"), (Groups{"aaa", "aaa", ""}));
    EXPECT_EQ(run("(a+?)(a*)", "aaa"), (Groups{"aaa", "a", "aa"}));
    EXPECT_EQ(run("(a|ab)(c|bcd)(d*)", "abcd"), (Groups{"abcd", "a", "bcd", ""}));
    EXPECT_EQ(run("(?:(a)|b)+", "ab"), (Groups{"ab", "a"}));
    EXPECT_EQ(run("((a)(b))", "ab"), (Groups{"ab", "ab", "a", "b"}));
    EXPECT_EQ(run("(\\w+)@(\\w+)\\.com", "mail bob@example.com now"),
              (Groups{"bob@example.com", "bob", "example"}));
}

TEST(Regex, FullMatch) {
    EXPECT_TRUE(full("abc", "abc"));
    EXPECT_FALSE(full("abc", "abcd"));
    EXPECT_FALSE(full("bc", "abc"));
    // A whole-text match is found even if a shorter one ranks first.
    EXPECT_TRUE(full("a|ab", "ab"));
    EXPECT_TRUE(full("\\d+", "2024"));
    EXPECT_FALSE(full("\\d+", "2024x"));
    EXPECT_TRUE(full("", ""));
    EXPECT_EQ(run("(a+)(b*)", "aab", Anchor::Full), (Groups{"aab", "aa", "b"}));
}

TEST(Regex, SearchFromOffset) {
    EXPECT_EQ(run("\\d+", "12 34", Anchor::Search, 2), (Groups{"34"}));
    EXPECT_FALSE(run("\\d", "12", Anchor::Search, 2).has_value());
    EXPECT_EQ(run("", "ab", Anchor::Search, 2), (Groups{""}));
}

TEST(Regex, CompileErrors) {
    EXPECT_EQ(compile_error("ab)"), "3: unbalanced ')'");
    EXPECT_EQ(compile_error("(ab"), "1: missing ')'");
    EXPECT_EQ(compile_error("a[bc"), "2: missing ']'");
    EXPECT_EQ(compile_error("[]"), "1: missing ']'");
    EXPECT_EQ(compile_error("*a"), "1: nothing to repeat");
    EXPECT_EQ(compile_error("a|+"), "3: nothing to repeat");
    EXPECT_EQ(compile_error("(*)"), "2: nothing to repeat");
    EXPECT_EQ(compile_error("^*"), "2: nothing to repeat");
    EXPECT_EQ(compile_error("a**"), "3: nested quantifier");
    EXPECT_EQ(compile_error("a{2}{3}"), "5: nested quantifier");
    EXPECT_EQ(compile_error("a{1001}"), "2: repeat count over 1000");
    EXPECT_EQ(compile_error("a{1,99999999999}"), "2: repeat count over 1000");
    EXPECT_EQ(compile_error("a{5,2}"), "2: repeat range {min,max} with max < min");
    EXPECT_EQ(compile_error("[z-a]"), "2: invalid range in character class");
    EXPECT_EQ(compile_error("[a-\\d]"), "2: invalid range in character class");
    EXPECT_EQ(compile_error("ab\\"), "3: trailing backslash");
    EXPECT_EQ(compile_error("\\q"), "1: unknown escape '\\q'");
    EXPECT_EQ(compile_error("(a)\\1"), "4: backreferences are not supported");
    EXPECT_EQ(compile_error("(?=a)"), "2: unsupported group syntax '(?'");
    EXPECT_EQ(compile_error("\\xZZ"), "1: \\x needs 2 hex digits");
    EXPECT_EQ(compile_error("\\ud800"), "1: \\u escape of a surrogate");
}

TEST(Regex, SizeLimits) {
    EXPECT_EQ(compile_error(std::string(10'001, 'a')), "10001: pattern longer than 10000 bytes");
    EXPECT_EQ(compile_error(std::string(10'000, 'a')), "<compiled>");
    EXPECT_EQ(compile_error(std::string(100, '(') + std::string(100, ')')), "<compiled>");
    EXPECT_EQ(compile_error(std::string(101, '(') + std::string(101, ')')),
              "101: groups nested deeper than 100");
    // Nested counts multiply: refused by the program size limit, quickly.
    EXPECT_EQ(compile_error("((a{1000}){1000}){1000}"),
              "1: pattern too large (compiled program over the limit)");
    EXPECT_EQ(compile_error("[^,]{1000}"), "<compiled>");
    // Many groups times a long program would need too much capture memory.
    std::string many;
    for (int i = 0; i < 1000; ++i) many += "(a)";
    EXPECT_EQ(compile_error(many + "a{1000}"),
              "1: pattern too large (compiled program over the limit)");
}

// Patterns that take exponential time in a backtracking engine finish quickly here.
TEST(Regex, PathologicalPatternsAreLinear) {
    const std::string as(100'000, 'a');
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(whole("(a*)*b", as), "<none>");
    EXPECT_EQ(whole("(a|a)*b", as), "<none>");
    EXPECT_EQ(whole("(a+)+$", as + "!"), "<none>");
    EXPECT_FALSE(full("(a|aa)*c", as));
    EXPECT_EQ(whole("(x+x+)+y", std::string(5'000, 'x')), "<none>");
    EXPECT_EQ(whole("a{0,1000}a{1000}", std::string(1'000, 'a')), std::string(1'000, 'a'));
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    // A backtracking engine needs longer than the age of the universe; generous bound.
    EXPECT_LT(elapsed, std::chrono::seconds(20));
}

// The poll callback can stop a long match.
TEST(Regex, PollStopsMatching) {
    auto re = Regex::compile("(a|b)*c");
    ASSERT_TRUE(re.has_value());
    int calls = 0;
    Matcher m(
        *re,
        [](void* ctx) { return ++*static_cast<int*>(ctx) < 3; }, &calls);
    std::vector<Span> groups;
    EXPECT_EQ(m.match(std::string(1'000'000, 'a'), 0, Anchor::Search, groups), Outcome::Stopped);
    EXPECT_EQ(calls, 3);
}

// One Matcher serves several searches (as re-seq does).
TEST(Regex, MatcherIsReusable) {
    auto re = Regex::compile("(\\d)(x)?");
    ASSERT_TRUE(re.has_value());
    EXPECT_EQ(re->group_count(), 2u);
    Matcher m(*re);
    std::vector<Span> g;
    const std::string text = "1x 2 3x";
    std::vector<std::string> found;
    for (size_t pos = 0; m.match(text, pos, Anchor::Search, g) == Outcome::Match;) {
        found.push_back(text.substr(g[0].begin, g[0].end - g[0].begin) +
                        (g[2].matched() ? "+" : "-"));
        pos = g[0].end;
    }
    EXPECT_EQ(found, (std::vector<std::string>{"1x+", "2-", "3x+"}));
}

}  // namespace
