// The reader: positions in errors, limits on hostile input, round trips through the printer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "rtfs/printer.hpp"
#include "rtfs/reader.hpp"

namespace {

rtfs::Error read_error(std::string_view src) {
    auto r = rtfs::read_all(src);
    EXPECT_FALSE(r.has_value()) << src;
    return r ? rtfs::Error(rtfs::ErrorKind::UserError, "no error") : r.error();
}

TEST(Reader, ErrorsCarryLineAndColumn) {
    auto e = read_error("(+ 1\n  (* 2 3)");
    EXPECT_EQ(e.kind(), rtfs::ErrorKind::ReadError);
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.column(), 10);
    EXPECT_NE(e.message().find("opened at 1:1"), std::string::npos) << e.message();

    e = read_error("[1 2)");
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(e.column(), 5);

    e = read_error("(foo\n  \"bad \\q\")");
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.column(), 8);
    EXPECT_NE(e.describe().find("(at 2:8)"), std::string::npos) << e.describe();
}

// CR LF, LF and a lone CR each end a line (the spec's whitespace has CR): with CR-only line
// endings every error was on line 1, and a ; comment ran to the end of the text.
TEST(Reader, EveryLineEndingCountsALine) {
    for (const char* eol : {"\n", "\r\n", "\r"}) {
        const std::string src = std::string("; note") + eol + "(+ 1" + eol + eol + "  \"bad \\q\")";
        auto e = read_error(src);
        EXPECT_EQ(e.line(), 4) << e.describe();
        EXPECT_EQ(e.column(), 8) << e.describe();
        EXPECT_NE(e.message().find("escape"), std::string::npos) << e.describe();
    }
    auto r = rtfs::read_all("; a comment\r42");
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(rtfs::print((*r)[0]), "42");
}

TEST(Reader, DeepNestingIsAnErrorNotACrash) {
    for (const char* open : {"(", "[", "{", "#{", "'", "#(", "^{} "}) {
        std::string src;
        for (int i = 0; i < 200000; ++i) src += open;
        auto e = read_error(src);
        EXPECT_EQ(e.kind(), rtfs::ErrorKind::ReadError) << open;
    }
    std::string ok;
    for (int i = 0; i < 500; ++i) ok += "[";
    for (int i = 0; i < 500; ++i) ok += "]";
    EXPECT_TRUE(rtfs::read_all(ok).has_value());
}

TEST(Reader, UnterminatedConstructs) {
    for (const char* src : {"\"abc", "#| never closed", "(1 2", "{:a 1", "\"\\u12", "##Foo",
                            "#x", "'", "@", "\\", ")", "1.5.5", "12abc"}) {
        auto r = rtfs::read_all(src);
        EXPECT_FALSE(r.has_value()) << src;
        if (!r) {
            EXPECT_GT(r.error().line(), 0) << src;
        }
    }
}

// What a REPL asks another line for: text that ends inside something, never text that is wrong.
TEST(Reader, TextEndingInsideAFormCouldBeCompleted) {
    for (const char* src : {"\"abc", "#| never closed", "(1 2", "{:a 1", "[(", "'", "@", "`", "#_",
                            "(1 #_ 2", "(quote", "\"\\\"", "#", "(1 #", "##",
                            "##In", "##-"}) {
        EXPECT_TRUE(rtfs::ends_inside_a_form(src)) << src;
    }
    for (const char* src : {"", "(+ 1 2)", "'a", ")", "(1 2))", "#_ 1", "1 #_ 2", "##Foo", "#x", "1.5.5", "12abc",
                            "(1 ]", "\"\\q\"", "##Inff"}) {
        EXPECT_FALSE(rtfs::ends_inside_a_form(src)) << src;
    }
}

// A discarded form is nothing wherever it stands, last in a collection or in the text too.
TEST(Reader, ADiscardedFormIsNothingWhereverItStands) {
    const std::pair<const char*, const char*> cases[] = {
        {"[1 #_ 2]", "[1]"},         {"(list #_ 1)", "(list)"},     {"{:a 1 #_ :b}", "{:a 1}"},
        {"#{#_ 1}", "#{}"},          {"[1 #_ #_ 2 3]", "[1]"},      {"[#_ [1 2] 3 #_ 4]", "[3]"},
        {"[1 #_ ; note\n 2]", "[1]"}, {"'(#_ a)", "(quote ())"},
    };
    for (const auto& [src, expected] : cases) {
        auto v = rtfs::read_one(src);
        ASSERT_TRUE(v.has_value()) << src << ": " << v.error().message();
        EXPECT_EQ(rtfs::print(*v), expected) << src;
    }
    auto all = rtfs::read_all("1 #_ 2");
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(all->size(), 1u);
    all = rtfs::read_all("#_ 1");
    ASSERT_TRUE(all.has_value());
    EXPECT_TRUE(all->empty());
    // Still a form to discard: "(#_)" and "[#_ ]" are errors, "#_" alone more text to come.
    EXPECT_FALSE(rtfs::read_all("(#_)").has_value());
    EXPECT_FALSE(rtfs::read_all("[#_ ]").has_value());
}

TEST(Reader, PrintedFormsReadBack) {
    for (const char* src :
         {"[1 -2 3.5 4.0 1.0e300 1.0e-300 \"s\\n\\\"q\" :k :a.b/c sym nil true false]",
          "{:a [1 {:b \"x\"}] \"k\" (1 2)}", "#{1 2}", "0.1", "-0.0", "123456789.123"}) {
        auto v = rtfs::read_one(src);
        ASSERT_TRUE(v.has_value()) << src;
        auto again = rtfs::read_one(rtfs::print(*v));
        ASSERT_TRUE(again.has_value()) << rtfs::print(*v);
        EXPECT_TRUE(rtfs::equals(*v, *again)) << src << " -> " << rtfs::print(*v);
    }
}

TEST(Reader, FloatsPrintShortestRoundTrip) {
    EXPECT_EQ(rtfs::format_float(0.1), "0.1");
    EXPECT_EQ(rtfs::format_float(4.0), "4.0");
    EXPECT_EQ(rtfs::format_float(1e300), "1.0e300");
    EXPECT_EQ(rtfs::format_float(1.5e-7), "1.5e-7");
    EXPECT_EQ(rtfs::format_float(-2.25), "-2.25");
    // Fixed notation for decimal exponents in [-5, 21) (audit, 2026-12-06: 100000.0 printed as
    // "1.0e5"), the exponent form outside; the shortest text within that notation.
    EXPECT_EQ(rtfs::format_float(100000.0), "100000.0");
    EXPECT_EQ(rtfs::format_float(123456.789), "123456.789");
    EXPECT_EQ(rtfs::format_float(-2.5e3), "-2500.0");
    EXPECT_EQ(rtfs::format_float(1e20), "100000000000000000000.0");
    EXPECT_EQ(rtfs::format_float(9223372036854775808.0), "9223372036854775808.0");
    EXPECT_EQ(rtfs::format_float(1e21), "1.0e21");
    EXPECT_EQ(rtfs::format_float(1.25e21), "1.25e21");
    EXPECT_EQ(rtfs::format_float(1e-5), "0.00001");
    EXPECT_EQ(rtfs::format_float(1.5e-5), "0.000015");
    EXPECT_EQ(rtfs::format_float(1e-6), "1.0e-6");
    EXPECT_EQ(rtfs::format_float(1e-7), "1.0e-7");
    EXPECT_EQ(rtfs::format_float(0.0), "0.0");
    EXPECT_EQ(rtfs::format_float(-0.0), "-0.0");
    EXPECT_EQ(rtfs::format_float(5e-324), "5.0e-324");
    EXPECT_EQ(rtfs::format_float(1.7976931348623157e308), "1.7976931348623157e308");
}

// Whatever the notation, the printed text reads back to the same double.
TEST(Reader, PrintedFloatsReadBackExactly) {
    std::vector<double> ds;
    for (int e = -330; e <= 310; ++e) {
        const double p = std::pow(10.0, e);
        for (double m : {1.0, 1.5, 9.999999999999999, 3.141592653589793, 0.7})
            ds.push_back(m * p), ds.push_back(-m * p), ds.push_back(std::nextafter(m * p, 0.0));
    }
    uint64_t bits = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; ++i) {
        bits ^= bits << 13, bits ^= bits >> 7, bits ^= bits << 17;
        double d;
        std::memcpy(&d, &bits, sizeof d);
        ds.push_back(d);
    }
    for (double d : ds) {
        if (!std::isfinite(d)) continue;
        const std::string text = rtfs::format_float(d);
        auto v = rtfs::read_one(text);
        ASSERT_TRUE(v.has_value()) << text;
        ASSERT_TRUE(v->is(rtfs::Type::Float)) << text;
        const double back = v->as_float();
        EXPECT_EQ(std::memcmp(&d, &back, sizeof d), 0) << text;
    }
}

TEST(Reader, AnonymousFunctionSugar) {
    auto v = rtfs::read_one("#(+ % %2)");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(rtfs::print(*v), "(fn [%1 %2] (+ %1 %2))");
}

TEST(Reader, RandomBytesNeverCrash) {
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        int len = static_cast<int>(x % 64);
        for (int j = 0; j < len; ++j) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s += "()[]{}#^'`~@\";:\\%&1a. \n|_-+eE"[x % 30];
        }
        x ^= x << 13;
        auto r = rtfs::read_all(s);
        if (!r) {
            EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ReadError);
        }
    }
}

}  // namespace
