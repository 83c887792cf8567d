// Random names from the kernel (microvm/random.hpp) and the execution ids made of them.
#include "microvm/random.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "microvm/execution_id.hpp"

namespace microvm {
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

TEST(ExecutionId, IsExecAndSixteenHexDigits) {
    const std::string id = new_execution_id();
    ASSERT_EQ(id.size(), 21u) << id;
    EXPECT_EQ(id.rfind("exec-", 0), 0u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 5), std::string::npos) << id;
    EXPECT_NE(new_execution_id(), id);
}

}  // namespace
}  // namespace microvm
