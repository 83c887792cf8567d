// Runs every case in tests/rtfs/cases/*.rtfs (format: cases/README.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rtfs/host/big_stack.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"

namespace {

struct Case {
    std::string name;  // file:line
    std::string program;
    std::string expected;
    std::string expected_stdout;
    bool check_stdout = false;
    rtfs::RuntimeContext security;
};

rtfs::RuntimeContext parse_security(const std::string& spec) {
    std::istringstream in(spec);
    std::string level;
    in >> level;
    if (level == "full") return rtfs::RuntimeContext::full();
    if (level == "controlled") {
        std::vector<std::string> ids;
        for (std::string id; in >> id;) ids.push_back(id);
        return rtfs::RuntimeContext::controlled(ids);
    }
    return rtfs::RuntimeContext::pure();
}

std::vector<Case> load_cases() {
    std::vector<Case> cases;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(RTFS_CASES_DIR))
        if (e.path().extension() == ".rtfs") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        std::string line;
        int n = 0, start = 0;
        Case cur;
        for (; std::getline(in, line);) {
            ++n;
            if (line.rfind(";; @security ", 0) == 0) {
                cur.security = parse_security(line.substr(13));
                continue;
            }
            if (line.rfind(";; @stdout ", 0) == 0 && !cases.empty()) {
                cases.back().check_stdout = true;
                cases.back().expected_stdout = line.substr(11);
                continue;
            }
            if (line.rfind("=>", 0) == 0) {
                std::string exp = line.substr(2);
                exp.erase(0, exp.find_first_not_of(' '));
                cur.expected = exp;
                cur.name = f.stem().string() + "_line" + std::to_string(start);
                cases.push_back(cur);
                cur = Case{};
                start = 0;
                continue;
            }
            if (start == 0) {
                bool blank = line.find_first_not_of(" \t") == std::string::npos;
                if (blank || line.rfind(";;", 0) == 0) continue;
                start = n;
            }
            cur.program += line + "\n";
        }
    }
    return cases;
}

// The capabilities the cases may call.
class TestHost : public rtfs::Host {
public:
    std::string out;
    rtfs::Result<rtfs::Value> call(std::string_view id, std::span<const rtfs::Value> args) override {
        using rtfs::Value;
        if (id == "ccos.math.add") {
            if (args.size() == 1 && args[0].is(rtfs::Type::Map)) {
                const Value* a = args[0].map().find(rtfs::make_keyword("a"));
                const Value* b = args[0].map().find(rtfs::make_keyword("b"));
                if (a && b && a->is(rtfs::Type::Int) && b->is(rtfs::Type::Int))
                    return Value::integer(a->as_int() + b->as_int());
            }
            if (args.size() == 2 && args[0].is(rtfs::Type::Int) && args[1].is(rtfs::Type::Int))
                return Value::integer(args[0].as_int() + args[1].as_int());
            return rtfs::error(rtfs::ErrorKind::InvalidArgument, "ccos.math.add needs two integers");
        }
        if (id == "ccos.io.println") {
            std::string line;
            for (size_t i = 0; i < args.size(); ++i) line += (i ? " " : "") + rtfs::to_display(args[i]);
            out += (out.empty() ? "" : "|") + line;
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

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

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
