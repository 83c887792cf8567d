// ccos.io.read-file, ccos.io.write-file, ccos.io.file-exists: real file I/O, limited to regular
// files (a FIFO or device could block or never end), size-capped, gated and recorded.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include "capabilities.hpp"
#include "rtfs/host/unique_fd.hpp"

namespace rtfs::host {

namespace {

constexpr const char* kRead = "ccos.io.read-file";
constexpr const char* kWrite = "ccos.io.write-file";
constexpr const char* kExists = "ccos.io.file-exists";

// What the file gate judges: the absolute path with the symlinks of its existing part resolved.
std::string resolved_path(const std::string& path) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(path, ec);
    if (ec) return path;
    std::filesystem::path canon = std::filesystem::weakly_canonical(abs, ec);
    return ec ? abs.lexically_normal().string() : canon.string();
}

// Opens the path the gate judged, and only it. That path is canonical (its existing part has no
// symlinks), so any symlink met while opening was not checked: a dangling last component
// (weakly_canonical leaves it, since it "does not exist", and O_CREAT would create its target
// outside the policy) or a link swapped in after the check. openat2 refuses every one (ELOOP);
// where it is missing (Linux < 5.6), O_NOFOLLOW still refuses a symlink as the last component.
// The same approach as host/policy_source.cpp's re-open of a checked bind source.
int open_checked(const std::string& canonical, int flags, mode_t mode) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    // EAGAIN: a rename raced the lookup, or (O_NONBLOCK) another process holds a lease on the
    // file, which the kernel breaks after lease-break-time (45 s): bounded, as host/openat2.hpp
    // bounds it (this library cannot include the host kit), where it spun unbounded (review,
    // 2026-12-07).
    for (int attempt = 0;; ++attempt) {
        long fd = ::syscall(SYS_openat2, AT_FDCWD, canonical.c_str(), &how, sizeof how);
        if (fd >= 0) return static_cast<int>(fd);
        if ((errno == EINTR || errno == EAGAIN) && attempt < 16) continue;
        if (errno != ENOSYS && errno != EPERM) return -1;  // EPERM: a seccomp filter's refusal
        break;
    }
    return ::open(canonical.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
}

// Records the operation and turns a failure into the capability's error.
class FileEffect {
  public:
    FileEffect(DefaultHost& host, const char* id, const std::string& path, const char* operation)
        : host_(host), id_(id) {
        op_.path = path;
        op_.operation = operation;
    }
    ~FileEffect() { host_.record(std::move(op_)); }
    FileEffect(const FileEffect&) = delete;
    FileEffect& operator=(const FileEffect&) = delete;

    // Consults the host's file gate. With a gate, the operation must then open exactly the path
    // it judged: open() opens that path (without a gate, the program's path as given).
    Expected<void, Error> check_gate() {
        const auto& gate = host_.options().file_gate;
        if (!gate) return Ok{};
        const std::string resolved = resolved_path(op_.path);
        checked_ = resolved;
        if (auto reason = gate(resolved, op_.operation)) {
            op_.error = "denied: " + *reason;
            return security_violation(
                id_, op_.operation + " access to '" + resolved + "' denied: " + *reason);
        }
        return Ok{};
    }
    Unexpected<Error> fail(const std::string& why) {
        op_.error = why;
        return capability_error(id_, "'" + op_.path + "': " + why);
    }
    Unexpected<Error> fail_errno(const char* what, int err) {
        return fail(std::string(what) + ": " + os_reason(err));
    }
    void set_bytes(uint64_t n) { op_.bytes = n; }

    // Opens the file for the operation (the checked path, refusing unchecked symlinks, when a
    // gate judged it). -1 with errno on failure; ELOOP is reported as a policy violation.
    int open(int flags, mode_t mode = 0) const {
        if (!checked_) return ::open(op_.path.c_str(), flags | O_CLOEXEC, mode);
        return open_checked(*checked_, flags, mode);
    }
    Unexpected<Error> fail_open(int err) {
        if (err == ELOOP && checked_) {
            const std::string why = "the path goes through a symbolic link (not followed)";
            op_.error = "denied: " + why;
            return security_violation(
                id_, op_.operation + " access to '" + *checked_ + "' denied: " + why);
        }
        return fail_errno("cannot open", err);
    }

  private:
    DefaultHost& host_;
    const char* id_;
    FileOperation op_;
    std::optional<std::string> checked_;
};

std::string too_large(uint64_t size, uint64_t cap) {
    return "file of " + std::to_string(size) + " bytes exceeds the limit of " +
           std::to_string(cap) + " bytes";
}

Expected<void, Error> require_regular(FileEffect& effect, int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return effect.fail_errno("cannot stat", errno);
    if (S_ISDIR(st.st_mode)) return effect.fail(os_reason(EISDIR));
    if (!S_ISREG(st.st_mode)) return effect.fail("not a regular file");
    return Ok{};
}

}  // namespace

Result<Value> io_read_file(DefaultHost& host, std::span<const Value> args) {
    RTFS_CHECK(check_arity(kRead, args, 1, 1));
    RTFS_TRY(const std::string* path, string_arg(kRead, args[0]));
    FileEffect effect(host, kRead, *path, "read");
    RTFS_CHECK(effect.check_gate());
    UniqueFd fd(effect.open(O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (fd.get() < 0) return effect.fail_open(errno);
    RTFS_CHECK(require_regular(effect, fd.get()));

    const uint64_t cap = host.options().max_file_bytes;
    std::string content;
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return effect.fail_errno("cannot read", errno);
        if (n == 0) break;
        content.append(buf, static_cast<size_t>(n));
        if (cap && content.size() > cap) return effect.fail(too_large(content.size(), cap));
    }
    effect.set_bytes(content.size());
    return make_string(std::move(content));
}

Result<Value> io_write_file(DefaultHost& host, std::span<const Value> args) {
    RTFS_CHECK(check_arity(kWrite, args, 2, 2));
    RTFS_TRY(const std::string* path, string_arg(kWrite, args[0]));
    RTFS_TRY(const std::string* content, string_arg(kWrite, args[1]));
    FileEffect effect(host, kWrite, *path, "write");
    RTFS_CHECK(effect.check_gate());
    const uint64_t cap = host.options().max_file_bytes;
    if (cap && content->size() > cap) return effect.fail(too_large(content->size(), cap));

    UniqueFd fd(effect.open(O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY, 0666));
    if (fd.get() < 0) return effect.fail_open(errno);
    RTFS_CHECK(require_regular(effect, fd.get()));
    size_t done = 0;
    while (done < content->size()) {
        ssize_t n = ::write(fd.get(), content->data() + done, content->size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return effect.fail_errno("cannot write", errno);
        done += static_cast<size_t>(n);
    }
    effect.set_bytes(done);
    return Value::nil();
}

Result<Value> io_file_exists(DefaultHost& host, std::span<const Value> args) {
    RTFS_CHECK(check_arity(kExists, args, 1, 1));
    RTFS_TRY(const std::string* path, string_arg(kExists, args[0]));
    FileEffect effect(host, kExists, *path, "exists");
    RTFS_CHECK(effect.check_gate());
    // The path the gate judged, never a symlink met on the way (one swapped in after the check
    // answered for a place outside the policy), as read-file and write-file open it.
    UniqueFd fd(effect.open(O_PATH));
    if (fd.get() < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return Value::boolean(false);
        return effect.fail_open(errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return effect.fail_errno("cannot stat", errno);
    // Without openat2, O_PATH | O_NOFOLLOW opens a symlink itself instead of failing.
    if (S_ISLNK(st.st_mode)) return effect.fail_open(ELOOP);
    return Value::boolean(true);
}

}  // namespace rtfs::host
