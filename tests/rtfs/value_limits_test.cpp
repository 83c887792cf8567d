// Values a program builds at runtime can be nested millions of levels deep and hold hundreds of
// thousands of elements: comparing, hashing, testing equality and printing them must neither
// overflow the native stack nor take quadratic time, whatever the host runs them on.
#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <unordered_set>

#include "rtfs/host/big_stack.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"

namespace {

// A value nested n levels deep, built at runtime: (wrap (wrap ... leaf)).
std::string deep(int n, const std::string& wrap, const std::string& leaf = "0") {
    return "(loop [i 0 acc " + leaf + "] (if (< i " + std::to_string(n) + ") (recur (inc i) " +
           wrap + ") acc))";
}

rtfs::Result<rtfs::Value> eval(const std::string& program) {
    rtfs::Interpreter interp;
    return interp.eval(program);
}

// program evaluated on a thread of 256 KiB of stack.
rtfs::Result<rtfs::Value> eval_on_small_stack(const std::string& program) {
    rtfs::Result<rtfs::Value> r = rtfs::Value();
    std::pair<const std::string*, rtfs::Result<rtfs::Value>*> arg{&program, &r};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    auto body = [](void* p) -> void* {
        auto* io = static_cast<std::pair<const std::string*, rtfs::Result<rtfs::Value>*>*>(p);
        *io->second = eval(*io->first);
        return nullptr;
    };
    if (pthread_create(&thread, &attr, body, &arg) == 0) {
        pthread_join(thread, nullptr);
    } else {
        ADD_FAILURE() << "no thread";
    }
    pthread_attr_destroy(&attr);
    return r;
}

void expect_error(const rtfs::Result<rtfs::Value>& r, rtfs::ErrorKind kind) {
    ASSERT_FALSE(r.has_value()) << rtfs::print(*r, 200);
    EXPECT_EQ(r.error().kind(), kind) << r.error().describe();
}

void expect_value(const rtfs::Result<rtfs::Value>& r, const std::string& printed) {
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(rtfs::print(*r), printed);
}

// The red team's attack, as the mock provider runs it (a 512 MiB stack): 3 million levels
// crashed the host process (SIGSEGV in compare_values).
TEST(ValueLimits, CompareOfAValueMillionsDeepIsARecursionLimit) {
    rtfs::Interpreter interp;
    auto r = rtfs::host::eval_on_big_stack(
        interp, "(let [d " + deep(3'000'000, "[acc]") + "] (compare d d))");
    expect_error(r, rtfs::ErrorKind::RecursionLimit);
}

// The same on an ordinary 8 MiB thread (the wasm guest has 8 MiB), through sort as well.
TEST(ValueLimits, CompareAndSortRefuseDeepValues) {
    const std::string d = "(let [d " + deep(300'000, "[acc]") + " e " + deep(300'000, "[acc]");
    expect_error(eval(d + "] (compare d e))"), rtfs::ErrorKind::RecursionLimit);
    expect_error(eval(d + "] (sort [d e]))"), rtfs::ErrorKind::RecursionLimit);
    expect_value(eval("(let [d " + deep(rtfs::kMaxValueDepth - 1, "[acc]") + " e " +
                      deep(rtfs::kMaxValueDepth - 1, "[acc]", "1") + "] (compare d e))"),
                 "-1");
}

TEST(ValueLimits, EqualityOfDeepValuesIsExact) {
    const std::string d = "(let [d " + deep(300'000, "(list acc 1)") +
                          " e " + deep(300'000, "(list acc 1)") +
                          " f " + deep(300'000, "(list acc 1)", "2") + "] ";
    expect_value(eval(d + "[(= d e) (= d f) (= [d] [e]) (= {:k d} {:k f})])"),
                 "[true false true false]");
}

TEST(ValueLimits, EqualityOfDeepSetsAndMaps) {
    const std::string d = "(let [s " + deep(300'000, "#{acc}") + " t " + deep(300'000, "#{acc}") +
                          " u " + deep(300'000, "#{acc}", "1") + " m " +
                          deep(300'000, "{acc 1}") + " n " + deep(300'000, "{acc 1}") + "] ";
    expect_value(eval(d + "[(= s t) (= s u) (= m n) (= m s)])"), "[true false true false]");
}

// Sets and maps of several entries nest through native recursion: past 2 x kMaxValueDepth
// levels equality gave up and answered false for equal values (audit, 2026-12-06). It is the
// RecursionLimit error compare gives there now, never a wrong answer.
TEST(ValueLimits, EqualityTooDeepToWalkIsARecursionLimitNotFalse) {
    const std::string d = "(let [d " + deep(2'500, "{:k acc :i i}") + " e " +
                          deep(2'500, "{:k acc :i i}") + " s " + deep(2'500, "#{acc i}") + " t " +
                          deep(2'500, "#{acc i}") + "] ";
    for (const char* form : {"(= d e)", "(not= d e)", "(= s t)", "(if (= [d] [e]) 1 2)", "(#{d} e)"})
        expect_error(eval(d + form + ")"), rtfs::ErrorKind::RecursionLimit);
    // Within what the walk reaches, the answers stay exact.
    const std::string shallow = "(let [d " + deep(1'500, "{:k acc :i i}") + " e " +
                                deep(1'500, "{:k acc :i i}") + " f " +
                                deep(1'500, "{:k acc :i i}", "1") + "] ";
    expect_value(eval(shallow + "[(= d e) (= d f)])"), "[true false]");
}

// On a small stack the nesting equality walks ends where the stack does, as too deep: the walks
// counted levels only, and a thread of 256 KiB (or sanitizers' larger frames on 8 MiB: this
// stop's CI) ran out of stack before the level limit (a crash of the host process).
TEST(ValueLimits, EqualityOnASmallStackEndsAsTooDeepNotACrash) {
    expect_error(eval_on_small_stack("(let [s " + deep(1'800, "#{acc i}") + " t " + deep(1'800, "#{acc i}") + "] (= s t))"),
                 rtfs::ErrorKind::RecursionLimit);
}

// The same for ordering: 999 levels, within its level limit, crashed a 256 KiB thread.
TEST(ValueLimits, CompareOnASmallStackEndsAsTooDeepNotACrash) {
    expect_error(eval_on_small_stack("(let [d " + deep(999, "[acc]") + " e " + deep(999, "[acc]", "1") + "] (compare d e))"),
                 rtfs::ErrorKind::RecursionLimit);
}

// Hashing (sets of more than 16 elements, map indexes) walks its argument too.
TEST(ValueLimits, HashingDeepValues) {
    const std::string d = "(let [d " + deep(300'000, "[acc]") + " e " + deep(300'000, "[acc]") +
                          " f " + deep(300'000, "[acc]", "1") + "] ";
    expect_value(eval(d + "(count (set (concat [d e f] (range 20)))))"), "22");
    expect_value(eval(d + "(let [m (zipmap (concat [d f] (range 20)) (range 22))] [(get m e) (get m f)]))"),
                 "[0 1]");
}

// A collection keeps its hash once computed; the runtime still updates a value in place while
// it holds the only reference ((conj v i) in a loop), and then the value must be hashed again:
// v is hashed as [0 .. i-1] by contains?, then grows in place.
TEST(ValueLimits, AValueUpdatedInPlaceIsHashedAgain) {
    const std::string sets = "(def s (set (map (fn [i] (vec (range i))) (range 30)))) "
                             "(def m (zipmap (map (fn [i] (vec (range i))) (range 30)) (range 30))) ";
    expect_value(eval(sets + "(loop [v [] i 0 found 0] (if (< i 25) "
                             "(let [found (if (contains? s v) (inc found) found)] "
                             "(recur (conj v i) (inc i) found)) found))"),
                 "25");
    expect_value(eval(sets + "(loop [v {} i 0 found 0] (if (< i 25) "
                             "(let [found (if (contains? #{{} {0 0} {0 0 1 1}} v) (inc found) found)] "
                             "(recur (assoc v i i) (inc i) found)) found))"),
                 "3");
    expect_value(eval(sets + "(loop [v [] i 0 found []] (if (< i 25) "
                             "(let [found (conj found (get m v))] (recur (conj v i) (inc i) found)) found))"),
                 "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24]");
}

// str printed such a value cut at 10,000 levels with "...": the program went on with text that
// is not the value.
TEST(ValueLimits, StrOfATooDeepValueIsAnError) {
    expect_error(eval("(let [d " + deep(rtfs::kMaxValueDepth + 1, "[acc]") + "] (str d))"),
                 rtfs::ErrorKind::RecursionLimit);
    expect_error(eval("(let [d " + deep(1'000'000, "{:k acc}") + "] (str \"x\" d))"),
                 rtfs::ErrorKind::RecursionLimit);
    expect_error(eval("(let [d " + deep(20'000, "(list acc)") + "] (join \",\" [1 d]))"),
                 rtfs::ErrorKind::RecursionLimit);
    // Just within the limit: printed in full.
    expect_value(eval("(let [d " + deep(rtfs::kMaxValueDepth - 1, "[acc]") + "] (count (str d)))"),
                 std::to_string(2 * (rtfs::kMaxValueDepth - 1) + 1));
}

// Sets and maps were compared element by element with a linear search: two equal
// 300,000-element sets took 150 s (the deadline cannot interrupt a builtin). Now a hash lookup
// per element.
TEST(ValueLimits, LargeSetAndMapEquality) {
    expect_value(eval("(let [a (set (range 300000)) b (set (reverse (range 300000))) "
                      "c (set (range 1 300001))] [(= a b) (= a c) (= b a)])"),
                 "[true false true]");
    expect_value(eval("(let [a (zipmap (range 300000) (range 300000)) b (zipmap (reverse (range 300000)) "
                      "(reverse (range 300000)))] [(= a b) (= a (assoc b 5 6))])"),
                 "[true false]");
}

// A set's hash was the plain sum of its elements' hashes, and an integer hashed to itself:
// #{i (- K i)} all collided, and so did sets of sets of them (quadratic set building).
TEST(ValueLimits, SetHashesDoNotCollideByArithmetic) {
    std::unordered_set<size_t> hashes;
    constexpr int kSets = 2000;
    for (int i = 0; i < kSets; ++i)
        hashes.insert(rtfs::hash_value(
            rtfs::make_set({rtfs::Value::integer(i), rtfs::Value::integer(1'000'000 - i)})));
    EXPECT_GE(hashes.size(), size_t{kSets - 2});
    // Integers hash apart from multiples of one another (a table's bucket count).
    std::unordered_set<size_t> low_bits;
    for (int64_t i = 0; i < 1000; ++i)
        low_bits.insert(rtfs::hash_value(rtfs::Value::integer(i * 172'933)) % 172'933);
    EXPECT_GT(low_bits.size(), size_t{900});
}

}  // namespace
