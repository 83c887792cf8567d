// `rtfs repl`: read, evaluate, print until end of input. A form may span lines (input is read
// until its brackets and strings are closed); errors are reported and the session goes on.
#pragma once

#include "session.hpp"

namespace rtfs::cli {

int run_repl(Session& session, bool json);

}  // namespace rtfs::cli
