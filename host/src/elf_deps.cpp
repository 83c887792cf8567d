#include "host/elf_deps.hpp"

#include <elf.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "host/elf_file.hpp"
#include "host/paths.hpp"

namespace microvm::host {
namespace {

const char* multiarch_triplet(bool is_64bit, uint16_t machine) {
    switch (machine) {
        case EM_X86_64:
            return is_64bit ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
        case EM_386:
            return "i386-linux-gnu";
        case EM_AARCH64:
            return "aarch64-linux-gnu";
        case EM_ARM:
            return "arm-linux-gnueabihf";
        case EM_RISCV:
            return is_64bit ? "riscv64-linux-gnu" : nullptr;
        case EM_PPC64:
            return "powerpc64le-linux-gnu";
        case EM_S390:
            return "s390x-linux-gnu";
        default:
            return nullptr;
    }
}

bool is_directory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void parse_ld_so_conf(const std::string& file, int depth, std::vector<std::string>& out) {
    if (depth > 8) return;  // include loops
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos) continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        if (line.rfind("include", 0) == 0 && line.size() > 7 &&
            (line[7] == ' ' || line[7] == '\t')) {
            std::string pattern = line.substr(line.find_first_not_of(" \t", 7));
            if (pattern.front() != '/') pattern = parent_path(file) + "/" + pattern;
            glob_t g{};
            if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; ++i)
                    parse_ld_so_conf(g.gl_pathv[i], depth + 1, out);
            }
            ::globfree(&g);
        } else if (line.rfind("hwcap", 0) == 0) {
            continue;
        } else if (line.front() == '/') {
            // Several directories may share a line, separated by blanks, ':' or ','.
            size_t i = 0;
            while (i < line.size()) {
                size_t j = line.find_first_of(" \t:,", i);
                if (j == std::string::npos) j = line.size();
                if (j > i) out.push_back(line.substr(i, j - i));
                i = j + 1;
            }
        }
    }
}

// Replaces $ORIGIN / ${ORIGIN} in one pass, as the loader does; empty when the entry uses a token
// we cannot expand, or expands to PATH_MAX bytes or more (the loader could open nothing there).
// What the origin brings is never searched again: in a directory named "$ORIGIN" (any sandbox
// with rw= can make one) the earlier replace-until-none-left loop never ended, a host thread
// spinning as root with its string growing (a review, 2026-12-06).
std::string expand_origin(const std::string& entry, const std::string& origin) {
    std::string out;
    size_t i = 0;
    while (i < entry.size()) {
        if (entry.compare(i, 9, "${ORIGIN}") == 0) {
            out += origin;
            i += 9;
        } else if (entry.compare(i, 7, "$ORIGIN") == 0) {
            out += origin;
            i += 7;
        } else if (entry[i] == '$') {
            return {};
        } else {
            out += entry[i++];
        }
        if (out.size() >= PATH_MAX) return {};
    }
    return out;
}

class Resolver {
  public:
    explicit Resolver(const ElfInfo& program) : program_(program) {
        defaults_ = default_library_dirs(program.is_64bit, program.machine);
    }

    // Searches for one DT_NEEDED name the way the loader does for an object with these tags;
    // nullopt when found nowhere.
    Expected<std::optional<SharedObject>> find(const std::string& name,
                                               const ElfInfo& loader_object,
                                               const std::string& loader_path) {
        std::string origin = parent_path(loader_path);
        if (name.find('/') != std::string::npos) return candidate(name, false);
        std::vector<std::string> dirs;
        if (loader_object.runpath.empty()) {
            for (const auto& d : loader_object.rpath) dirs.push_back(expand_origin(d, origin));
            // The executable's DT_RPATH applies to every object without DT_RUNPATH.
            if (&loader_object != &program_) {
                for (const auto& d : program_.rpath)
                    dirs.push_back(expand_origin(d, program_origin_));
            }
        }
        for (const auto& d : loader_object.runpath) dirs.push_back(expand_origin(d, origin));
        for (const std::string& dir : dirs) {
            if (dir.empty()) continue;
            RTFS_TRY(auto found, candidate(dir + "/" + name, false));
            if (found) return found;
        }
        for (const std::string& dir : ld_so_conf_dirs()) {
            bool builtin = std::find(defaults_.begin(), defaults_.end(), dir) != defaults_.end();
            RTFS_TRY(auto found, candidate(dir + "/" + name, !builtin));
            if (found) return found;
        }
        for (const std::string& dir : defaults_) {
            RTFS_TRY(auto found, candidate(dir + "/" + name, false));
            if (found) return found;
        }
        return std::optional<SharedObject>{};
    }

    void set_program_origin(std::string origin) { program_origin_ = std::move(origin); }
    const ElfInfo* info_of(const std::string& real_path) {
        auto it = infos_.find(real_path);
        return it == infos_.end() ? nullptr : &it->second;
    }

  private:
    // A usable library: an ELF file of the program's class and machine; nullopt to search on.
    // Something that is not a regular file where the loader looks (a planted FIFO, a device) is
    // refused: the loader would block on it or fail there.
    Expected<std::optional<SharedObject>> candidate(const std::string& path, bool needs_alias) {
        // Most places the loader would look hold nothing: one lookup says so, where resolving
        // the path reads each of its components' links (realpath: ~5 system calls per place).
        struct stat exists;
        if (::stat(path.c_str(), &exists) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
            return std::optional<SharedObject>{};
        }
        auto real = canonical_host_path(path);
        if (!real) return std::optional<SharedObject>{};
        if (!infos_.count(*real)) {
            auto info = read_elf(*real);
            if (!info) {
                struct stat st;
                if (::stat(real->c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
                    return fail(Failure::Kind::InvalidInput,
                                "library '" + path + "' cannot be used: " + info.error().message);
                }
                return std::optional<SharedObject>{};
            }
            infos_.emplace(*real, std::move(*info));
        }
        const ElfInfo& info = infos_.at(*real);
        if (info.is_64bit != program_.is_64bit || info.machine != program_.machine) {
            return std::optional<SharedObject>{};
        }
        SharedObject so{path, *real, {}};
        if (needs_alias && !defaults_.empty()) {
            so.alias_path = defaults_.front() + "/" + path.substr(path.rfind('/') + 1);
        }
        return std::optional<SharedObject>{std::move(so)};
    }

    const ElfInfo& program_;
    std::string program_origin_;
    std::vector<std::string> defaults_;
    std::map<std::string, ElfInfo> infos_;  // by real path
};

}  // namespace

namespace {
// The roots, in the order a 64-bit, then a 32-bit, then an x32 program's loader adds them after
// its multiarch directory; "/lib" and "/usr/lib" (the last two) are every class's.
constexpr const char* kLoaderLibraryRoots[] = {"/lib64",  "/usr/lib64",  "/lib32", "/usr/lib32",
                                               "/libx32", "/usr/libx32", "/lib",   "/usr/lib"};
constexpr std::span<const char* const> kRoots(kLoaderLibraryRoots);
}  // namespace

std::span<const char* const> loader_library_roots() { return kRoots; }

std::vector<std::string> default_library_dirs(bool is_64bit, uint16_t machine) {
    const std::span<const char* const> common = kRoots.last(2);  // "/lib", "/usr/lib"
    std::vector<std::string> candidates;
    if (const char* triplet = multiarch_triplet(is_64bit, machine)) {
        for (const char* root : common) candidates.push_back(std::string(root) + "/" + triplet);
    }
    const std::span<const char* const> of_class = is_64bit ? kRoots.subspan(0, 2) : kRoots.subspan(2, 2);
    candidates.insert(candidates.end(), of_class.begin(), of_class.end());
    candidates.insert(candidates.end(), common.begin(), common.end());
    std::vector<std::string> dirs;
    for (auto& d : candidates) {
        if (is_directory(d)) dirs.push_back(std::move(d));
    }
    return dirs;
}

const std::vector<std::string>& ld_so_conf_dirs() {
    static const std::vector<std::string> dirs = [] {
        std::vector<std::string> out;
        parse_ld_so_conf("/etc/ld.so.conf", 0, out);
        return out;
    }();
    return dirs;
}

Expected<Dependencies> resolve_dependencies(const std::string& program) {
    RTFS_TRY(ElfInfo exe, read_elf(program));
    Dependencies deps;
    if (exe.interpreter.empty() && exe.needed.empty()) return deps;  // static

    Resolver resolver(exe);
    resolver.set_program_origin(parent_path(program));
    if (!exe.interpreter.empty()) {
        auto real = canonical_host_path(exe.interpreter);
        if (real) {
            // Bound into the sandbox for the kernel to load: it must be an ELF file of the
            // program's kind, never any host file the program names.
            auto interp = read_elf(*real);
            if (!interp) {
                return fail(Failure::Kind::InvalidInput, "ELF interpreter '" + exe.interpreter +
                                                             "' of '" + program +
                                                             "': " + interp.error().message);
            }
            if (interp->is_64bit != exe.is_64bit || interp->machine != exe.machine) {
                return fail(Failure::Kind::InvalidInput,
                            "ELF interpreter '" + exe.interpreter + "' of '" + program +
                                "' is built for another ELF class or machine");
            }
            deps.objects.push_back({exe.interpreter, *real, {}});
        } else {
            deps.missing.push_back(exe.interpreter);
        }
    }

    // Breadth-first like the loader; a name is loaded once.
    std::set<std::string> seen_names;
    struct Pending {
        std::string name;
        const ElfInfo* loader;
        std::string loader_path;
    };
    std::deque<Pending> queue;
    for (const auto& n : exe.needed) queue.push_back({n, &exe, program});
    while (!queue.empty()) {
        Pending p = std::move(queue.front());
        queue.pop_front();
        if (!seen_names.insert(p.name).second) continue;
        RTFS_TRY(std::optional<SharedObject> found,
                 resolver.find(p.name, *p.loader, p.loader_path));
        if (!found) {
            deps.missing.push_back(p.name);
            continue;
        }
        const ElfInfo* info = resolver.info_of(found->real_path);
        deps.objects.push_back(*found);
        if (info) {
            for (const auto& n : info->needed) queue.push_back({n, info, found->path});
        }
    }
    return deps;
}

}  // namespace microvm::host
