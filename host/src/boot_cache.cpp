#include "host/boot_cache.hpp"
#include "host/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>
#include <algorithm>

#include "host/stale_dirs.hpp"
#include "host/trusted_state.hpp"
#include "host/unique_fd.hpp"
#include "microvm/trusted_path.hpp"
#include "host/dir_stream.hpp"

namespace microvm::host {
namespace {

// Read once per process: it cannot change while the process lives.
const std::string& boot_id() {
    static const std::string id =
        read_trusted_file("/proc/sys/kernel/random/boot_id", 64).value_or("");
    return id;
}

nlohmann::json full_identity(const nlohmann::json& identity) {
    return {{"boot_id", boot_id()}, {"euid", ::geteuid()}, {"key", identity}};
}

}  // namespace

Expected<std::string> trusted_cache_dir(const std::string& path, const char* what) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(Failure::Kind::SetupError,
                    std::string("cannot create ") + what + " " + path + ": " + errno_text(errno));
    }
    RTFS_TRY(std::string real, trusted_real_path(path, what));
    struct stat st;
    if (::stat(real.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return fail(Failure::Kind::SetupError, std::string(what) + " " + path + " is not a directory");
    }
    return real;
}

std::optional<std::string> runtime_state_dir(std::string_view name, const char* what) {
    // One place per user, whatever the environment says: the refusal of writable policy paths
    // (policy_source.hpp) protects these by name, and a run with another $XDG_RUNTIME_DIR
    // could not have known of a record kept elsewhere (red team, 2026-12-03).
    const auto base = protected_runtime_base();
    if (!base) return std::nullopt;
    auto dir = trusted_cache_dir(*base + "/" + std::string(name), what);
    if (!dir) return std::nullopt;
    return *dir;
}

std::optional<std::string> boot_cache_dir() { return runtime_state_dir("microvm", "boot cache directory"); }

std::optional<nlohmann::json> file_identity(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return nlohmann::json::array({st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                                  st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec});
}

nlohmann::json own_binary_identity() {
    return file_identity("/proc/self/exe").value_or(nlohmann::json());
}

std::optional<std::string> read_trusted_file(const std::string& path, size_t max_bytes) {
    std::optional<OpenedFile> file = open_for_judging(path);
    if (!file || !S_ISREG(file->st.st_mode) || !ownership_fault(file->st, "record").empty()) return std::nullopt;
    return read_to_end(file->fd.get(), max_bytes);
}

bool write_file_atomically(const std::string& path, const std::string& data, mode_t mode) {
    // Named as what a host process leaves in shared places (stale_dirs.hpp): a write killed
    // midway leaves a name prune_boot_records knows for a dead writer's.
    const std::string temp = owned_name(path + ".tmp.");
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return false;
    if (mode != 0600 && ::fchmod(fd.get(), mode) != 0) {
        ::unlink(temp.c_str());
        return false;
    }
    if (!write_all(fd.get(), data)) {
        ::unlink(temp.c_str());
        return false;
    }
    fd.reset();
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        ::unlink(temp.c_str());
        return false;
    }
    return true;
}

std::optional<nlohmann::json> read_boot_record(const std::string& dir, const std::string& name,
                                               const nlohmann::json& identity) {
    auto text = read_trusted_file(dir + "/" + name, 64 * 1024);
    if (!text) return std::nullopt;
    auto record = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("value") ||
        record.value("identity", nlohmann::json()) != full_identity(identity)) {
        return std::nullopt;
    }
    return record["value"];
}

void write_boot_record(const std::string& dir, const std::string& name,
                       const nlohmann::json& identity, const nlohmann::json& value) {
    nlohmann::json record = {{"identity", full_identity(identity)}, {"value", value}};
    (void)write_file_atomically(dir + "/" + name, record.dump());
}

namespace {

// A temporary file of write_file_atomically for a record of this kind whose writer is gone:
// killed midway, it would stay until the next boot (about 2 MB for a wasm module, in /run, which
// is memory).
bool writer_is_gone(std::string_view name, std::string_view prefix, std::string_view suffix) {
    if (!name.starts_with(prefix)) return false;
    const std::string marker = std::string(suffix) + ".tmp.";
    const size_t at = name.find(marker, prefix.size());
    return at != std::string_view::npos && left_by_dead_owner(name, name.substr(0, at + marker.size()));
}

}  // namespace

void prune_boot_records(const std::string& dir, std::string_view prefix, std::string_view suffix,
                        size_t keep) {
    UniqueFd at(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!at.valid()) return;
    DirStream stream = adopt_dir(::fcntl(at.get(), F_DUPFD_CLOEXEC, 0));
    if (!stream) return;
    DIR* list = stream.get();
    std::vector<std::pair<struct timespec, std::string>> records;
    while (const struct dirent* entry = ::readdir(list)) {
        const std::string_view name = entry->d_name;
        if (writer_is_gone(name, prefix, suffix)) {
            ::unlinkat(at.get(), entry->d_name, 0);
            continue;
        }
        if (name.size() < prefix.size() + suffix.size() || !name.starts_with(prefix) ||
            !name.ends_with(suffix)) {
            continue;
        }
        struct stat st;
        if (::fstatat(at.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISREG(st.st_mode)) {
            records.emplace_back(st.st_mtim, std::string(name));
        } else {
            ::unlinkat(at.get(), entry->d_name, 0);  // never a record (read_trusted_file)
        }
    }
    stream.reset();
    if (records.size() <= keep) return;
    // Newest first; the ones past `keep` go.
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
        return a.first.tv_sec != b.first.tv_sec ? a.first.tv_sec > b.first.tv_sec
                                                : a.first.tv_nsec > b.first.tv_nsec;
    });
    for (size_t i = keep; i < records.size(); ++i) ::unlinkat(at.get(), records[i].second.c_str(), 0);
}

std::optional<std::string> read_boot_bytes(const std::string& dir, const std::string& name,
                                           const nlohmann::json& identity, size_t max_bytes) {
    const std::string expected = full_identity(identity).dump() + "\n";
    auto text = read_trusted_file(dir + "/" + name, expected.size() + max_bytes);
    if (!text || text->compare(0, expected.size(), expected) != 0) return std::nullopt;
    return text->substr(expected.size());
}

void write_boot_bytes(const std::string& dir, const std::string& name,
                      const nlohmann::json& identity, std::string_view bytes) {
    std::string record = full_identity(identity).dump() + "\n";
    record.append(bytes);
    (void)write_file_atomically(dir + "/" + name, record);
}

}  // namespace microvm::host
