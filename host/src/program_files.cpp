#include "host/program_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "host/elf_deps.hpp"
#include "host/elf_file.hpp"
#include "host/paths.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

namespace {

constexpr int kMaxInterpreterDepth = 4;  // the kernel allows a few levels of "#!" too

// The absolute interpreter path of a "#!" line, empty when there is none.
std::string shebang_interpreter(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return {};
    char buf[256];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 3 || buf[0] != '#' || buf[1] != '!') return {};
    std::string line(buf + 2, static_cast<size_t>(n) - 2);
    line = line.substr(0, line.find('\n'));
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] != '/') return {};
    return line.substr(start, line.find_first_of(" \t\r", start) - start);
}

}  // namespace

Expected<std::vector<HostFile>> program_files(const std::string& program) {
    std::vector<HostFile> files;
    std::set<std::string> placed;
    auto add = [&](const std::string& sandbox_path, const std::string& host_path) {
        if (placed.insert(sandbox_path).second) files.push_back({sandbox_path, host_path});
    };

    std::string current = program;
    for (int depth = 0; depth <= kMaxInterpreterDepth; ++depth) {
        auto real_path = canonical_host_path(current);
        if (!real_path) {
            if (depth == 0) return rtfs::unexpected(std::move(real_path).error());
            break;  // a missing "#!" interpreter: exec fails in the sandbox as it would outside
        }
        const std::string& real = *real_path;
        add(current, real);
        if (host::is_elf(real)) {
            RTFS_TRY(host::Dependencies deps, host::resolve_dependencies(current));
            for (const auto& so : deps.objects) {
                add(so.path, so.real_path);
                if (!so.alias_path.empty()) add(so.alias_path, so.real_path);
            }
            break;
        }
        std::string interpreter = shebang_interpreter(real);
        if (interpreter.empty()) break;  // the kernel will refuse it; let it say so
        current = interpreter;
    }
    return files;
}

}  // namespace microvm::host
