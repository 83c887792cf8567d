// Durations: "500ms", "30s", "2m", "1.5s", "1h"; everything else is refused.
#include <gtest/gtest.h>

#include "microvm/policy.hpp"

namespace microvm {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesEveryUnit) {
    EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
    EXPECT_EQ(*parse_duration("30s"), milliseconds(30'000));
    EXPECT_EQ(*parse_duration("2m"), milliseconds(120'000));
    EXPECT_EQ(*parse_duration("1h"), milliseconds(3'600'000));
    EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
    EXPECT_EQ(*parse_duration("0.25m"), milliseconds(15'000));
    EXPECT_EQ(*parse_duration("1ms"), milliseconds(1));
    EXPECT_EQ(*parse_duration("0.001s"), milliseconds(1));
}

TEST(Duration, RejectsBadInput) {
    for (const char* bad : {"",
                            "0s",
                            "0ms",
                            "0.0s",
                            "-1s",
                            "-500ms",
                            "30",
                            "1.5",
                            "s",
                            "ms",
                            "abc",
                            "1x",
                            "1 s",
                            " 1s",
                            "1s ",
                            "1.s",
                            ".5s",
                            "1..5s",
                            "+1s",
                            "1e3ms",
                            "0x10s",
                            "1.5ms",
                            "1.0001s",
                            "1.0000000001s",
                            "99999999999999999999s",
                            "9223372036854775807h",
                            "1sm",
                            "1S"}) {
        auto d = parse_duration(bad);
        EXPECT_FALSE(d.has_value()) << "'" << bad << "' parsed as " << (d ? d->count() : 0);
        if (!d) {
            EXPECT_EQ(d.error().kind, Failure::Kind::InvalidConfig);
        }
    }
}

TEST(Duration, ErrorsSayWhy) {
    EXPECT_NE(parse_duration("0s").error().message.find("greater than zero"), std::string::npos);
    EXPECT_NE(parse_duration("-1s").error().message.find("negative"), std::string::npos);
    EXPECT_NE(parse_duration("30").error().message.find("unit"), std::string::npos);
    EXPECT_NE(parse_duration("99999999999999999999h").error().message.find("too large"),
              std::string::npos);
}

TEST(Duration, FormatRoundTrips) {
    EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
    EXPECT_EQ(format_duration(milliseconds(30'000)), "30s");
    EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
    EXPECT_EQ(format_duration(milliseconds(1001)), "1.001s");
    EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
    EXPECT_EQ(format_duration(milliseconds(7'200'000)), "2h");
    for (int64_t ms : {1, 999, 1000, 1010, 59'999, 60'000, 61'000, 3'600'000, 86'400'000}) {
        auto back = parse_duration(format_duration(milliseconds(ms)));
        ASSERT_TRUE(back.has_value()) << ms;
        EXPECT_EQ(back->count(), ms);
    }
}

}  // namespace
}  // namespace microvm
