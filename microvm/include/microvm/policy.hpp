// Network and file-system policies, and the parsing of their command-line/settings forms.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"

namespace microvm {

// A network policy's verdict on one connection and the rule that gave it, in words fit for a
// record or an error message ("allow entry *.example.com", "not in the allow list").
struct NetworkDecision {
    bool allowed = false;
    std::string rule;
};

struct NetworkPolicy {
    enum class Kind { Denied, AllowList, DenyList, Full };
    Kind kind = Kind::Denied;
    // Host entries: names (IDNA A-labels), "*.example.com" wildcards, IP addresses and CIDR
    // ranges ("10.0.0.0/8", "[fd00::]/8"), each optionally with ":port". Canonical form: see
    // parse_host_entry.
    std::vector<std::string> hosts;

    static NetworkPolicy denied() { return {}; }
    static NetworkPolicy full() { return {Kind::Full, {}}; }
    static NetworkPolicy allow(std::vector<std::string> h) { return {Kind::AllowList, std::move(h)}; }
    static NetworkPolicy deny(std::vector<std::string> h) { return {Kind::DenyList, std::move(h)}; }

    // "deny" | "full" | "allow=a.com,b.com" | "block=a.com"
    static Expected<NetworkPolicy> parse(std::string_view text);
    std::string to_string() const;
    // Does the policy let a connection to host (and port, 0 = unknown) through, and by which
    // rule? host is a name (any case, trailing dot, Unicode or A-label) or an IP literal
    // ("10.0.0.1", "::1", "[::1]"). Names are matched by name entries only and IP literals by IP
    // and CIDR entries only: a listed name never lets its address in, nor the reverse. Text that
    // is neither a valid name nor an IP literal ("127.1", "0x7f000001", "a b") is refused.
    NetworkDecision decide(std::string_view host, int port = 0) const;
    bool permits(std::string_view host, int port = 0) const { return decide(host, port).allowed; }
    // The IP or CIDR entry (as stored in hosts) covering an address a name resolved to, if any.
    // An egress proxy consults it after resolving a permitted name: in an allow list such an
    // entry explicitly admits an address its private-range filter would refuse; in a block list
    // it blocks the connection.
    std::optional<std::string> address_entry(std::string_view ip, int port) const;
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

// One network host entry ("Example.com:443", "*.example.com", "Bücher.example.", "10.0.0.1",
// "10.0.0.0/8:5432", "[::1]:80", "fd00::/8") in the canonical form stored in
// NetworkPolicy::hosts (lower case, IDNA A-labels, no trailing dot, IPv6 in brackets with the
// prefix length after them: "[fd00::]/8:443"), or why it is bad. A CIDR range must have no host
// bits set.
Expected<std::string> parse_host_entry(std::string_view entry);

// A host as a connection names it (CONNECT line, URL, SOCKS5 request, TLS SNI), in the form
// policy entries use: a lower-case A-label name without trailing dot, or a canonical IP address
// (IPv6 without brackets; an IPv4-mapped IPv6 address becomes the IPv4 address it carries).
struct CanonicalHost {
    enum class Kind { Name, IPv4, IPv6 };
    Kind kind = Kind::Name;
    std::string text;
    bool operator==(const CanonicalHost&) const = default;
};
// Fails for text that is neither a valid host name nor an IP literal, including the numeric
// forms resolvers accept but policies cannot judge ("127.1", "2130706433", "0x7f.0.0.1").
Expected<CanonicalHost> canonical_host(std::string_view host);
// An absolute path with "//", "." and trailing slashes removed, or why it is bad: relative,
// empty, NUL, ':', "..", or PATH_MAX bytes and more (no host path is that long; resolving one
// cost microvmd's connection thread 20 s of CPU per megabyte, before admission: red team,
// 2026-12-05). A policy path names one place; it never climbs out of one.
Expected<std::string> normalize_policy_path(std::string_view path);
// The most paths a file-system policy names, read-only and read-write together: each is a bind
// mount of the sandbox, and the host resolves each one.
inline constexpr size_t kMaxPolicyPaths = 256;

const char* to_string(NetworkPolicy::Kind k);
const char* to_string(FileSystemPolicy::Kind k);

}  // namespace microvm
