// The string, regex and JSON builtins count what they build against the interpreter's memory
// limit while they build it, not only once they are done: text built from shared strings, and
// results that outgrow their input, stop at the limit instead of exhausting the host's memory.
#include <gtest/gtest.h>

#include <string>

#include "../../rtfs/src/stdlib/regex.hpp"  // internal to rtfs_core
#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"

namespace {

constexpr int64_t kLimit = 16 << 20;

// Evaluates program under kLimit and expects a ResourceLimit error without the heap ever having
// gone much past the limit.
void expect_stopped_at_limit(const std::string& program) {
    rtfs::Interpreter interp({.memory_limit_bytes = kLimit});
    auto r = interp.eval(program);
    ASSERT_FALSE(r.has_value()) << program;
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit) << r.error().describe();
    EXPECT_LT(interp.heap_stats().peak_bytes, kLimit + (1 << 20)) << program;
}

// 1 MB strings a and b (the program's own memory stays far below the limit).
const std::string kMegabyte =
    "(let [k (apply str (repeat 1000 \"x\")) a (apply str (repeat 1000 k)) b a] ";

TEST(TextLimits, StrChecksTheResultSize) {
    expect_stopped_at_limit(kMegabyte + "(str a b a b a b a b a b a b a b a b a b a b))");
}

TEST(TextLimits, JoinChecksTheResultSize) {
    expect_stopped_at_limit(kMegabyte + "(join b (repeat 20 a)))");
}

TEST(TextLimits, ReplaceChecksTheResultSize) {
    expect_stopped_at_limit(kMegabyte + "(replace (subs a 0 100) \"x\" b))");
}

// 2 MB of commas: two million pieces, each far larger than its text.
TEST(TextLimits, SplitCountsItsPieces) {
    expect_stopped_at_limit(
        "(let [k (apply str (repeat 1000 \",\")) s (apply str (repeat 2000 k))] (split s \",\"))");
}

// A vector of references to one string costs 16 bytes per reference but prints as that many
// copies: str built a 1 GB text under a 64 MiB limit (the red team: 961 MB, or bad_alloc).
TEST(TextLimits, StrOfSharedStringsStopsAtTheLimit) {
    expect_stopped_at_limit(kMegabyte + "(str (vec (repeat 200 a))))");
    expect_stopped_at_limit(kMegabyte + "(str \"x\" {:k (vec (repeat 100 a)) :j #{a}} [[a a a a]]))");
    expect_stopped_at_limit(kMegabyte + "(join \",\" [[a a a a a a a a a a a a a a a a a a]]))");
}

// A text that fits is built in a buffer of its own size, charged while it is built: grown by
// doubling, a 9 MB text took a 16 MB buffer (charged at 16 MB once made, 18 MB on a 16 MiB
// limit), and a refused one had held up to twice the limit, uncharged, before the refusal.
TEST(TextLimits, TextIsChargedAtItsSizeNotTwice) {
    for (const std::string build : {"(str (vec (repeat 9 a)))", "(join \",\" (repeat 9 [a]))",
                                    "(str \"x\" [a a a a a a a a a])",
                                    "(serialize-json (vec (repeat 9 a)))"}) {
        rtfs::Interpreter interp({.memory_limit_bytes = kLimit});
        auto r = interp.eval(kMegabyte + "(count " + build + "))");
        ASSERT_TRUE(r.has_value()) << build << ": " << r.error().describe();
        EXPECT_GT(r->as_int(), 9000000) << build;
        // The program's 1 MB (2 MB while it builds a) and the 9 MB text, once (whether built or made).
        EXPECT_LT(interp.heap_stats().peak_bytes, 2 * 1000 * 1000 + r->as_int() + (1 << 20)) << build;
    }
    // That a refused text is never built the heap statistics cannot show (they never saw the
    // uncharged buffer): HostMemory.RefusedTextIsNeverBuilt counts the host's allocations.
}

TEST(TextLimits, SmallResultsAreFine) {
    rtfs::Interpreter interp({.memory_limit_bytes = kLimit});
    auto r = interp.eval(kMegabyte +
                         "[(count (str a b)) (count (join \",\" [a b])) (count (split k \"x\"))])");
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(rtfs::print(*r), "[2000000 2000001 1001]");
}

// re-seq's result can outgrow its text (many groups per match).
TEST(TextLimits, ReSeqCountsItsMatches) {
    rtfs::Interpreter interp({.memory_limit_bytes = kLimit});
    std::string groups;
    for (int i = 0; i < 100; ++i) groups += "()";
    // 100,001 matches of 101 values each: hundreds of MB.
    auto r = interp.eval("(count (re-seq \"" + groups + "\" (apply str (repeat 100000 \"a\"))))");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit);
    EXPECT_LT(interp.heap_stats().peak_bytes, kLimit + (1 << 20));
}

// The matcher's work buffers (program size x capture slots) count against the memory limit.
TEST(TextLimits, RegexMatcherBuffersCount) {
    std::string pattern;
    for (int i = 0; i < 150; ++i) pattern += "(a)";
    pattern += "a{1000}a{1000}";
    auto re = rtfs::regex::Regex::compile(pattern);
    ASSERT_TRUE(re.has_value());
    EXPECT_GT(re->matcher_bytes(), size_t{8} << 20);

    const std::string program = "(re-find \"" + pattern + "\" \"abc\")";
    rtfs::Interpreter small({.memory_limit_bytes = 4 << 20});
    auto r = small.eval(program);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit);

    rtfs::Interpreter large({.memory_limit_bytes = 64 << 20});
    auto ok = large.eval(program);
    ASSERT_TRUE(ok.has_value()) << ok.error().describe();
    EXPECT_TRUE(ok->is_nil());
}

TEST(TextLimits, SerializeJsonChecksTheTextSize) {
    rtfs::Interpreter interp({.memory_limit_bytes = kLimit});
    auto r = interp.eval(
        "(let [v (loop [v [1 2 3 4 5 6 7 8] i 0] (if (< i 30) (recur [v v] (inc i)) v))]"
        "  (serialize-json v))");  // ~20 GB of text
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit);
    EXPECT_EQ(r.error().message().rfind("Memory limit exceeded", 0), 0u) << r.error().message();
}

TEST(TextLimits, ParseJsonCountsItsValues) {
    rtfs::Interpreter interp({.memory_limit_bytes = kLimit});
    // 3 MB of text that parses into a million empty vectors (far more than 16 MB).
    auto r = interp.eval(
        "(let [s (apply str (repeat 1000 \"[],\")) t (apply str (repeat 1000 s))]"
        "  (parse-json (str \"[\" t \"[]]\")))");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit);
    EXPECT_LT(interp.heap_stats().peak_bytes, kLimit + (1 << 20));

    auto ok =
        interp.eval("(count (parse-json (str \"[\" (join \",\" (repeat 1000 \"[]\")) \"]\")))");
    ASSERT_TRUE(ok.has_value()) << ok.error().describe();
    EXPECT_EQ(rtfs::print(*ok), "1000");
}

}  // namespace
