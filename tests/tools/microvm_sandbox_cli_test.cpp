// The `microvm` command on the sandboxing providers: what a user sees when a program cannot run.
#include <gtest/gtest.h>

#include "support/run_command.hpp"

namespace {

using testsupport::CommandResult;

CommandResult microvm(std::vector<std::string> args) {
    args.insert(args.begin(), MICROVM_BINARY);
    return testsupport::run_command(args);
}

class SandboxCli : public ::testing::TestWithParam<std::string> {};

TEST_P(SandboxCli, NonExecutableProgramsSayWhy) {
    testsupport::TempFile plain("#!/bin/sh\necho hi\n");  // mode 0600: no execute bit
    for (const std::string& path : {std::string("/tmp"), plain.path()}) {
        CommandResult r = microvm({"run", "-p", GetParam(), "--", path});
        EXPECT_EQ(r.status, 126) << path << ": " << r.err;
        EXPECT_NE(r.err.find(path + "' is not an executable file"), std::string::npos)
            << path << ": " << r.err;
    }
    CommandResult missing = microvm({"run", "-p", GetParam(), "--", "/nonexistent/program"});
    EXPECT_EQ(missing.status, 127) << missing.err;
    EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

TEST_P(SandboxCli, ArgumentsAndEnvironmentThatAreNotUtf8AreUsageErrors) {
    const std::string bad = "caf\xe9";  // Latin-1, not UTF-8
    CommandResult arg = microvm({"run", "-p", GetParam(), "--", "/bin/echo", bad});
    CommandResult env = microvm({"run", "-p", GetParam(), "--env", "X=" + bad, "--", "/bin/true"});
    if (GetParam() == "process") {  // a process sandbox passes bytes through, as exec does
        EXPECT_EQ(arg.status, 0) << arg.err;
        EXPECT_EQ(arg.out, bad + "\n");
        EXPECT_EQ(env.status, 0) << env.err;
        return;
    }
    for (const CommandResult& r : {arg, env}) {
        EXPECT_EQ(r.status, 64) << r.err;
        EXPECT_NE(r.err.find("not valid UTF-8"), std::string::npos) << r.err;
    }
}

INSTANTIATE_TEST_SUITE_P(Providers, SandboxCli, ::testing::Values("process", "gvisor"));

}  // namespace
