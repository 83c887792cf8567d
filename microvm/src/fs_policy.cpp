// FileSystemPolicy: parsing of the "--fs" forms and lexical normalisation of policy paths.
#include <sys/stat.h>

#include <climits>

#include <vector>

#include "microvm/policy.hpp"
#include "rtfs/ascii_text.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

constexpr const char* kFsForms =
    "accepted forms: none, ro, ro=PATH[:PATH...], rw=PATH[:PATH...], full, or a rw and a ro "
    "clause joined by ';', with absolute paths";

}  // namespace

Expected<std::string> normalize_policy_path(std::string_view path) {
    auto bad = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig,
                    "bad path " + text::quoted(path) + ": " + std::move(why));
    };
    if (path.empty()) return fail(Failure::Kind::InvalidConfig, "empty path");
    if (path.size() >= PATH_MAX) {
        return fail(Failure::Kind::InvalidConfig,
                    "bad path " + text::quoted(path) + ": longer than any host path (PATH_MAX, " +
                        std::to_string(PATH_MAX) + " bytes)");
    }
    if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
    if (path.find(':') != std::string_view::npos) return bad("':' separates paths in a policy");
    if (path.front() != '/') return bad("not absolute (it must start with '/')");
    std::vector<std::string_view> parts;
    for (std::string_view part : text::split(path, '/')) {
        if (part.empty() || part == ".") continue;
        // Resolving ".." lexically could name another place than the kernel would (through a
        // symlink); refuse rather than guess.
        if (part == "..") return bad("contains '..'");
        parts.push_back(part);
    }
    if (parts.empty()) return std::string("/");
    std::string out;
    for (std::string_view part : parts) {
        out += '/';
        out += part;
    }
    return out;
}

namespace {

Expected<FileSystemPolicy> parse_clause(std::string_view whole, std::string_view clause) {
    std::string_view t = rtfs::trim_ascii(clause, text::kPolicySpace);
    auto bad = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig, "invalid file-system policy " +
                                                      text::quoted(whole) + ": " + std::move(why) +
                                                      "; " + kFsForms);
    };
    size_t eq = t.find('=');
    std::string mode = rtfs::lower_ascii(rtfs::trim_ascii(t.substr(0, eq), text::kPolicySpace));
    if (eq == std::string_view::npos) {
        if (mode == "none") return FileSystemPolicy::none();
        if (mode == "full") return FileSystemPolicy::full();
        if (mode == "ro") return FileSystemPolicy::read_only();
        // "rw" alone would not say what is writable; refuse rather than guess.
        if (mode == "rw") return bad("rw needs at least one path");
        return bad(mode.empty() ? "empty" : "unknown form");
    }
    FileSystemPolicy policy;
    if (mode == "ro") {
        policy.kind = FileSystemPolicy::Kind::ReadOnly;
    } else if (mode == "rw") {
        policy.kind = FileSystemPolicy::Kind::ReadWrite;
    } else {
        return bad("only ro and rw take paths");
    }
    std::string_view list = rtfs::trim_ascii(t.substr(eq + 1), text::kPolicySpace);
    if (list.empty()) return bad("the path list is empty");
    for (std::string_view raw : text::split(list, ':')) {
        std::string_view entry = rtfs::trim_ascii(raw, text::kPolicySpace);
        if (entry.empty()) return bad("empty entry in the path list");
        auto path = normalize_policy_path(entry);
        if (!path) return bad(path.error().message);
        policy.paths.push_back(std::move(*path));
    }
    return policy;
}

}  // namespace

Expected<FileSystemPolicy> FileSystemPolicy::parse(std::string_view text) {
    std::vector<std::string_view> clauses = text::split(text, ';');
    if (clauses.size() > 2) {
        return fail(Failure::Kind::InvalidConfig, "invalid file-system policy " +
                                                      text::quoted(text) +
                                                      ": at most a ro and a rw clause; " + kFsForms);
    }
    RTFS_TRY(FileSystemPolicy policy, parse_clause(text, clauses[0]));
    if (clauses.size() == 1) return policy;
    RTFS_TRY(FileSystemPolicy second, parse_clause(text, clauses[1]));
    return combine(policy, second);
}

Expected<FileSystemPolicy> FileSystemPolicy::combine(const FileSystemPolicy& a,
                                                     const FileSystemPolicy& b) {
    const FileSystemPolicy* ro = a.kind == Kind::ReadOnly ? &a : &b;
    const FileSystemPolicy* rw = a.kind == Kind::ReadWrite ? &a : &b;
    if (ro->kind != Kind::ReadOnly || rw->kind != Kind::ReadWrite || !rw->read_only_paths.empty()) {
        return fail(Failure::Kind::InvalidConfig,
                    "file-system policies " + text::quoted(a.to_string()) + " and " +
                        text::quoted(b.to_string()) +
                        " do not combine: only one ro and one rw policy can be given together; " +
                        kFsForms);
    }
    std::vector<std::string> read_only = ro->paths.empty() ? standard_system_dirs() : ro->paths;
    return read_write(rw->paths, std::move(read_only));
}

std::vector<std::string> FileSystemPolicy::readable_paths() const {
    std::vector<std::string> all = paths;
    all.insert(all.end(), read_only_paths.begin(), read_only_paths.end());
    return all;
}

std::string FileSystemPolicy::to_string() const {
    switch (kind) {
        case Kind::None:
            return "none";
        case Kind::Full:
            return "full";
        case Kind::ReadOnly:
            return paths.empty() ? "ro" : "ro=" + text::join(paths, ":");
        case Kind::ReadWrite:
            return "rw=" + text::join(paths, ":") +
                   (read_only_paths.empty() ? "" : ";ro=" + text::join(read_only_paths, ":"));
    }
    return "none";
}

const char* to_string(FileSystemPolicy::Kind k) {
    switch (k) {
        case FileSystemPolicy::Kind::None:
            return "none";
        case FileSystemPolicy::Kind::ReadOnly:
            return "read_only";
        case FileSystemPolicy::Kind::ReadWrite:
            return "read_write";
        case FileSystemPolicy::Kind::Full:
            return "full";
    }
    return "none";
}

}  // namespace microvm

namespace microvm {

std::vector<std::string> standard_system_dirs() {
    std::vector<std::string> dirs;
    for (const char* d : {"/bin", "/usr", "/lib", "/lib64", "/etc", "/sbin"}) {
        struct stat st {};
        if (::lstat(d, &st) == 0) dirs.emplace_back(d);
    }
    return dirs;
}

}  // namespace microvm
