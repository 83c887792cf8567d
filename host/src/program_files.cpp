#include "host/program_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>

#include "host/elf_deps.hpp"
#include "host/elf_file.hpp"
#include "host/paths.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

namespace {

constexpr int kMaxInterpreterDepth = 4;  // the kernel allows a few levels of "#!" too

// The first bytes of a file that must be a regular one (a planted FIFO or device is refused
// without being opened: open(2) on a FIFO blocks the host before any deadline applies).
// nullopt for a regular file we may not read (execute-only): the kernel decides in the sandbox.
Expected<std::optional<std::string>> read_head(const std::string& path) {
    const std::optional<std::string> kUnreadable;
    auto opened = open_regular_file(path);
    if (!opened) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return kUnreadable;
        return rtfs::unexpected(std::move(opened).error());
    }
    const UniqueFd& fd = *opened;
    char buf[256];
    ssize_t n;
    do {
        n = ::read(fd.get(), buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return kUnreadable;
    return std::optional<std::string>(std::string(buf, static_cast<size_t>(n)));
}

// The absolute interpreter path of a "#!" line, empty when there is none.
std::string shebang_interpreter(const std::string& head) {
    if (head.size() < 3 || head[0] != '#' || head[1] != '!') return {};
    std::string line = head.substr(2);
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
    std::string script;  // the file whose "#!" line named current; empty for the program
    for (int depth = 0; depth <= kMaxInterpreterDepth; ++depth) {
        auto real_path = canonical_host_path(current);
        if (!real_path) {
            if (depth == 0) return rtfs::unexpected(std::move(real_path).error());
            break;  // a missing "#!" interpreter: exec fails in the sandbox as it would outside
        }
        const std::string& real = *real_path;
        const std::string role = depth == 0 ? "program '" + current + "'"
                                            : "'#!' interpreter '" + current + "' of '" + script +
                                                  "'";
        auto head = read_head(real);
        if (!head) {
            return fail(Failure::Kind::InvalidInput, role + ": " + head.error().message);
        }
        if (!*head) {
            add(current, real);
            break;
        }
        if (has_elf_magic(**head)) {
            add(current, real);
            RTFS_TRY(host::Dependencies deps, host::resolve_dependencies(current));
            for (const auto& so : deps.objects) {
                add(so.path, so.real_path);
                if (!so.alias_path.empty()) add(so.alias_path, so.real_path);
            }
            break;
        }
        std::string interpreter = shebang_interpreter(**head);
        if (interpreter.empty() && depth > 0) {
            // An interpreter is bound only when it can run, never as a way to bring in any host
            // file a script names.
            return fail(Failure::Kind::InvalidInput,
                        role + " is neither an ELF executable nor a '#!' script");
        }
        add(current, real);
        if (interpreter.empty()) break;  // the kernel will refuse the program; let it say so
        script = current;
        current = interpreter;
    }
    return files;
}

}  // namespace microvm::host
