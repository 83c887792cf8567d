// Network and file-system policies, and the parsing of their command-line/settings forms.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"

namespace microvm {

struct NetworkPolicy {
    enum class Kind { Denied, AllowList, DenyList, Full };
    Kind kind = Kind::Denied;
    // Host entries: names or IPs, optionally "host:port", "*.example.com" wildcards.
    std::vector<std::string> hosts;

    static NetworkPolicy denied() { return {}; }
    static NetworkPolicy full() { return {Kind::Full, {}}; }
    static NetworkPolicy allow(std::vector<std::string> h) { return {Kind::AllowList, std::move(h)}; }
    static NetworkPolicy deny(std::vector<std::string> h) { return {Kind::DenyList, std::move(h)}; }

    // "deny" | "full" | "allow=a.com,b.com" | "block=a.com"
    static Expected<NetworkPolicy> parse(std::string_view text);
    std::string to_string() const;
    // Does the policy let a connection to host (and port, 0 = any) through?
    bool permits(std::string_view host, int port = 0) const;
    bool operator==(const NetworkPolicy&) const = default;
};

struct FileSystemPolicy {
    enum class Kind { None, ReadOnly, ReadWrite, Full };
    Kind kind = Kind::None;
    // ReadOnly: paths bound read-only (empty = the standard system directories).
    // ReadWrite: paths bound writable.
    std::vector<std::string> paths;
    // ReadWrite only: paths bound read-only beside the writable ones (the common case: system
    // directories to run from, one directory to write to).
    std::vector<std::string> read_only_paths;

    static FileSystemPolicy none() { return {}; }
    static FileSystemPolicy full() { return {Kind::Full, {}, {}}; }
    static FileSystemPolicy read_only(std::vector<std::string> p = {}) { return {Kind::ReadOnly, std::move(p), {}}; }
    static FileSystemPolicy read_write(std::vector<std::string> p, std::vector<std::string> ro = {}) {
        return {Kind::ReadWrite, std::move(p), std::move(ro)};
    }

    // One clause "none" | "ro" | "ro=/data:/etc" | "rw=/tmp/x" | "full", or a ro and a rw clause
    // joined by ';' ("rw=/out;ro=/usr:/etc"). A bare "ro" beside rw means the system dirs.
    static Expected<FileSystemPolicy> parse(std::string_view text);
    // Two policies given separately (e.g. --fs ro --fs rw=/out): only a ro and a rw combine.
    static Expected<FileSystemPolicy> combine(const FileSystemPolicy& a, const FileSystemPolicy& b);
    std::string to_string() const;
    // Paths readable (every listed path) and writable (ReadWrite's paths), as listed.
    std::vector<std::string> readable_paths() const;
    bool operator==(const FileSystemPolicy&) const = default;
};

// The directories a ReadOnly policy with an empty list exposes, so ordinary programs run:
// /bin /usr /lib /lib64 /etc /sbin (those that exist on this host).
std::vector<std::string> standard_system_dirs();

// "500ms", "30s", "2m", "1.5s" -> milliseconds. Rejects negatives, zero, garbage and overflow.
Expected<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

// One network host entry ("Example.com:443", "*.example.com", "10.0.0.1", "[::1]:80") in the
// canonical form stored in NetworkPolicy::hosts (lower case, IPv6 in brackets), or why it is bad.
Expected<std::string> parse_host_entry(std::string_view entry);
// An absolute path with "//", "." and trailing slashes removed, or why it is bad: relative,
// empty, NUL, ':' or ".." (a policy path names one place; it never climbs out of one).
Expected<std::string> normalize_policy_path(std::string_view path);

const char* to_string(NetworkPolicy::Kind k);
const char* to_string(FileSystemPolicy::Kind k);

}  // namespace microvm
