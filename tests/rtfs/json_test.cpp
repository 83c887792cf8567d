// Unit tests of the rtfs::json C++ API (rtfs/include/rtfs/json.hpp). The builtins built on it
// are covered by cases/json.rtfs and text_limits_test.cpp.
#include "rtfs/json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "rtfs/printer.hpp"

namespace {

std::string parsed(std::string_view text) {
    auto r = rtfs::json::parse(text);
    return r ? rtfs::print(*r) : "!" + r.error().describe();
}

std::string serialized(const rtfs::Value& v, bool pretty = false) {
    auto r = rtfs::json::serialize(v, pretty);
    return r ? *r : "!" + r.error().describe();
}

// [[[...[1 2 3 4 5 6 7 8]...]]]: `levels` nested pairs of the same vector, 8 << levels numbers.
rtfs::Value shared_tree(int levels) {
    rtfs::Value v = rtfs::make_vector({});
    std::vector<rtfs::Value> leaf;
    for (int i = 1; i <= 8; ++i) leaf.push_back(rtfs::Value::integer(i));
    v = rtfs::make_vector(std::move(leaf));
    for (int i = 0; i < levels; ++i) v = rtfs::make_vector({v, v});
    return v;
}

TEST(JsonApi, Parses) {
    EXPECT_EQ(parsed(R"({"b": [1, 2.5, "x"], "a": {"n": null, "t": true}})"),
              R"({"b" [1 2.5 "x"] "a" {"n" nil "t" true}})");
    EXPECT_EQ(parsed(R"("\ud83d\ude00")"), "\"😀\"");
    EXPECT_EQ(parsed("-9223372036854775808"), "-9223372036854775808");
    EXPECT_EQ(parsed("18446744073709551616"), "18446744073709551616.0");
    EXPECT_EQ(parsed("[1,\n 2,\n x]"),
              "!InvalidArgument: Invalid argument to parse-json: unexpected character 'x' at 3:2");
    EXPECT_EQ(parsed("[\xff]"),
              "!InvalidArgument: Invalid argument to parse-json: unexpected byte 0xFF at 1:2");
}

TEST(JsonApi, NamesTheOperationFromHooks) {
    rtfs::json::Hooks hooks{.op = "load-args"};
    auto r = rtfs::json::parse("[", hooks);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "Invalid argument to load-args: unexpected end of input at 1:2");
}

TEST(JsonApi, Serializes) {
    auto v = rtfs::json::parse(R"({"k": [1, 2.5, "é\n", false, null, {}]})");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(serialized(*v), R"({"k":[1,2.5,"é\n",false,null,{}]})");
    EXPECT_EQ(serialized(*v, true),
              "{\n  \"k\": [\n    1,\n    2.5,\n    \"é\\n\",\n    false,\n    null,\n"
              "    {}\n  ]\n}");
    EXPECT_EQ(serialized(rtfs::make_map({{rtfs::make_keyword("a"), rtfs::make_keyword("b")}})),
              R"({"a":"b"})");
    EXPECT_EQ(serialized(rtfs::Value::floating(1e300)), "1.0e300");
    EXPECT_EQ(serialized(rtfs::make_string("\xff")),
              "!InvalidArgument: Invalid argument to serialize-json: string is not valid UTF-8 "
              "(byte 0)");
}

TEST(JsonApi, RefusesNestingItCouldNotReadBack) {
    rtfs::Value v = rtfs::make_vector({});
    for (size_t i = 1; i < rtfs::json::kMaxDepth; ++i) v = rtfs::make_vector({v});
    ASSERT_TRUE(rtfs::json::serialize(v).has_value());  // 1000 levels
    auto text = rtfs::json::serialize(rtfs::make_vector({v}));
    ASSERT_FALSE(text.has_value());
    EXPECT_EQ(text.error().kind(), rtfs::ErrorKind::InvalidArgument);
}

// Deep nesting is handled without recursion: no stack overflow on hostile input.
TEST(JsonApi, DeepInputIsAnErrorNotACrash) {
    auto r = rtfs::json::parse(std::string(1'000'000, '['));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(),
              "Invalid argument to parse-json: nesting deeper than 1000 at 1:1001");
}

TEST(JsonApi, OutputSizeIsCapped) {
    rtfs::json::Hooks hooks{.max_output_bytes = 100'000};
    auto r = rtfs::json::serialize(shared_tree(30), false, hooks);  // ~20 GB of text
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit);
}

TEST(JsonApi, CheckHookCanAbort) {
    int calls = 0;
    rtfs::json::Hooks hooks{
        .check = [](void* ctx, size_t) -> rtfs::Expected<void, rtfs::Error> {
            if (++*static_cast<int*>(ctx) < 3) return rtfs::Ok{};
            return rtfs::error(rtfs::ErrorKind::Interrupted, "stop");
        },
        .ctx = &calls};
    auto r = rtfs::json::serialize(shared_tree(30), false, hooks);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::Interrupted);
    EXPECT_EQ(calls, 3);
}

TEST(JsonApi, ALongStringIsChargedBeforeItIsWritten) {
    // Three references to one 1 MiB string: 4 values, never 4096, so the periodic check never
    // ran and 20 references to a 16 MiB string reached 528 MB before the size was looked at.
    size_t largest = 0;
    rtfs::json::Hooks hooks{
        .check = [](void* ctx, size_t pending) -> rtfs::Expected<void, rtfs::Error> {
            auto& seen = *static_cast<size_t*>(ctx);
            seen = std::max(seen, pending);
            if (pending > (2u << 20)) return rtfs::error(rtfs::ErrorKind::ResourceLimit, "full");
            return rtfs::Ok{};
        },
        .ctx = &largest};
    const rtfs::Value s = rtfs::make_string(std::string(1u << 20, 'x'));
    auto r = rtfs::json::serialize(rtfs::make_vector({s, s, s}), false, hooks);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), rtfs::ErrorKind::ResourceLimit);
    EXPECT_LE(largest, (3u << 20) + 16);
}

}  // namespace
