#include "host/program_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>

#include "host/elf_deps.hpp"
#include "host/elf_file.hpp"
#include "host/paths.hpp"
#include "host/policy_source.hpp"
#include "host/private_files.hpp"
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

// The absolute interpreter path of a "#!" line, empty when there is none. The name ends where
// the kernel's does (binfmt_script): at a space, a tab, a NUL or the line's end; a '\r' is part
// of it. A name running on past a NUL was bound at a path holding that NUL, which every system
// call read only up to it.
std::string shebang_interpreter(const std::string& head) {
    if (head.size() < 3 || head[0] != '#' || head[1] != '!') return {};
    const std::string_view line = std::string_view(head).substr(0, head.find('\n')).substr(2);
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] != '/') return {};
    return std::string(line.substr(start, line.find_first_of(std::string_view(" \t\0", 3), start) - start));
}

// Whether any user could read real_path on the host: the file readable by others and every
// directory above it searchable by others.
bool readable_by_everyone(const std::string& real_path) {
    struct stat st;
    return ::stat(real_path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) && searchable_by_others_above(real_path);
}

// The host's private files (a daemon's state, every session's work directory, tokens): never
// bound, whoever could read them, but through a grant inside them (host/private_files.hpp).
Expected<void> refuse_private(const std::string& real_path, const std::vector<std::string>& granted,
                              const std::string& role) {
    if (!binds_private(real_path, granted)) return {};
    return fail(Failure::Kind::InvalidInput, role + ": '" + real_path +
                                                 "' lies in this host's private files (another client's session, the "
                                                 "daemon's state, tokens or logs) and is never bound into a sandbox");
}

}  // namespace

std::vector<std::string> granted_paths(const FileSystemPolicy& policy) {
    if (policy.kind == FileSystemPolicy::Kind::ReadOnly && policy.paths.empty()) return standard_system_dirs();
    return policy.readable_paths();
}

Expected<void> check_named_file(const std::string& real_path, const std::vector<std::string>& granted,
                                const std::string& named_by) {
    RTFS_CHECK(refuse_private(real_path, granted, "a file " + named_by + " names"));
    if (readable_by_everyone(real_path)) return {};
    for (const std::string& dir : granted) {
        // A grant reached through a symlink grants nothing: the bind refuses it, and judging the
        // file by where the link led let a swap of the link for a real directory before the bind
        // bring a file out of the private directory it had pointed at (red team, 2026-12-05).
        const std::optional<std::string> real_dir = real_path_without_planted_links(dir);
        if (real_dir && is_within(real_path, *real_dir)) return {};
    }
    return fail(Failure::Kind::InvalidInput,
                "'" + real_path + "', which " + named_by +
                    " names, is refused: a user other than its owner could not read it on the host (a "
                    "directory above it is not searchable by others, or the file is not readable by "
                    "others) and the fs policy does not grant it; grant it (ro=DIR) to bind it");
}

Expected<std::vector<HostFile>> program_files(const std::string& program, const std::vector<std::string>& granted) {
    std::vector<HostFile> files;
    std::set<std::string> placed;
    auto add = [&](const std::string& sandbox_path, const std::string& host_path) {
        if (placed.insert(sandbox_path).second) files.push_back({sandbox_path, host_path});
    };
    // What the program's files name (a "#!" interpreter, an ELF interpreter, libraries) is the
    // program's choice, not the caller's: a DT_NEEDED of "/root/private/lib.so" brought a
    // world-readable file out of root's 0700 directory into the sandbox (red team, 2026-12-05).
    // Who owns the program says nothing: a session's sandbox makes root-owned files in its work
    // directory (a review of the first fix, which trusted the program owner's files).

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
        // Judged before it is read: what the planner reads of a file it may not bind (its kind,
        // its "#!" line, the libraries it names) would show in the run's error or its root.
        if (depth > 0) RTFS_CHECK(check_named_file(real, granted, "'" + script + "'"));
        else RTFS_CHECK(refuse_private(real, granted, role));
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
            // Every library and the ELF interpreter are judged before they are read.
            const AdmitFile admit = [&](const std::string& real_path, const std::string& named_by) {
                return check_named_file(real_path, granted, "'" + named_by + "'");
            };
            RTFS_TRY(host::Dependencies deps, host::resolve_dependencies(current, admit));
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
