// Small helpers every provider test uses: a result described for assertion messages, and a
// file's bytes.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "microvm/result.hpp"

namespace testsupport {

// "status=... error=kind: message exit=N signal=N" plus the start of stdout and stderr.
inline std::string describe(const microvm::ExecutionResult& r) {
    std::ostringstream out;
    out << "status=" << microvm::to_string(r.status);
    if (r.error) out << " error=" << r.error->kind << ": " << r.error->message;
    out << " exit=" << r.metadata.exit_code.value_or(-1)
        << " signal=" << r.metadata.signal.value_or(0)
        << "\nstdout: " << r.metadata.stdout_data.substr(0, 2000)
        << "\nstderr: " << r.metadata.stderr_data.substr(0, 2000);
    return out.str();
}

// The whole file ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace testsupport
