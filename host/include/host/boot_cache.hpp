// Records a host process keeps until the next boot, such as the result of a provider's start-up
// probe: one-shot users (the CLI) would otherwise pay for the probe on every execution. A record
// holds an identity (everything that would make it stale: the boot id, the effective uid, the
// binary that probed, the settings) and a value; it is used only while the identity is the same.
//
// Records are trusted only for where they lie, with the rules of settings files
// (microvm/trusted_path.hpp): the directory and everything above it owned by root or the
// effective user and writable by neither group nor others, and the record itself a regular file
// (never a symlink) with the same owner and mode rules. Anything else is ignored and never
// written: a sandbox, or another user, cannot plant a record. Failed probes are never recorded.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "microvm/error.hpp"

namespace microvm::host {

// <protected_runtime_base()>/<name> (name starts with "microvm": protected by name), created
// (mode 0700) when missing: /run/<name> for root, /run/user/<uid>/<name> otherwise (never
// elsewhere, whatever $XDG_RUNTIME_DIR says). nullopt when there is none or it is not trusted.
std::optional<std::string> runtime_state_dir(std::string_view name, const char* what);
// The per-user directory for boot records: runtime_state_dir("microvm").
std::optional<std::string> boot_cache_dir();

// The directory, created (mode 0700) when missing, if it and every directory above it are
// trusted; SetupError naming the fault otherwise.
Expected<std::string> trusted_cache_dir(const std::string& path, const char* what);

// What identifies a file's content without reading it: device, inode, size, mtime and ctime (a
// rewrite in place changes ctime). nullopt when it cannot be stat'ed.
std::optional<nlohmann::json> file_identity(const std::string& path);
// The identity of the running executable (/proc/self/exe).
nlohmann::json own_binary_identity();

// The whole file if it is a trusted record file (regular, not a symlink, owned by root or the
// effective user, not writable by group or others) of at most max_bytes; nullopt otherwise.
std::optional<std::string> read_trusted_file(const std::string& path, size_t max_bytes);
// Writes the file atomically (a private temporary renamed over it, so that a symlink planted at
// path is replaced, never followed), mode 0600 unless given. Best effort.
bool write_file_atomically(const std::string& path, const std::string& data, mode_t mode = 0600);

// The value recorded under name in dir for this identity (the boot id and effective uid are
// added to it), if the record is current and trusted.
std::optional<nlohmann::json> read_boot_record(const std::string& dir, const std::string& name,
                                               const nlohmann::json& identity);
// Records value under name (best effort: a record that cannot be written is simply not kept).
void write_boot_record(const std::string& dir, const std::string& name,
                       const nlohmann::json& identity, const nlohmann::json& value);

// The same for a value of raw bytes (compiled programs): the identity is a JSON line and the
// bytes follow as they are, so that reading the record parses its identity alone (a JSON string
// of the bytes in hex took ~0.1 ms of a one-shot run to parse). At most max_bytes of value.
std::optional<std::string> read_boot_bytes(const std::string& dir, const std::string& name,
                                           const nlohmann::json& identity, size_t max_bytes);
void write_boot_bytes(const std::string& dir, const std::string& name,
                      const nlohmann::json& identity, std::string_view bytes);

// Keeps the `keep` most recently written of dir's files named PREFIX...SUFFIX and removes the
// others: records named after something each build changes (a binary's path) would otherwise
// pile up until the next boot, in memory when dir is on a tmpfs (/run). Best effort; removes
// names only. Anything of such a name but a regular file (never a record) is removed, a symlink
// without being followed; so are the temporaries of record writes whose writer is gone
// (write_file_atomically names them as stale_dirs.hpp does, with its pid and pid namespace).
void prune_boot_records(const std::string& dir, std::string_view prefix, std::string_view suffix,
                        size_t keep);

}  // namespace microvm::host
