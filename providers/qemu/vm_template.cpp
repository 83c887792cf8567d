#include "qemu/vm_template.hpp"
#include "host/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/boot_cache.hpp"
#include "host/remove_tree.hpp"
#include "host/sha256.hpp"
#include "host/stale_dirs.hpp"
#include "qemu/qmp_client.hpp"
#include "host/dir_stream.hpp"

namespace microvm::qemu {
namespace {

constexpr const char* kStateFile = "state";
constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kBuildPrefix = "build-";
constexpr size_t kMaxManifestBytes = 64 * 1024;


// Owned by this user, not writable by group or others, of the expected type.
std::string unsafe(const struct stat& st, bool dir) {
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) return dir ? "not a directory" : "not a regular file";
    if (st.st_uid != ::geteuid()) return "owned by uid " + std::to_string(st.st_uid);
    if (st.st_mode & 022) return "writable by group or others";
    return {};
}

// Opens path (no symlink) read-only and checks it as unsafe() does.
Expected<host::UniqueFd> open_checked(const std::string& path) {
    std::optional<host::OpenedFile> file = host::open_for_judging(path);
    if (!file) return host::sys_failure(path, errno);
    if (std::string why = unsafe(file->st, false); !why.empty()) return fail(Failure::Kind::SetupError, path + " is " + why);
    return std::move(file->fd);
}

std::string identity(const struct stat& st) {
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
           ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
           std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

}  // namespace

Expected<std::string> template_key(const VmSpec& spec, const std::string& qemu_identity) {
    VmSpec s = spec;
    s.qmp = true;
    s.incoming = false;
    // The files' digests: a template is built only from files that had them (QemuVm::launch
    // verifies them), so a restore never stands in for an image that changed since.
    std::string text = "image " + spec.image.key + " kernel " + spec.image.kernel_sha256 + " initramfs " +
                       spec.image.initramfs_sha256 + "\nqemu " + qemu_identity + "\nargv";
    for (const std::string& a : qemu_argv(s, "/VM")) text += "\n" + a;
    RTFS_TRY(std::string digest, host::sha256_hex(text));
    return digest.substr(0, 32);
}

Expected<void> TemplateStore::check_root() {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(root_).parent_path(), ec);
    // Whoever may rename an entry of a directory above the cache could put a cache of theirs in
    // its place: every directory above must be root's (or this user's) alone, as for the boot
    // cache.
    RTFS_TRY(std::string real, host::trusted_cache_dir(root_, "template cache"));
    (void)real;
    struct stat st;
    if (::lstat(root_.c_str(), &st) != 0) return fail(Failure::Kind::SetupError, "cannot stat " + root_);
    std::string why = unsafe(st, true);
    if (why.empty() && (st.st_mode & 077)) why = "readable by group or others";
    if (!why.empty()) {
        return fail(Failure::Kind::SetupError, "template cache " + root_ + " is " + why + " (must be a 0700 directory of root)");
    }
    return {};
}

Expected<TemplateStore::Opened> TemplateStore::open(const std::string& key) {
    std::lock_guard lock(mutex_);
    RTFS_CHECK(check_root());
    Opened out;
    const std::string dir = root_ + "/" + key;
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0) return out;  // none yet
    auto refuse = [&](std::string why) {
        out.refused = std::move(why);
        host::remove_tree(dir);  // never restored; the caller rebuilds it
        return std::move(out);
    };
    if (std::string why = unsafe(st, true); !why.empty()) return refuse(dir + " is " + why);

    auto manifest_fd = open_checked(dir + "/" + kManifestFile);
    if (!manifest_fd) return refuse(manifest_fd.error().message);
    std::optional<std::string> text = host::read_to_end(manifest_fd->get(), kMaxManifestBytes);
    auto manifest = nlohmann::json::parse(text.value_or(""), nullptr, false);
    if (manifest.is_discarded() || !manifest.is_object() || string_member(manifest, "key") != key ||
        !manifest.contains("state_size") || !manifest["state_size"].is_number_unsigned() ||
        !manifest.contains("state_sha256") || !manifest["state_sha256"].is_string()) {
        return refuse("manifest of " + dir + " is not valid for this key");
    }
    auto state = open_checked(dir + "/" + kStateFile);
    if (!state) return refuse(state.error().message);
    if (::fstat(state->get(), &st) != 0 ||
        static_cast<uint64_t>(st.st_size) != manifest["state_size"].get<uint64_t>()) {
        return refuse("state of " + dir + " does not have the manifest's size");
    }
    const std::string want = manifest["state_sha256"].get<std::string>();
    const std::string id = identity(st);
    // The state's identity (inode, size, mtime, ctime) when its digest was taken: any later
    // change to the file moves its ctime, which no program can set back, so an unchanged
    // identity spares the one-shot CLI hashing tens of MB on every run.
    const bool unchanged = string_member(manifest, "state_identity") == id;
    if (auto it = verified_.find(id); !unchanged && (it == verified_.end() || it->second != want)) {
        Expected<std::string> got = host::sha256_hex_of_file(state->get());
        if (!got || *got != want) return refuse("state of " + dir + " does not match the manifest's SHA-256");
        verified_[id] = want;
    }
    // The directory's mtime is the template's last use (evict() goes by it).
    ::utimensat(AT_FDCWD, dir.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
    out.state = std::move(*state);
    return out;
}

Expected<std::string> TemplateStore::begin_build() {
    std::lock_guard lock(mutex_);
    RTFS_CHECK(check_root());
    std::string dir = root_ + "/" + host::owned_name(kBuildPrefix);
    if (::mkdir(dir.c_str(), 0700) != 0) {
        return host::sys_failure("cannot create " + dir, errno);
    }
    return dir;
}

Expected<void> TemplateStore::commit(const std::string& build_dir, const std::string& key) {
    auto state = open_checked(build_dir + "/" + kStateFile);
    if (!state) return rtfs::unexpected(state.error());
    struct stat st;
    Expected<std::string> digest = host::sha256_hex_of_file(state->get());
    if (::fstat(state->get(), &st) != 0 || !digest || st.st_size == 0) {
        return fail(Failure::Kind::SetupError, "template state in " + build_dir + " is unreadable or empty");
    }
    nlohmann::json manifest = {{"format", 1},
                               {"key", key},
                               {"state_size", static_cast<uint64_t>(st.st_size)},
                               {"state_sha256", *digest},
                               {"state_identity", identity(st)}};
    const std::string mpath = build_dir + "/" + kManifestFile;
    host::UniqueFd mfd(::open(mpath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    const std::string text = manifest.dump(2) + "\n";
    if (!mfd.valid() || ::write(mfd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(mfd.get()) != 0 || ::fsync(state->get()) != 0) {
        return fail(Failure::Kind::SetupError, "cannot write " + mpath);
    }
    std::lock_guard lock(mutex_);
    verified_[identity(st)] = *digest;
    const std::string target = root_ + "/" + key;
    if (::rename(build_dir.c_str(), target.c_str()) != 0) {
        // Another process made one meanwhile (or a refused one is in the way): ours replaces it.
        host::remove_tree(target);
        if (::rename(build_dir.c_str(), target.c_str()) != 0) {
            return host::sys_failure("cannot move the template to " + target, errno);
        }
    }
    evict(key);
    return {};
}

void TemplateStore::evict(const std::string& keep) {
    // Only names a template key can have (32 hex digits): the cache may have been set to a
    // directory that holds other things too.
    auto is_key = [](const std::string& name) {
        return name.size() == 32 &&
               name.find_first_not_of("0123456789abcdef") == std::string::npos;
    };
    std::vector<std::pair<time_t, std::string>> others;  // last use, name
    if (host::DirStream d = host::open_dir(root_)) {
        while (dirent* e = ::readdir(d.get())) {
            struct stat st;
            const std::string name = e->d_name;
            if (name == keep || !is_key(name) || ::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            others.emplace_back(st.st_mtim.tv_sec, name);
        }
    }
    std::sort(others.begin(), others.end(), std::greater<>());  // most recently used first
    const time_t oldest = ::time(nullptr) - static_cast<time_t>(retention_.max_unused.count());
    size_t kept = 1;  // keep's
    for (const auto& [used, name] : others) {
        if (used >= oldest && kept < retention_.max_templates) {
            ++kept;
            continue;
        }
        host::remove_tree(root_ + "/" + name);  // a symlink is removed, never followed
    }
}

void TemplateStore::discard(const std::string& key) {
    std::lock_guard lock(mutex_);
    host::remove_tree(root_ + "/" + key);
}

size_t TemplateStore::sweep_stale() const {
    return host::remove_dirs_of_dead_owners(root_, kBuildPrefix);
}

}  // namespace microvm::qemu
