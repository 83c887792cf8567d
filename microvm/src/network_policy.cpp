// NetworkPolicy: parsing of the "--net" forms, canonical host entries and host matching.
// One matcher for every user: the RTFS http-fetch gate, the wasm provider and the egress proxy.
#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>

#include "microvm/policy.hpp"
#include "rtfs/ascii_text.hpp"
#include "text_util.hpp"
#include "microvm/decimal.hpp"

namespace microvm {
namespace {

constexpr const char* kNetForms =
    "accepted forms: deny, full, allow=HOST[,HOST...], block=HOST[,HOST...], where HOST is a "
    "name, a *.domain wildcard, an IPv4 address, [IPv6] or a CIDR range (10.0.0.0/8, "
    "[fd00::]/8), optionally with :PORT";

// An address or a CIDR range: 16 bytes (IPv4 in the first 4) and how many leading bits count.
struct IpRange {
    bool v6 = false;
    std::array<unsigned char, 16> bytes{};
    int prefix = 32;

    int width() const { return v6 ? 128 : 32; }
    bool contains(const IpRange& addr) const {
        if (addr.v6 != v6) return false;
        const int whole = prefix / 8;
        const int rest = prefix % 8;
        if (!std::equal(bytes.begin(), bytes.begin() + whole, addr.bytes.begin())) return false;
        if (rest == 0) return true;
        const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
        return (bytes[whole] & mask) == (addr.bytes[whole] & mask);
    }
    bool host_bits_clear() const {
        IpRange masked = *this;
        for (int bit = prefix; bit < width(); ++bit) {
            masked.bytes[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
        }
        return masked.bytes == bytes;
    }
    std::string text() const {
        char buf[INET6_ADDRSTRLEN] = {};
        inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
        return buf;
    }
};

// An IP literal (no brackets, no prefix). An IPv4-mapped IPv6 address is taken as the IPv4
// address it carries, so that "::ffff:10.0.0.1" and "10.0.0.1" are one address to every rule.
std::optional<IpRange> parse_ip(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    const std::string s(text);
    IpRange r;
    in_addr a4{};
    if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
        std::memcpy(r.bytes.data(), &a4, 4);
        return r;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        std::memcpy(r.bytes.data(), a6.s6_addr + 12, 4);
        return r;
    }
    r.v6 = true;
    r.prefix = 128;
    std::memcpy(r.bytes.data(), a6.s6_addr, 16);
    return r;
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// A Unicode name in its IDNA A-label form. UTS #46 non-transitional processing also folds case
// and normalises (NFC), so "BÜCHER.example" and "bücher.example" give one name.
std::optional<std::string> to_a_label(std::string_view name) {
    if (name.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string s(name);
    char* out = nullptr;
    if (idn2_to_ascii_8z(s.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
        return std::nullopt;
    }
    std::string result(out);
    idn2_free(out);
    return result;
}

// WHATWG URL parsers (and glibc's resolver) read a name whose last label is a number as an IPv4
// address in some numeric form ("127.1", "0x7f000001"): such text names an address the policy
// would judge as a name, so it is no name at all.
bool is_numeric_label(std::string_view label) {
    if (label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
        return label.substr(2).find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
    }
    return !label.empty() && label.find_first_not_of("0123456789") == std::string_view::npos;
}

// Letters, digits, '-' and '_' in dot-separated labels of 1-63 characters, the last not numeric.
bool is_host_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    const std::vector<std::string_view> labels = text::split(name, '.');
    for (std::string_view label : labels) {
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
            if (!ok) return false;
        }
    }
    return !is_numeric_label(labels.back());
}

// A name (its trailing dot already dropped) as entries and queries store it: Unicode turned into
// A-labels, lower case. nullopt when it is no valid name.
std::optional<std::string> canonical_name(std::string_view name) {
    std::string out;
    if (is_ascii(name)) {
        out = rtfs::lower_ascii(name);
    } else if (auto a_label = to_a_label(name)) {
        out = std::move(*a_label);
    } else {
        return std::nullopt;
    }
    if (!is_host_name(out)) return std::nullopt;
    return out;
}

// A host entry split into its parts.
struct HostEntry {
    std::string host;  // a canonical name, or the canonical text of an IP address / range base
    int port = 0;      // 0 = any port
    bool wildcard = false;
    std::optional<IpRange> ip;  // IP and CIDR entries
    bool cidr = false;          // written with a prefix length
};

Expected<int> parse_port(std::string_view entry, std::string_view text) {
    const std::optional<int> port = text.size() <= 5 ? parse_decimal<int>(text) : std::nullopt;
    if (!port || *port < 1 || *port > 65535) {
        return fail(Failure::Kind::InvalidConfig, "host entry " + text::quoted(entry) +
                                                      " has a bad port " + text::quoted(text) +
                                                      " (ports are 1-65535)");
    }
    return *port;
}

constexpr std::string_view kNotIpv4 = "not a valid IPv4 address or host name";

// Fills out.ip from "ADDR" or, when prefix is given, the range "ADDR/PREFIX"; want_v6 says which
// family the syntax promised, and not_that_family what to say when ADDR is not of it. Returns
// why it is bad, if it is.
std::optional<std::string> set_ip(HostEntry& out, std::string_view addr,
                                  std::optional<std::string_view> prefix, bool want_v6,
                                  std::string_view not_that_family) {
    auto ip = parse_ip(addr);
    // An IPv4-mapped address written in IPv6 syntax is fine: it stands for its IPv4 address.
    const bool written_v6 = addr.find(':') != std::string_view::npos;
    if (!ip || written_v6 != want_v6) {
        return std::string(not_that_family);
    }
    if (prefix) {
        const bool mapped = written_v6 && !ip->v6;
        const int max = mapped || ip->v6 ? 128 : 32;
        const std::optional<int> written = prefix->size() <= 3 ? parse_decimal<int>(*prefix) : std::nullopt;
        if (!written || *written > max) {
            return "bad prefix length " + text::quoted(*prefix) + " (0-" + std::to_string(max) +
                   ")";
        }
        int len = *written;
        if (mapped) {
            // ::ffff:a.b.c.d/len covers IPv4 addresses only when len >= 96.
            if (len < 96) return "a range of IPv4-mapped addresses needs a prefix of 96 or more";
            len -= 96;
        }
        ip->prefix = len;
        if (!ip->host_bits_clear()) {
            IpRange base = *ip;
            for (int bit = len; bit < base.width(); ++bit) {
                base.bytes[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
            }
            return "the range has host bits set (did you mean " + base.text() + "/" +
                   std::to_string(len) + "?)";
        }
        out.cidr = true;
    }
    out.host = ip->text();
    out.ip = ip;
    return std::nullopt;
}

Expected<HostEntry> split_entry(std::string_view entry) {
    auto bad = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig,
                    "bad host entry " + text::quoted(entry) + ": " + std::move(why));
    };
    if (entry.empty()) return fail(Failure::Kind::InvalidConfig, "empty host entry");
    HostEntry out;
    if (entry.front() == '[') {  // [V6], [V6/LEN] or [V6]/LEN, then maybe :PORT
        size_t close = entry.find(']');
        if (close == std::string_view::npos) return bad("missing ']' after the IPv6 address");
        std::string_view inside = entry.substr(1, close - 1);
        std::string_view rest = entry.substr(close + 1);
        std::optional<std::string_view> prefix;
        if (size_t slash = inside.find('/'); slash != std::string_view::npos) {
            prefix = inside.substr(slash + 1);
            inside = inside.substr(0, slash);
        } else if (!rest.empty() && rest.front() == '/') {
            size_t colon = rest.find(':');
            prefix = rest.substr(1, colon == std::string_view::npos ? colon : colon - 1);
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
        }
        if (auto why = set_ip(out, inside, prefix, true, "not an IPv6 address inside [ ]")) return bad(*why);
        if (!rest.empty()) {
            if (rest.front() != ':') return bad("unexpected text after ']'");
            RTFS_TRY(out.port, parse_port(entry, rest.substr(1)));
        }
        return out;
    }
    size_t colons = std::count(entry.begin(), entry.end(), ':');
    if (colons >= 2) {  // a bare IPv6 address or range; a port needs the [addr]:port form
        size_t slash = entry.find('/');
        std::optional<std::string_view> prefix;
        if (slash != std::string_view::npos) prefix = entry.substr(slash + 1);
        if (auto why = set_ip(out, entry.substr(0, slash), prefix, true,
                              "not an IPv6 address (write [ADDR]:PORT for an IPv6 address and port)")) {
            return bad(*why);
        }
        return out;
    }
    std::string_view host = entry;
    if (colons == 1) {
        size_t colon = entry.find(':');
        host = entry.substr(0, colon);
        RTFS_TRY(out.port, parse_port(entry, entry.substr(colon + 1)));
    }
    if (host.empty()) return bad("the host is empty");
    if (size_t slash = host.find('/'); slash != std::string_view::npos) {
        if (auto why = set_ip(out, host.substr(0, slash), host.substr(slash + 1), false, kNotIpv4)) {
            return bad(*why);
        }
        return out;
    }
    if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);  // the root is implicit
    if (host.size() >= 2 && host.substr(0, 2) == "*.") {
        out.wildcard = true;
        host.remove_prefix(2);
    }
    if (host.find('*') != std::string_view::npos) {
        return bad("'*' is only allowed as a leading '*.' (use 'full' to allow every host)");
    }
    bool looks_numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
    if (looks_numeric) {
        if (out.wildcard) return bad("not a valid IPv4 address or host name");
        if (auto why = set_ip(out, host, std::nullopt, false, kNotIpv4)) return bad(*why);
        return out;
    }
    auto name = canonical_name(host);
    if (!name) {
        if (!is_ascii(host)) return bad("not a valid internationalised domain name (IDNA)");
        return bad(
            "not a valid host name (letters, digits, '-', '_' in dot-separated labels of 1-63 "
            "characters, the last not a number)");
    }
    out.host = std::move(*name);
    return out;
}

std::string render(const HostEntry& e) {
    std::string out;
    if (e.wildcard) out += "*.";
    out += e.ip && e.ip->v6 ? "[" + e.host + "]" : e.host;
    if (e.cidr) out += "/" + std::to_string(e.ip->prefix);
    if (e.port != 0) out += ":" + std::to_string(e.port);
    return out;
}

bool name_matches(const HostEntry& e, const std::string& host) {
    if (!e.wildcard) return e.host == host;
    // "*.example.com" matches any subdomain, never the apex "example.com".
    return host.size() > e.host.size() + 1 && host.ends_with(e.host) &&
           host[host.size() - e.host.size() - 1] == '.';
}

// Is the port right for the entry? When the port is unknown (0), a port-specific entry does not
// grant access (allow list) but does count as a block (deny list): unknown means strict.
bool port_matches(const HostEntry& e, int port, bool for_allow) {
    if (e.port == 0) return true;
    if (port == 0) return !for_allow;
    return e.port == port;
}

// Does the entry cover the host (a name, or an address when ip is set)? Names match name
// entries, addresses IP and CIDR entries, never across.
bool entry_covers(const HostEntry& e, const CanonicalHost& host, const std::optional<IpRange>& ip,
                  int port, bool for_allow) {
    const bool matches = e.ip ? ip && e.ip->contains(*ip) : !ip && name_matches(e, host.text);
    return matches && port_matches(e, port, for_allow);
}

}  // namespace

Expected<std::string> parse_host_entry(std::string_view entry) {
    RTFS_TRY(HostEntry e, split_entry(entry));
    return render(e);
}

Expected<CanonicalHost> canonical_host(std::string_view host) {
    auto bad = [&] {
        return fail(Failure::Kind::InvalidInput,
                    "not a valid host name or IP address: " + text::quoted(host));
    };
    std::string_view h = host;
    const bool bracketed = h.size() >= 2 && h.front() == '[' && h.back() == ']';
    if (bracketed) h = h.substr(1, h.size() - 2);
    if (auto ip = parse_ip(h)) {
        if (bracketed && h.find(':') == std::string_view::npos) return bad();  // "[1.2.3.4]"
        return CanonicalHost{ip->v6 ? CanonicalHost::Kind::IPv6 : CanonicalHost::Kind::IPv4,
                             ip->text()};
    }
    if (bracketed) return bad();
    if (h.size() > 1 && h.back() == '.') {  // the root is implicit; "1.2.3.4." names the address
        h.remove_suffix(1);
        if (auto ip = parse_ip(h)) {
            if (ip->v6) return bad();
            return CanonicalHost{CanonicalHost::Kind::IPv4, ip->text()};
        }
    }
    auto name = canonical_name(h);
    if (!name) return bad();
    return CanonicalHost{CanonicalHost::Kind::Name, std::move(*name)};
}

Expected<NetworkPolicy> NetworkPolicy::parse(std::string_view text) {

    std::string_view t = rtfs::trim_ascii(text, text::kPolicySpace);
    auto bad = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig, "invalid network policy " + text::quoted(text) +
                                                      ": " + std::move(why) + "; " + kNetForms);
    };
    std::string lowered = rtfs::lower_ascii(t);
    if (lowered == "deny" || lowered == "denied") return NetworkPolicy::denied();
    if (lowered == "full") return NetworkPolicy::full();
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
        if (lowered == "allow" || lowered == "block") return bad("the host list is missing");
        return bad("unknown form");
    }
    std::string mode = rtfs::lower_ascii(rtfs::trim_ascii(t.substr(0, eq), text::kPolicySpace));
    NetworkPolicy policy;
    if (mode == "allow") {
        policy.kind = Kind::AllowList;
    } else if (mode == "block") {
        policy.kind = Kind::DenyList;
    } else {
        return bad("unknown form " + text::quoted(mode));
    }
    std::string_view list = rtfs::trim_ascii(t.substr(eq + 1), text::kPolicySpace);
    if (list.empty()) return bad("the host list is empty");
    for (std::string_view raw : text::split(list, ',')) {
        std::string_view entry = rtfs::trim_ascii(raw, text::kPolicySpace);
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

NetworkDecision NetworkPolicy::decide(std::string_view host, int port) const {
    if (kind == Kind::Denied) return {false, "network policy deny"};
    if (kind == Kind::Full) return {true, "network policy full"};
    auto query = canonical_host(host);
    if (!query) return {false, "not a valid host name or IP address"};
    const bool for_allow = kind == Kind::AllowList;
    std::optional<IpRange> ip;
    if (query->kind != CanonicalHost::Kind::Name) ip = parse_ip(query->text);
    for (const std::string& text : hosts) {
        auto entry = split_entry(text);
        if (!entry) continue;  // MicroVMConfig::validate() rejects such entries up front
        if (entry_covers(*entry, *query, ip, port, for_allow)) {
            return {for_allow, (for_allow ? "allow entry " : "block entry ") + text};
        }
    }
    if (!for_allow) return {true, "not in the block list"};
    if (ip) {
        return {false, "IP address not in the allow list (an IP literal passes only when "
                       "listed as an address or range)"};
    }
    return {false, "not in the allow list"};
}

std::optional<std::string> NetworkPolicy::address_entry(std::string_view ip_text, int port) const {
    if (kind != Kind::AllowList && kind != Kind::DenyList) return std::nullopt;
    auto ip = parse_ip(ip_text);
    if (!ip) return std::nullopt;
    for (const std::string& text : hosts) {
        auto entry = split_entry(text);
        if (entry && entry->ip && entry->ip->contains(*ip) &&
            port_matches(*entry, port, kind == Kind::AllowList)) {
            return text;
        }
    }
    return std::nullopt;
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
