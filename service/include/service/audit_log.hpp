// The audit log: append-only JSON Lines, one record per execution and per session operation.
// The file is opened O_APPEND|O_NOFOLLOW and created 0600; the daemon refuses to start on a
// symlink, a file that is not regular, owned by someone else or writable by group or others
// (someone else could forge or erase records). Each record is one write(2) of one line, so
// concurrent records never interleave. fsync after each record when asked (durability over
// speed).
#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::service {

enum class AuditSync { Never, EveryRecord };

class AuditLog {
  public:
    // A log that records nothing (no --audit-log).
    AuditLog() = default;
    static Expected<std::unique_ptr<AuditLog>> open(const std::string& path, AuditSync sync);

    bool enabled() const { return fd_.valid(); }
    // Adds "time" (RFC 3339 UTC with milliseconds) in front of the record's keys.
    void write(const nlohmann::ordered_json& record);
    uint64_t failures() const;  // records that could not be written

  private:
    host::UniqueFd fd_;
    AuditSync sync_ = AuditSync::Never;
    mutable std::mutex mu_;
    uint64_t failures_ = 0;
};

std::string rfc3339_now();

}  // namespace microvm::service
