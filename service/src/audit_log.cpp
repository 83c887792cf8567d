#include "service/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

Expected<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, AuditSync sync) {
    const std::string what = "audit log " + path + ": ";
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == ELOOP)
            return fail(Failure::Kind::SetupError, what + "is a symbolic link (refused: it could point anywhere)");
        return fail(Failure::Kind::SetupError, what + "cannot be opened for appending: " + std::strerror(errno));
    }
    auto log = std::make_unique<AuditLog>();
    log->fd_.reset(fd);
    log->sync_ = sync;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fail(Failure::Kind::SetupError, what + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail(Failure::Kind::SetupError, what + "is not a regular file");
    if (st.st_uid != ::geteuid())
        return fail(Failure::Kind::SetupError,
                    what + "is owned by uid " + std::to_string(st.st_uid) + ", not by this daemon's uid " +
                        std::to_string(::geteuid()));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(Failure::Kind::SetupError,
                    what + "is writable by group or others (records could be forged or erased); chmod go-w");
    return log;
}

void AuditLog::write(const nlohmann::ordered_json& record) {
    if (!fd_.valid()) return;
    nlohmann::ordered_json line = {{"time", rfc3339_now()}};
    for (const auto& [k, v] : record.items()) line[k] = v;
    // Replace invalid UTF-8 rather than throw: records carry program-chosen text.
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mu_);
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd_.get(), text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ++failures_;
            return;
        }
        off += static_cast<size_t>(n);
    }
    if (sync_ == AuditSync::EveryRecord && ::fdatasync(fd_.get()) != 0) ++failures_;
}

uint64_t AuditLog::failures() const {
    std::lock_guard lock(mu_);
    return failures_;
}

}  // namespace microvm::service
