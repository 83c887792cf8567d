// The audit log: append-only JSON Lines, one record per execution and per session operation.
// The file is opened O_APPEND|O_NOFOLLOW and created 0600; the daemon refuses to start on a
// symlink, a file that is not regular, owned by someone else or writable by group or others
// (someone else could forge or erase records). Each record is one write(2) of one line, so
// concurrent records never interleave. fsync after each record when asked (durability over
// speed).
//
// Rotation by size ([service.audit] max_bytes, keep; 64 MiB and 5 unless set): a record that would take the file past
// max_bytes goes to a fresh file instead; the full one becomes PATH.1 (PATH.1 becomes PATH.2 ...,
// the oldest beyond `keep` is removed). A record is never split between files and never dropped
// (one larger than max_bytes gets a file of its own); rotated files keep their mode (0600), the
// fresh one is created 0600 with O_EXCL (a file planted at PATH meanwhile is refused, and the
// records keep going to the file already open, and rotation stops, said on stderr).
#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"
#include "microvm/settings.hpp"

namespace microvm::service {

enum class AuditSync { Never, EveryRecord };

// A client-chosen text (a session id, a file path) as an audit record keeps it: at most
// kAuditFieldMax bytes, a longer one cut with a marker giving its length, so a request of a few
// KiB does not write a record of as many (red team, 2026-12-03: an 8 KiB id made an 8 KiB record).
inline constexpr size_t kAuditFieldMax = 256;
std::string audit_field(std::string_view text);

// A client-chosen JSON value (one policy key of a request) as a record keeps it: whole up to
// kAuditValueMax bytes as JSON text, else {"truncated_bytes": N, "sha256": HEX} of that text. A
// valid policy of 60,000 capabilities made a 0.9 MB record, and 430 such requests rotated every
// other client's records out of the log (red team, 2026-12-07).
inline constexpr size_t kAuditValueMax = 4096;
nlohmann::json audit_value(const nlohmann::json& value);

// Bounded by default (64 MiB, 5 kept: at most 384 MiB): every client's request writes a record,
// so an unbounded log is a budget of the host's disk that clients spend.
inline constexpr uint64_t kDefaultAuditMaxBytes = 64ull << 20;
struct AuditRotation {
    uint64_t max_bytes = kDefaultAuditMaxBytes;  // 0: never rotate
    unsigned keep = 5;       // rotated files kept: PATH.1 .. PATH.keep
};
// [service.audit] of the settings file: max_bytes (an integer, 0 = never rotate) and keep
// (1 to 1000). Unknown keys and bad values are errors naming them.
Expected<AuditRotation> read_audit_rotation(const Settings& settings);

class AuditLog {
  public:
    // A log that records nothing (no --audit-log).
    AuditLog() = default;
    static Expected<std::unique_ptr<AuditLog>> open(const std::string& path, AuditSync sync,
                                                    AuditRotation rotation = {});

    // Whether it was opened: by its path, set once by open(); fd_ changes under mu_ when the log
    // rotates (reading it unlocked here was a data race: ThreadSanitizer, 2026-12-07).
    bool enabled() const { return !path_.empty(); }
    const std::string& path() const { return path_; }  // as given to open(); empty when disabled
    // Adds "time" (RFC 3339 UTC with milliseconds) in front of the record's keys.
    void write(const nlohmann::ordered_json& record);
    uint64_t failures() const;  // records that could not be written
    uint64_t rotation_failures() const;  // rotations that could not be done (records kept going)

  private:
    // Under mu_: moves the full file aside and opens a fresh one at path_.
    void rotate();
    void rotation_failed(const std::string& why);

    host::UniqueFd fd_;
    std::string path_;
    AuditSync sync_ = AuditSync::Never;
    AuditRotation rotation_;
    uint64_t size_ = 0;  // bytes in the open file
    uint64_t rotation_failures_ = 0;
    mutable std::mutex mu_;
    uint64_t failures_ = 0;
};

std::string rfc3339_now();

}  // namespace microvm::service
