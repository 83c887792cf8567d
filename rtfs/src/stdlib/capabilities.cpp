// Friendly names for host capabilities: (println x) is (call :ccos.io.println x). The runtime
// context is checked by Interpreter::call_capability before the host sees anything.
#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {
namespace {

template <const char* Id>
Result<Value> capability(Interpreter& in, std::span<Value> a) {
    return in.call_capability(Id, a);
}

constexpr char kPrintln[] = "ccos.io.println";
constexpr char kLog[] = "ccos.io.log";
constexpr char kReadFile[] = "ccos.io.read-file";
constexpr char kWriteFile[] = "ccos.io.write-file";
constexpr char kFileExists[] = "ccos.io.file-exists";
constexpr char kHttpFetch[] = "ccos.network.http-fetch";
constexpr char kGetEnv[] = "ccos.system.get-env";
constexpr char kTime[] = "ccos.system.current-time-millis";
constexpr char kSleep[] = "ccos.system.sleep";

}  // namespace

void add_capabilities(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"println", 0, kVariadic, capability<kPrintln>},
        {"log", 0, kVariadic, capability<kLog>},
        {"read-file", 1, 1, capability<kReadFile>},
        {"write-file", 2, 2, capability<kWriteFile>},
        {"file-exists?", 1, 1, capability<kFileExists>},
        {"http-fetch", 1, 1, capability<kHttpFetch>},
        {"get-env", 1, 2, capability<kGetEnv>},
        {"current-time-millis", 0, 0, capability<kTime>},
        {"sleep", 1, 1, capability<kSleep>},
    });
}

}  // namespace rtfs::stdlib
