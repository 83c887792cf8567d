#include "host/random.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "host/scope_exit.hpp"

namespace microvm::host {
namespace {

TEST(RandomHex, GivesTwoLowercaseHexDigitsPerByte) {
    const std::string text = random_hex(12);
    ASSERT_EQ(text.size(), 24u);
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), std::string::npos) << text;
    EXPECT_EQ(random_hex(0), "");
}

TEST(RandomHex, DrawsDoNotRepeat) {
    // 64 bits each: a repeat among 1000 draws would mean the source is not random.
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(random_hex(8));
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(ScopeExit, RunsAtTheEndOfItsScopeUnlessDismissed) {
    int runs = 0;
    {
        ScopeExit undo([&] { ++runs; });
    }
    EXPECT_EQ(runs, 1);
    {
        ScopeExit undo([&] { ++runs; });
        undo.dismiss();
    }
    EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace microvm::host
