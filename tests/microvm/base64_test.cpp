// microvm/base64.hpp: RFC 4648's test vectors, every byte value, and what a peer's text may not be.
#include "microvm/base64.hpp"

#include <gtest/gtest.h>

#include <string>

using microvm::base64_decode;
using microvm::base64_encode;

TEST(Base64, Rfc4648Vectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (const auto& [bytes, text] : vectors) {
        EXPECT_EQ(base64_encode(bytes), text);
        EXPECT_EQ(base64_decode(text), bytes) << text;
    }
}

TEST(Base64, EveryByteValueRoundTrips) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (size_t cut = 0; cut < 4; ++cut) {
        const std::string bytes = all.substr(cut);
        EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
    }
}

TEST(Base64, OnlyWholePaddedStandardTextDecodes) {
    for (const char* bad : {"Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v\n", "Zm 9", "Zm9-", "Zm9_", "=Zm9", "Zh==", "Zm9=x"}) {
        EXPECT_FALSE(base64_decode(bad)) << bad;
    }
}
