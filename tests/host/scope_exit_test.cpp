// An undo step (host/scope_exit.hpp), as the builders that undo on failure use it.
#include "host/scope_exit.hpp"

#include <gtest/gtest.h>

namespace microvm::host {
namespace {

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
