// NetworkPolicy: parsing of the "--net" forms, canonical host entries and host matching.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "microvm/policy.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

constexpr const char* kNetForms =
    "accepted forms: deny, full, allow=HOST[,HOST...], block=HOST[,HOST...], where HOST is a "
    "name, an IPv4 address or [IPv6], optionally with :PORT, or a *.domain wildcard";

// A host entry split into its parts. host is lower case; IPv6 addresses are in canonical form
// without brackets.
struct HostEntry {
    std::string host;
    int port = 0;  // 0 = any port
    bool wildcard = false;
    bool ipv6 = false;
};

std::optional<std::string> canonical_ipv6(std::string_view text) {
    std::string s(text);
    in6_addr addr{};
    if (inet_pton(AF_INET6, s.c_str(), &addr) != 1) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, &addr, buf, sizeof buf)) return std::nullopt;
    return std::string(buf);
}

bool is_ipv4(std::string_view text) {
    std::string s(text);
    in_addr addr{};
    return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

Expected<int> parse_port(std::string_view entry, std::string_view text) {
    int port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    bool digits_only = !text.empty() && text.size() <= 5 &&
                       text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits_only || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
        port > 65535) {
        return fail(Failure::Kind::InvalidConfig, "host entry " + text::quoted(entry) +
                                                      " has a bad port " + text::quoted(text) +
                                                      " (ports are 1-65535)");
    }
    return port;
}

// Letters, digits, '-' and '_' in dot-separated labels of 1-63 characters.
bool is_host_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    for (std::string_view label : text::split(name, '.')) {
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
            if (!ok) return false;
        }
    }
    return true;
}

Expected<HostEntry> split_entry(std::string_view entry) {
    auto bad = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig,
                    "bad host entry " + text::quoted(entry) + ": " + std::move(why));
    };
    if (entry.empty()) return fail(Failure::Kind::InvalidConfig, "empty host entry");
    HostEntry out;
    std::string_view host = entry;
    if (entry.front() == '[') {
        size_t close = entry.find(']');
        if (close == std::string_view::npos) return bad("missing ']' after the IPv6 address");
        auto v6 = canonical_ipv6(entry.substr(1, close - 1));
        if (!v6) return bad("not an IPv6 address inside [ ]");
        out.host = *v6;
        out.ipv6 = true;
        std::string_view rest = entry.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return bad("unexpected text after ']'");
            RTFS_TRY(out.port, parse_port(entry, rest.substr(1)));
        }
        return out;
    }
    size_t colons = std::count(entry.begin(), entry.end(), ':');
    if (colons >= 2) {  // a bare IPv6 address; a port needs the [addr]:port form
        auto v6 = canonical_ipv6(entry);
        if (!v6) return bad("not an IPv6 address (write [ADDR]:PORT for an IPv6 address and port)");
        out.host = *v6;
        out.ipv6 = true;
        return out;
    }
    if (colons == 1) {
        size_t colon = entry.find(':');
        host = entry.substr(0, colon);
        RTFS_TRY(out.port, parse_port(entry, entry.substr(colon + 1)));
    }
    if (host.empty()) return bad("the host is empty");
    if (host.size() >= 2 && host.substr(0, 2) == "*.") {
        out.wildcard = true;
        host.remove_prefix(2);
    }
    if (host.find('*') != std::string_view::npos) {
        return bad("'*' is only allowed as a leading '*.' (use 'full' to allow every host)");
    }
    bool looks_numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
    if (looks_numeric) {
        if (out.wildcard || !is_ipv4(host)) return bad("not a valid IPv4 address or host name");
    } else if (!is_host_name(host)) {
        return bad(
            "not a valid host name (letters, digits, '-', '_' in dot-separated labels of 1-63 "
            "characters)");
    }
    out.host = text::lower(host);
    return out;
}

std::string render(const HostEntry& e) {
    std::string out;
    if (e.wildcard) out += "*.";
    out += e.ipv6 ? "[" + e.host + "]" : e.host;
    if (e.port != 0) out += ":" + std::to_string(e.port);
    return out;
}

// The host part of a permits() query in the form entries store it.
std::string normalize_query_host(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (auto v6 = canonical_ipv6(host)) return *v6;
    return text::lower(host);
}

bool host_matches(const HostEntry& e, const std::string& host) {
    if (!e.wildcard) return e.host == host;
    // "*.example.com" matches any subdomain, never the apex "example.com".
    return host.size() > e.host.size() + 1 && host.ends_with(e.host) &&
           host[host.size() - e.host.size() - 1] == '.';
}

// Does the entry cover (host, port)? When the port is unknown (0), a port-specific entry does
// not grant access (allow list) but does count as a block (deny list): unknown means strict.
bool entry_covers(const HostEntry& e, const std::string& host, int port, bool for_allow) {
    if (!host_matches(e, host)) return false;
    if (e.port == 0) return true;
    if (port == 0) return !for_allow;
    return e.port == port;
}

}  // namespace

Expected<std::string> parse_host_entry(std::string_view entry) {
    RTFS_TRY(HostEntry e, split_entry(entry));
    return render(e);
}

Expected<NetworkPolicy> NetworkPolicy::parse(std::string_view text) {
    std::string_view t = text::trim(text);
    auto bad = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig, "invalid network policy " + text::quoted(text) +
                                                      ": " + std::move(why) + "; " + kNetForms);
    };
    std::string lowered = text::lower(t);
    if (lowered == "deny" || lowered == "denied") return NetworkPolicy::denied();
    if (lowered == "full") return NetworkPolicy::full();
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
        if (lowered == "allow" || lowered == "block") return bad("the host list is missing");
        return bad("unknown form");
    }
    std::string mode = text::lower(text::trim(t.substr(0, eq)));
    NetworkPolicy policy;
    if (mode == "allow") {
        policy.kind = Kind::AllowList;
    } else if (mode == "block") {
        policy.kind = Kind::DenyList;
    } else {
        return bad("unknown form " + text::quoted(mode));
    }
    std::string_view list = text::trim(t.substr(eq + 1));
    if (list.empty()) return bad("the host list is empty");
    for (std::string_view raw : text::split(list, ',')) {
        std::string_view entry = text::trim(raw);
        if (entry.empty()) return bad("empty entry in the host list");
        auto host = parse_host_entry(entry);
        if (!host) return bad(host.error().message);
        policy.hosts.push_back(std::move(*host));
    }
    return policy;
}

std::string NetworkPolicy::to_string() const {
    switch (kind) {
        case Kind::Denied:
            return "deny";
        case Kind::Full:
            return "full";
        case Kind::AllowList:
            return "allow=" + text::join(hosts, ",");
        case Kind::DenyList:
            return "block=" + text::join(hosts, ",");
    }
    return "deny";
}

bool NetworkPolicy::permits(std::string_view host, int port) const {
    if (kind == Kind::Denied) return false;
    if (kind == Kind::Full) return true;
    const bool for_allow = kind == Kind::AllowList;
    const std::string query = normalize_query_host(host);
    for (const std::string& text : hosts) {
        auto entry = split_entry(text);
        if (!entry) continue;  // MicroVMConfig::validate() rejects such entries up front
        if (entry_covers(*entry, query, port, for_allow)) return for_allow;
    }
    return !for_allow;
}

const char* to_string(NetworkPolicy::Kind k) {
    switch (k) {
        case NetworkPolicy::Kind::Denied:
            return "denied";
        case NetworkPolicy::Kind::AllowList:
            return "allow_list";
        case NetworkPolicy::Kind::DenyList:
            return "deny_list";
        case NetworkPolicy::Kind::Full:
            return "full";
    }
    return "denied";
}

}  // namespace microvm
