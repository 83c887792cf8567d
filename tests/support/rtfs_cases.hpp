// The RTFS language cases (tests/rtfs/cases/*.rtfs, format in cases/README.md), loaded for the
// tests that run them: directly on the interpreter (tests/rtfs/language_cases_test.cpp) and as
// programs through the providers (tests/providers/language_cases/).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "rtfs/security.hpp"

namespace testsupport {

struct RtfsCase {
    std::string file;  // the case file's stem, e.g. "collections"
    std::string name;  // file_lineN
    std::string program;
    std::string expected;  // the printed value, or !Variant for an error
    std::string expected_stdout;  // the println lines joined with '|'
    bool check_stdout = false;
    rtfs::RuntimeContext security = rtfs::RuntimeContext::pure();
};

// gtest prints a case as its name.
inline void PrintTo(const RtfsCase& c, std::ostream* os) { *os << c.name; }

inline rtfs::RuntimeContext parse_case_security(const std::string& spec) {
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

// Every case of every .rtfs file in dir, files in name order.
inline std::vector<RtfsCase> load_rtfs_cases(const std::string& dir) {
    std::vector<RtfsCase> cases;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".rtfs") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        std::string line;
        int n = 0, start = 0;
        RtfsCase cur;
        for (; std::getline(in, line);) {
            ++n;
            if (line.rfind(";; @security ", 0) == 0) {
                cur.security = parse_case_security(line.substr(13));
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
                cur.file = f.stem().string();
                cur.name = cur.file + "_line" + std::to_string(start);
                cases.push_back(cur);
                cur = RtfsCase{};
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

}  // namespace testsupport
