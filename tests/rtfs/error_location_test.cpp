// Errors raised while evaluating carry the line and column of what raised them.
#include <gtest/gtest.h>

#include <string>

#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"

namespace {

rtfs::Error eval_error(const std::string& program) {
    rtfs::Interpreter interp;
    auto r = interp.eval(program);
    EXPECT_FALSE(r.has_value()) << program;
    return r ? rtfs::Error(rtfs::ErrorKind::UserError, "no error") : r.error();
}

// A binding's annotation or pattern that its value does not fit is located at the binding (it
// carried no location at all: let, loop and for bind outside any call).
TEST(ErrorLocation, BindingErrorsCarryTheBindingsPosition) {
    struct Case {
        const char* program;
        rtfs::ErrorKind kind;
        int line, column;
    };
    for (const Case& c : {
             Case{"(let [a 1\n      x :int \"s\"] x)", rtfs::ErrorKind::TypeValidationError, 2, 7},
             Case{"(let [a 1\n      x:int \"s\"] x)", rtfs::ErrorKind::TypeValidationError, 2, 7},
             Case{"(let [a 1\n      [x :as v] 5] x)", rtfs::ErrorKind::TypeError, 2, 7},
             Case{"(let [a 1\n      {:keys [x:int]} {:x \"s\"}] x)",
                  rtfs::ErrorKind::TypeValidationError, 2, 7},
             Case{"(loop [a 1\n       x :int 2.5] x)", rtfs::ErrorKind::TypeValidationError, 2, 8},
             Case{"(for [x [1 2]\n      :let [y :int \"s\"]] y)",
                  rtfs::ErrorKind::TypeValidationError, 2, 13},
         }) {
        const rtfs::Error e = eval_error(c.program);
        EXPECT_EQ(e.kind(), c.kind) << c.program << ": " << e.describe();
        EXPECT_EQ(e.line(), c.line) << c.program << ": " << e.describe();
        EXPECT_EQ(e.column(), c.column) << c.program << ": " << e.describe();
    }
}

// A parameter's annotation is still reported where the call passed the value.
TEST(ErrorLocation, ParameterErrorsCarryTheCallsPosition) {
    const rtfs::Error e = eval_error("(defn f [x :int] x)\n(f 1.5)");
    EXPECT_EQ(e.kind(), rtfs::ErrorKind::TypeValidationError) << e.describe();
    EXPECT_EQ(e.line(), 2) << e.describe();
    EXPECT_EQ(e.column(), 1) << e.describe();
}

// A match with no matching clause fails with the spec's message alone, located; the value it
// did not match is kept, for debugging, as the error's data.
TEST(ErrorLocation, MatchErrorKeepsTheUnmatchedValueAsData) {
    const rtfs::Error e = eval_error("(do 1\n  (match [7 :x] 1 :one))");
    EXPECT_EQ(e.message(), "Match error: No matching clause");
    EXPECT_EQ(rtfs::print(e.value().err().data), "[7 :x]");
    EXPECT_EQ(e.line(), 2) << e.describe();
    rtfs::Interpreter interp;
    auto r = interp.eval("(try (match 7 1 :one) (catch e (error-data e)))");
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(rtfs::print(*r), "7");
}

}  // namespace
