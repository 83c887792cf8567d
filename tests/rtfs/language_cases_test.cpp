// Runs every case in tests/rtfs/cases/*.rtfs (format: cases/README.md).
#include <gtest/gtest.h>

#include "rtfs/host/big_stack.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/math_add.hpp"
#include "rtfs/printer.hpp"
#include "support/rtfs_cases.hpp"

namespace {

using Case = testsupport::RtfsCase;

std::vector<Case> load_cases() { return testsupport::load_rtfs_cases(RTFS_CASES_DIR); }

// The capabilities the cases may call.
class TestHost : public rtfs::Host {
public:
    std::string out;
    rtfs::Result<rtfs::Value> call(std::string_view id, std::span<const rtfs::Value> args) override {
        using rtfs::Value;
        if (id == "ccos.math.add") return rtfs::math_add(args);  // as every host has it
        if (id == "ccos.io.println") {
            auto line = rtfs::display_text("println", args, " ");  // as the hosts build it
            if (!line) return rtfs::unexpected(line.error());
            out += (out.empty() ? "" : "|") + *line;
            return Value();
        }
        if (id == "ccos.echo") return rtfs::make_vector(std::vector<Value>(args.begin(), args.end()));
        if (id == "ccos.system.get-env") {
            if (!args.empty() && args[0].is(rtfs::Type::String) && args[0].str() == "HOME")
                return rtfs::make_string("/home/test");
            return Value();
        }
        return rtfs::error(rtfs::ErrorKind::CapabilityError, "unknown capability " + std::string(id));
    }
};

class LanguageCase : public testing::TestWithParam<Case> {};

TEST_P(LanguageCase, Evaluates) {
    const Case& c = GetParam();
    TestHost host;
    rtfs::Interpreter interp({.security = c.security, .host = &host});
    auto r = rtfs::host::eval_on_big_stack(interp, c.program);
    std::string got = r ? rtfs::print(*r) : "!" + std::string(rtfs::to_string(r.error().kind()));
    EXPECT_EQ(got, c.expected) << "program:\n"
                               << c.program << (r ? "" : "error: " + r.error().describe());
    if (c.check_stdout) {
        EXPECT_EQ(host.out, c.expected_stdout);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, LanguageCase, testing::ValuesIn(load_cases()),
                         [](const testing::TestParamInfo<Case>& i) { return i.param.name; });

TEST(LanguageCases, ThereAreEnough) { EXPECT_GE(load_cases().size(), 150u); }

}  // namespace
