// The RTFS language cases (tests/rtfs/cases: the programs rtfs_tests runs on the interpreter)
// run as programs through the mock, process and wasm providers. Each case is one execution, so
// it starts from a fresh interpreter as it does on the interpreter; every provider must print the
// same value (or give the same error variant) and capture the same println output. One test per
// provider and case file: a thousand-odd executions per provider, run in parallel.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "microvm/factory.hpp"
#include "support/result_text.hpp"
#include "support/rtfs_cases.hpp"
#include "support/expectations.hpp"

namespace {

using testsupport::RtfsCase;

const std::vector<RtfsCase>& all_cases() {
    static const std::vector<RtfsCase> cases = testsupport::load_rtfs_cases(RTFS_CASES_DIR);
    return cases;
}

// The one capability of the interpreter's test host that no provider's host has: ccos.echo
// (returns its arguments as a vector) exists only in language_cases_test.cpp, so the cases calling
// it run on the interpreter alone. Every other capability the cases use is offered through the
// providers: ccos.math.add and println by every host (println output is the execution's stdout),
// get-env by the environment the config gives (HOME, as the test host answers it).
bool needs_the_test_host(const RtfsCase& c) {
    return c.program.find("ccos.echo") != std::string::npos;
}

// println lines as the test host records them: joined with '|'.
std::string joined_lines(const std::string& out) {
    std::string joined;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) joined += (joined.empty() ? "" : "|") + line;
    return joined;
}

// The printed value, or !Variant for an error: how the case files state a result.
std::string outcome(const microvm::ExecutionResult& r) {
    if (r.value) return *r.value;
    if (r.error) return "!" + r.error->kind;
    return "(neither a value nor an error)";
}

struct Target {
    std::string provider;
    std::string file;  // a case file's stem
};

void PrintTo(const Target& t, std::ostream* os) { *os << t.provider << "/" << t.file; }

std::vector<Target> targets() {
    std::set<std::string> files;
    for (const RtfsCase& c : all_cases()) files.insert(c.file);
    std::vector<Target> out;
    for (const char* provider : {"mock", "process", "wasm"})
        for (const std::string& f : files) out.push_back({provider, f});
    return out;
}

class LanguageCasesOnProvider : public testing::TestWithParam<Target> {
  protected:
    static microvm::ProviderFactory& factory() {
        static microvm::ProviderFactory f;
        return f;
    }
    static void TearDownTestSuite() { factory().cleanup_all(); }
};

TEST_P(LanguageCasesOnProvider, GiveTheInterpretersResults) {
    const Target& target = GetParam();
    for (const auto& info : factory().list_providers()) {
        if (info.name == target.provider && !info.availability.available)
            MICROVM_REQUIRE(target.provider, false, info.availability.reason);
    }
#ifndef MICROVM_RTFS_WASM_EXPECTED
    if (target.provider == "wasm") MICROVM_REQUIRE("wasm-rtfs", false, "rtfs-guest.wasm is not built");
#endif
    auto init = factory().initialize_provider(target.provider);
    ASSERT_TRUE(init) << init.error().message;
    auto provider = factory().get_provider(target.provider);
    ASSERT_TRUE(provider) << provider.error().message;

    std::vector<const RtfsCase*> cases;
    for (const RtfsCase& c : all_cases())
        if (c.file == target.file && !needs_the_test_host(c)) cases.push_back(&c);
    ASSERT_FALSE(cases.empty()) << "no case of " << target.file << " runs on the providers";

    // The executions run on as many threads as there are cores (a provider runs executions in
    // parallel): most of the time goes into evaluation (the wasm engine interprets the RTFS
    // runtime's code) and sandbox setup, not into this process.
    std::vector<microvm::ExecutionResult> results(cases.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i; (i = next++) < cases.size();) {
            microvm::ExecutionContext ctx;
            ctx.execution_id = cases[i]->name;
            ctx.program = microvm::RtfsSource{cases[i]->program};
            ctx.runtime_context = cases[i]->security;
            ctx.config.env_vars = {{"HOME", "/home/test"}};
            // The larger cases take seconds on the wasm engine, which interprets the runtime's
            // code; on a loaded machine a 30 s limit would fail them for the load, not a result.
            ctx.config.timeout = std::chrono::minutes(2);
            results[i] = (*provider)->execute_program(ctx);
        }
    };
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < std::max(2u, std::thread::hardware_concurrency()); ++t)
        workers.emplace_back(work);
    work();
    for (auto& w : workers) w.join();

    for (size_t i = 0; i < cases.size(); ++i) {
        const RtfsCase& c = *cases[i];
        const microvm::ExecutionResult& r = results[i];
        SCOPED_TRACE(c.name);
        EXPECT_EQ(outcome(r), c.expected) << "program:\n" << c.program << testsupport::describe(r);
        if (c.check_stdout) {
            EXPECT_EQ(joined_lines(r.metadata.stdout_data), c.expected_stdout);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, LanguageCasesOnProvider, testing::ValuesIn(targets()),
                         [](const testing::TestParamInfo<Target>& i) {
                             return i.param.provider + "_" + i.param.file;
                         });

}  // namespace
