#include "service/audit_log.hpp"
#include "host/sys_error.hpp"
#include "microvm/json_output.hpp"
#include "microvm/path_within.hpp"
#include "microvm/trusted_path.hpp"
#include "service/digest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace microvm::service {

std::string rfc3339_now() {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

namespace {

// The file behind fd is one only this daemon's user can write.
Expected<uint64_t> check_log_file(int fd, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fail(Failure::Kind::SetupError, what + host::errno_text(errno));
    if (!S_ISREG(st.st_mode)) return fail(Failure::Kind::SetupError, what + "is not a regular file");
    if (st.st_uid != ::geteuid())
        return fail(Failure::Kind::SetupError,
                    what + "is owned by uid " + std::to_string(st.st_uid) + ", not by this daemon's uid " +
                        std::to_string(::geteuid()));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(Failure::Kind::SetupError,
                    what + "is writable by group or others (records could be forged or erased); chmod go-w");
    return static_cast<uint64_t>(st.st_size);
}

}  // namespace

Expected<AuditRotation> read_audit_rotation(const Settings& settings) {
    AuditRotation r;
    auto it = settings.service.find("audit");
    if (it == settings.service.end()) return r;
    const std::string where = (settings.service_origin.empty() ? "[service]" : settings.service_origin) + ": service.audit";
    if (!it->is_object()) return fail(Failure::Kind::InvalidConfig, where + ": expected a table");
    for (const auto& [k, v] : it->items()) {
        if (k == "max_bytes") {
            if (!v.is_number_integer() || v.get<int64_t>() < 0)
                return fail(Failure::Kind::InvalidConfig, where + ".max_bytes: expected a number of bytes (0: never rotate)");
            r.max_bytes = v.get<uint64_t>();
        } else if (k == "keep") {
            if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 1000)
                return fail(Failure::Kind::InvalidConfig, where + ".keep: expected an integer from 1 to 1000");
            r.keep = v.get<unsigned>();
        } else {
            return fail(Failure::Kind::InvalidConfig, where + "." + k + ": unknown key (known: max_bytes, keep)");
        }
    }
    return r;
}

Expected<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, AuditSync sync,
                                                   AuditRotation rotation) {
    const std::string what = "audit log " + path + ": ";
    // Its directory as well as the file: another user's directory lets that user unlink the log
    // (records then go to a deleted file) or plant what rotation renames (red team, 2026-12-06).
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    auto real_dir = owned_real_path(dir, "audit log's directory");
    if (!real_dir) return fail(Failure::Kind::SetupError, what + real_dir.error().message);
    const std::string real = join_path(*real_dir, path.substr(slash + 1));
    int fd = ::open(real.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == ELOOP)
            return fail(Failure::Kind::SetupError, what + "is a symbolic link (refused: it could point anywhere)");
        return fail(Failure::Kind::SetupError, what + "cannot be opened for appending: " + host::errno_text(errno));
    }
    auto log = std::make_unique<AuditLog>();
    log->fd_.reset(fd);
    log->path_ = real;
    log->sync_ = sync;
    log->rotation_ = rotation;
    RTFS_TRY(log->size_, check_log_file(fd, what));
    return log;
}

void AuditLog::rotation_failed(const std::string& why) {
    // Rotation stops for good: trying again would shift the rotated files once more and drop
    // the oldest each time, or even rename away the file being written. Nothing is lost.
    ++rotation_failures_;
    rotation_.max_bytes = 0;
    std::fprintf(stderr, "microvmd: audit log rotation stopped: %s\n", why.c_str());
}

void AuditLog::rotate() {
    // PATH.(keep-1) -> PATH.keep, ..., PATH -> PATH.1: rename replaces the oldest, keeps modes.
    for (unsigned i = rotation_.keep; i >= 1; --i) {
        const std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
        const std::string to = path_ + "." + std::to_string(i);
        if (std::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
            return rotation_failed("renaming " + from + ": " + host::errno_text(errno));
    }
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)  // someone planted a file at PATH: the records keep going to PATH.1
        return rotation_failed("creating " + path_ + ": " + host::errno_text(errno));
    if (sync_ == AuditSync::EveryRecord) ::fdatasync(fd_.get());
    fd_.reset(fd);
    size_ = 0;
    if (sync_ == AuditSync::EveryRecord) {  // the renames and the new name, durable too
        const size_t slash = path_.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
        int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0) {
            ::fsync(d);
            ::close(d);
        }
    }
}

std::string audit_field(std::string_view text) {
    if (text.size() <= kAuditFieldMax) return std::string(text);
    // A cut inside a UTF-8 sequence is replaced (write's error handler), not a crash.
    return std::string(text.substr(0, kAuditFieldMax)) + "...[truncated, " + std::to_string(text.size()) + " bytes]";
}

nlohmann::json audit_value(const nlohmann::json& value) {
    const std::string text = json_text(value);
    if (text.size() <= kAuditValueMax) return value;
    return {{"truncated_bytes", text.size()}, {"sha256", sha256_hex(text)}};
}

void AuditLog::write(const nlohmann::ordered_json& record) {
    if (!enabled()) return;
    nlohmann::ordered_json line = {{"time", rfc3339_now()}};
    for (const auto& [k, v] : record.items()) line[k] = v;
    // Replace invalid UTF-8 rather than throw: records carry program-chosen text.
    std::string text = json_text(line) + "\n";
    std::lock_guard lock(mu_);
    if (rotation_.max_bytes && size_ > 0 && size_ + text.size() > rotation_.max_bytes) rotate();
    if (!host::write_all(fd_.get(), text)) {
        ++failures_;
        // Part of the line may be in the file (ENOSPC midway): rotation goes by what is there.
        struct stat st;
        if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
        return;
    }
    size_ += text.size();
    if (sync_ == AuditSync::EveryRecord && ::fdatasync(fd_.get()) != 0) ++failures_;
}

uint64_t AuditLog::rotation_failures() const {
    std::lock_guard lock(mu_);
    return rotation_failures_;
}

uint64_t AuditLog::failures() const {
    std::lock_guard lock(mu_);
    return failures_;
}

}  // namespace microvm::service
