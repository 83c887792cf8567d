#include "host/guest_image.hpp"
#include "host/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "host/boot_cache.hpp"
#include "host/sha256.hpp"
#include "host/unique_fd.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::host {
namespace {

constexpr size_t kMaxManifestBytes = 1 << 20;

std::string default_dir() {
    if (const char* env = std::getenv("MICROVM_GUEST_IMAGE"); env && *env) return env;
    const char* cache = std::getenv("MICROVM_IMAGE_CACHE");
    return std::string(cache && *cache ? cache : "/var/cache/microvm/guest-image") + "/current";
}

// A name of a file directly in the image directory: no path ('/', "..") and nothing hidden.
bool plain_file_name(const std::string& name) {
    if (name.empty() || name.size() > 255 || name.front() == '.') return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-' || c == '+';
        if (!ok) return false;
    }
    return true;
}

bool is_sha256_hex(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

// A string member, else `fallback` when absent; nullopt when it is there but not a string.
std::optional<std::string> string_or(const nlohmann::json& obj, const char* key, const char* fallback) {
    auto it = obj.find(key);
    if (it == obj.end()) return std::string(fallback);
    if (!it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

// What a file's content may have changed with: its inode, size, mtime and ctime (a write moves
// ctime, which no program can set back).
std::string identity_of(const struct stat& st) {
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
           ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
           std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

Expected<void> verify_file(const std::string& path, uint64_t size, const std::string& sha256) {
    // Digests this process took, by file identity: a long-lived host hashes each file once.
    static std::mutex mutex;
    static std::map<std::string, std::string> verified;
    auto refuse = [&](const std::string& why) -> Expected<void> {
        return fail(Failure::Kind::SetupError, "guest image file " + path + " " + why +
                                                   " (a corrupt or replaced image); rebuild it: " +
                                                   kBuildImageCommand);
    };
    std::optional<OpenedFile> file = open_for_judging(path);
    if (!file) return refuse(std::string("cannot be opened: ") + errno_text(errno));
    const UniqueFd& fd = file->fd;
    const struct stat& st = file->st;
    if (!S_ISREG(st.st_mode)) return refuse("is not a regular file");
    if (static_cast<uint64_t>(st.st_size) != size) {
        return refuse("has " + std::to_string(st.st_size) + " bytes, the manifest says " + std::to_string(size));
    }
    const std::string id = identity_of(st);
    {
        std::lock_guard lock(mutex);
        if (auto it = verified.find(id); it != verified.end() && it->second == sha256) return {};
    }
    Expected<std::string> got = sha256_hex_of_file(fd.get());
    if (!got) return rtfs::unexpected(got.error());
    if (*got != sha256) return refuse("has SHA-256 " + *got + ", the manifest says " + sha256);
    // Remembered only for a file last changed well before now: file times come from a coarse
    // clock, and a change within the same tick as the digest would keep the identity.
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st.st_ctim.tv_sec >= 2) {
        std::lock_guard lock(mutex);
        verified[id] = sha256;
    }
    return {};
}

}  // namespace

Expected<GuestImage> find_guest_image(const std::string& setting) {
    const std::string given = setting.empty() ? default_dir() : setting;
    auto refuse = [&](const std::string& why) -> Expected<GuestImage> {
        return fail(Failure::Kind::SetupError, "no usable guest image at " + given + " (" + why +
                                                   "); build it: " + kBuildImageCommand);
    };
    // The directory, and each file below, only where root or this user alone can change it.
    auto dir = trusted_real_path(given, "guest image directory");
    if (!dir) return refuse(dir.error().message);
    struct stat st;
    if (::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return refuse("not a directory");
    const std::string manifest_path = *dir + "/manifest.json";
    if (::lstat(manifest_path.c_str(), &st) != 0) return refuse("no manifest.json");
    // read_trusted_file: a regular file (never a symlink or a FIFO), trusted owner and mode.
    std::optional<std::string> text = read_trusted_file(manifest_path, kMaxManifestBytes);
    if (!text) {
        return refuse("manifest.json is not a regular file of root or this user, writable by neither "
                      "group nor others, of at most 1 MiB");
    }
    nlohmann::json m = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (m.is_discarded() || !m.is_object()) return refuse("manifest.json is not a JSON object");
    const auto boot = m.find("boot");
    const auto files = m.find("files");
    if (boot == m.end() || files == m.end() || !boot->is_object() || !files->is_object()) {
        return refuse("manifest.json has no boot/files (an image of an older build.sh)");
    }
    GuestImage img;
    img.dir = *dir;
    auto acpi = string_or(*boot, "microvm_acpi", "off");
    auto key = string_or(m, "key", "");
    auto kernel_name = string_or(*boot, "kernel", "vmlinux");
    if (!acpi || !key || !kernel_name) return refuse("manifest.json: boot.kernel, boot.microvm_acpi or key is not a string");
    img.microvm_acpi = *acpi;
    img.key = *key;
    if (auto s = boot->find("shared_dirs_9p"); s != boot->end()) {
        if (!s->is_boolean()) return refuse("manifest.json: boot.shared_dirs_9p is not a boolean");
        img.shares_9p = s->get<bool>();
    }
    if (auto k = m.find("kernel"); k != m.end() && k->is_object()) {
        auto release = string_or(*k, "release", "");
        if (!release) return refuse("manifest.json: kernel.release is not a string");
        img.kernel_release = *release;
    }
    // Each boot file: a plain name in the directory, trusted, of the size the manifest gives.
    auto boot_file = [&](const std::string& name, const nlohmann::json* entry, const char* what,
                         std::string& path, uint64_t& size, std::string& sha256) -> std::string {
        if (!plain_file_name(name)) {
            return std::string("manifest.json names the ") + what + " \"" + name +
                   "\", which is not a plain file name of the image directory";
        }
        if (!entry || !entry->is_object() || !entry->contains("size") || !(*entry)["size"].is_number_unsigned() ||
            !entry->contains("sha256") || !(*entry)["sha256"].is_string() ||
            !is_sha256_hex((*entry)["sha256"].get<std::string>())) {
            return std::string("manifest.json gives no size and SHA-256 of the ") + what + " " + name;
        }
        size = (*entry)["size"].get<uint64_t>();
        sha256 = (*entry)["sha256"].get<std::string>();
        auto real = trusted_real_path(*dir + "/" + name, std::string("guest ") + what);
        if (!real) return real.error().kind == Failure::Kind::InvalidConfig ? "no " + std::string(what) + " " + name
                                                                           : real.error().message;
        path = *real;
        struct stat fst;
        if (::stat(path.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) {
            return std::string("the ") + what + " " + name + " is not a regular file";
        }
        if (static_cast<uint64_t>(fst.st_size) != size) {
            return std::string("the ") + what + " " + name + " has " + std::to_string(fst.st_size) +
                   " bytes, the manifest says " + std::to_string(size);
        }
        return {};
    };
    auto kernel_entry = files->find(*kernel_name);
    if (std::string why = boot_file(*kernel_name, kernel_entry == files->end() ? nullptr : &*kernel_entry, "kernel",
                                    img.kernel, img.kernel_size, img.kernel_sha256);
        !why.empty()) {
        return refuse(why);
    }
    auto initramfs = files->find("initramfs");
    if (initramfs == files->end() || !initramfs->is_object()) return refuse("manifest.json names no initramfs");
    auto initramfs_name = string_or(*initramfs, "name", "");
    auto initramfs_file = initramfs->find("file");
    if (!initramfs_name) return refuse("manifest.json: files.initramfs.name is not a string");
    if (std::string why = boot_file(*initramfs_name, initramfs_file == initramfs->end() ? nullptr : &*initramfs_file,
                                    "initramfs", img.initramfs, img.initramfs_size, img.initramfs_sha256);
        !why.empty()) {
        return refuse(why);
    }
    return img;
}

Expected<void> verify_guest_image(const GuestImage& image) {
    RTFS_CHECK(verify_file(image.kernel, image.kernel_size, image.kernel_sha256));
    return verify_file(image.initramfs, image.initramfs_size, image.initramfs_sha256);
}

}  // namespace microvm::host
