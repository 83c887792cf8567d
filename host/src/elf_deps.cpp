#include "host/elf_deps.hpp"

#include <elf.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "host/elf_file.hpp"
#include "host/paths.hpp"
#include "rtfs/ascii_text.hpp"

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
        line = std::string(rtfs::trim_ascii(line));
        if (line.empty()) continue;
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

// What one search may cost, whatever the files say: the places looked at (a directory for a
// name), the ELF files read, and the bytes of their DT_NEEDED / DT_RPATH / DT_RUNPATH strings
// kept. Each file alone is bounded (elf_file.cpp), but a program naming thousands of names, each
// searched in thousands of directories, or thousands of hard links to one library (each a file
// of its own) multiplied those bounds into hours of lookups or gigabytes (a review, 2026-12-06).
// Real programs stay far below: a few hundred libraries, tens of directories each.
constexpr uint64_t kMaxPlaces = 1u << 20;
constexpr uint64_t kMaxObjectsRead = 4096;
constexpr uint64_t kMaxNamedBytesKept = 16u << 20;
// And the time it may take: a place costs one lookup, but a lookup through links to a directory
// thousands of levels down costs milliseconds (4.6 ms here: 2^20 of them, 80 minutes), and the
// search runs before the run's deadline and cancellation apply.
constexpr std::chrono::seconds kMaxSearchTime{5};

uint64_t named_bytes(const ElfInfo& info) {
    uint64_t n = info.interpreter.size();
    for (const auto* list : {&info.needed, &info.rpath, &info.runpath}) {
        for (const std::string& s : *list) n += s.size() + 1;
    }
    return n;
}

class Resolver {
  public:
    Resolver(const ElfInfo& program, std::string program_path, const AdmitFile& admit)
        : program_(program), program_path_(std::move(program_path)), admit_(admit) {
        defaults_ = default_library_dirs(program.is_64bit, program.machine);
        program_origin_ = parent_path(program_path_);
    }

    // Searches for one DT_NEEDED name the way the loader does for an object with these tags;
    // nullopt when found nowhere. A place admit refuses is passed over, as the sandbox's loader,
    // which does not see it, passes it over; found nowhere else, the name is refused with the
    // first refusal (which says how to grant it).
    Expected<std::optional<SharedObject>> find(const std::string& name,
                                               const ElfInfo& loader_object,
                                               const std::string& loader_path) {
        refused_.reset();
        RTFS_TRY(std::optional<SharedObject> found, search(name, loader_object, loader_path));
        if (!found && refused_) return rtfs::unexpected(std::move(*refused_));
        return found;
    }

    const ElfInfo* info_of(const std::string& real_path) {
        auto it = infos_.find(real_path);
        return it == infos_.end() ? nullptr : &it->second;
    }

  private:
    Expected<std::optional<SharedObject>> search(const std::string& name,
                                                 const ElfInfo& loader_object,
                                                 const std::string& loader_path) {
        if (name.find('/') != std::string::npos) {
            RTFS_CHECK(charge_place());
            if (name.size() >= PATH_MAX) return std::optional<SharedObject>{};
            return candidate(name, false, loader_path);
        }
        const std::string origin = parent_path(loader_path);
        // One place: the directory (its $ORIGIN expanded from expand_from when given) holding name.
        auto in = [&](const std::string& dir_entry, const std::string* expand_from,
                      bool needs_alias) -> Expected<std::optional<SharedObject>> {
            RTFS_CHECK(charge_place());
            const std::string dir = expand_from ? expand_origin(dir_entry, *expand_from) : dir_entry;
            if (dir.empty()) return std::optional<SharedObject>{};
            // A path the loader cannot open (ENAMETOOLONG) is not built at all.
            if (dir.size() + 1 + name.size() >= PATH_MAX) return std::optional<SharedObject>{};
            return candidate(dir + "/" + name, needs_alias, loader_path);
        };
        if (loader_object.runpath.empty()) {
            for (const auto& d : loader_object.rpath) {
                RTFS_TRY(auto found, in(d, &origin, false));
                if (found) return found;
            }
            // The executable's DT_RPATH applies to every object without DT_RUNPATH.
            if (&loader_object != &program_) {
                for (const auto& d : program_.rpath) {
                    RTFS_TRY(auto found, in(d, &program_origin_, false));
                    if (found) return found;
                }
            }
        }
        for (const auto& d : loader_object.runpath) {
            RTFS_TRY(auto found, in(d, &origin, false));
            if (found) return found;
        }
        for (const std::string& dir : ld_so_conf_dirs()) {
            bool builtin = std::find(defaults_.begin(), defaults_.end(), dir) != defaults_.end();
            RTFS_TRY(auto found, in(dir, nullptr, !builtin));
            if (found) return found;
        }
        for (const std::string& dir : defaults_) {
            RTFS_TRY(auto found, in(dir, nullptr, false));
            if (found) return found;
        }
        return std::optional<SharedObject>{};
    }

    // A usable library: an ELF file of the program's class and machine; nullopt to search on.
    // Something that is not a regular file where the loader looks (a planted FIFO, a device) is
    // refused: the loader would block on it or fail there.
    Expected<std::optional<SharedObject>> candidate(const std::string& path, bool needs_alias,
                                                    const std::string& named_by) {
        // One kernel lookup per place, however deep the path and its links
        // (canonical_host_path): what cannot be resolved (missing, a loop, no permission) is
        // nothing the loader could load either.
        const auto real = canonical_host_path(path);
        if (!real) return std::optional<SharedObject>{};
        if (!infos_.count(*real)) {
            if (admit_) {
                if (auto admitted = admit_(*real, named_by); !admitted) {
                    if (!refused_) refused_ = std::move(admitted).error();
                    return std::optional<SharedObject>{};
                }
            }
            if (++objects_read_ > kMaxObjectsRead) {
                return too_costly("more than " + std::to_string(kMaxObjectsRead) +
                                  " files would be read as its libraries");
            }
            auto info = read_elf(*real);
            if (!info) {
                struct stat st;
                if (::stat(real->c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
                    return fail(Failure::Kind::InvalidInput,
                                "library '" + path + "' cannot be used: " + info.error().message);
                }
                return std::optional<SharedObject>{};
            }
            named_bytes_kept_ += named_bytes(*info);
            if (named_bytes_kept_ > kMaxNamedBytesKept) {
                return too_costly("its libraries name more than " +
                                  std::to_string(kMaxNamedBytesKept) + " bytes of libraries and directories");
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

    // Counted before a place is expanded or looked at, whatever it turns out to be.
    Expected<void> charge_place() {
        if (++places_ > kMaxPlaces) {
            return too_costly("its libraries would be looked for in more than " +
                              std::to_string(kMaxPlaces) + " places");
        }
        if (std::chrono::steady_clock::now() > deadline_) {
            return too_costly("looking for its libraries took longer than " +
                              std::to_string(kMaxSearchTime.count()) + " s");
        }
        return {};
    }

    rtfs::Unexpected<Failure> too_costly(const std::string& why) const {
        return fail(Failure::Kind::InvalidInput, "the dependencies of '" + program_path_ +
                                                     "' are refused: " + why);
    }

    const ElfInfo& program_;
    std::string program_path_;
    const AdmitFile& admit_;
    std::optional<Failure> refused_;  // the first place admit refused in the current find()
    std::string program_origin_;
    std::vector<std::string> defaults_;
    std::map<std::string, ElfInfo> infos_;  // by real path
    uint64_t places_ = 0;
    const std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + kMaxSearchTime;
    uint64_t objects_read_ = 0;
    uint64_t named_bytes_kept_ = 0;
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

Expected<Dependencies> resolve_dependencies(const std::string& program, const AdmitFile& admit) {
    RTFS_TRY(ElfInfo exe, read_elf(program));
    Dependencies deps;
    if (exe.interpreter.empty() && exe.needed.empty()) return deps;  // static

    Resolver resolver(exe, program, admit);
    if (!exe.interpreter.empty()) {
        auto real = canonical_host_path(exe.interpreter);
        if (real) {
            if (admit) RTFS_CHECK(admit(*real, program));
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

    // Breadth-first like the loader: the objects in the order they were found, each one's
    // DT_NEEDED names in order; a name is loaded once, and a file found again under another name
    // is the object already loaded (its names were queued the first time, and every one of them
    // is searched before any name the second would queue: queuing them again found nothing new
    // and let one library reached by many names queue its names as many times).
    std::set<std::string> seen_names;
    std::set<std::string> loaded;  // real paths whose names are queued
    struct Loader {
        const ElfInfo* info;
        std::string path;
    };
    std::deque<Loader> loaders{{&exe, program}};
    while (!loaders.empty()) {
        Loader l = std::move(loaders.front());
        loaders.pop_front();
        for (const std::string& name : l.info->needed) {
            if (!seen_names.insert(name).second) continue;
            RTFS_TRY(std::optional<SharedObject> found, resolver.find(name, *l.info, l.path));
            if (!found) {
                deps.missing.push_back(name);
                continue;
            }
            const ElfInfo* info = resolver.info_of(found->real_path);
            if (info && loaded.insert(found->real_path).second) {
                loaders.push_back({info, found->path});
            }
            deps.objects.push_back(std::move(*found));
        }
    }
    return deps;
}

}  // namespace microvm::host
