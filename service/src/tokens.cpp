#include "service/tokens.hpp"

#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "microvm/trusted_path.hpp"
#include "service/digest.hpp"

namespace microvm::service {

Expected<TokenSet> TokenSet::load(const std::string& path) {
    RTFS_TRY(std::string real, trusted_real_path(path, "token file"));
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return fail(Failure::Kind::SetupError, "token file " + path + " is not a regular file");
    if (st.st_mode & 077)
        return fail(Failure::Kind::SetupError, "token file " + path + " is readable by group or others; chmod 600 it");
    std::ifstream in(real);
    if (!in) return fail(Failure::Kind::SetupError, "token file " + path + " cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), "token file " + path);
}

namespace {

// An id is the principal in logs, the audit and quotas: printable, no look-alikes that differ by
// spaces or invisible bytes.
bool valid_id(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (unsigned char c : id)
        if (!std::isalnum(c) && c != '.' && c != '_' && c != '@' && c != '-') return false;
    return true;
}

// A secret travels in an HTTP header, whose value the server trims: a space, tab or control
// character in it would load a token that never authenticates (or authenticates as another
// string than the one written).
bool valid_secret(const std::string& secret) {
    for (unsigned char c : secret)
        if (c <= 0x20 || c == 0x7f) return false;
    return true;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

// Messages name the line, never the secret (the daemon's stderr may be collected elsewhere).
Expected<TokenSet> TokenSet::parse(const std::string& text, const std::string& where) {
    std::vector<std::pair<std::string, std::string>> tokens;
    std::map<std::string, int> id_line, secret_line;  // secret_line keyed by the secret's digest
    // A UTF-8 byte order mark (some editors write one) is not part of the first id.
    std::istringstream in(text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        // Trimmed before the comment test: an indented comment is a comment, not a token.
        size_t b = 0, e = line.size();
        while (b < e && blank(line[b])) ++b;
        while (e > b && blank(line[e - 1])) --e;
        line = line.substr(b, e - b);
        if (line.empty() || line[0] == '#') continue;
        const std::string at = where + ":" + std::to_string(n) + ": ";
        // The first ':' always separates ID:SECRET: a bare secret cannot contain one.
        const size_t colon = line.find(':');
        std::string id = colon == std::string::npos ? "token-" + std::to_string(n) : line.substr(0, colon);
        std::string secret = colon == std::string::npos ? line : line.substr(colon + 1);
        if (id.empty())
            return fail(Failure::Kind::InvalidConfig,
                        at + "the token id before ':' is empty (a line is ID:SECRET or a bare secret without ':')");
        if (!valid_id(id))  // not echoed: it could be a secret with a ':' in it
            return fail(Failure::Kind::InvalidConfig,
                        at + "a token id has 1 to 64 of the characters A-Z a-z 0-9 . _ @ - (a line is ID:SECRET or "
                             "a bare secret without ':')");
        if (!valid_secret(secret))
            return fail(Failure::Kind::InvalidConfig,
                        at + "a token must not contain spaces, tabs or control characters");
        if (secret.size() < 16)
            return fail(Failure::Kind::InvalidConfig,
                        at + "a token must have at least 16 characters (the first ':' of a line separates ID:SECRET, "
                             "so a bare secret cannot contain ':')");
        // An id is the principal that owns sessions: two tokens with one id would share them.
        if (auto [it, fresh] = id_line.emplace(id, n); !fresh)
            return fail(Failure::Kind::InvalidConfig, at + "the token id '" + id + "' is already line " +
                                                          std::to_string(it->second) + "'s (ids must be unique)");
        // One secret under two ids would be reported as the first id only: refused as ambiguous.
        if (auto [it, fresh] = secret_line.emplace(sha256_hex(secret), n); !fresh)
            return fail(Failure::Kind::InvalidConfig, at + "the same secret as line " + std::to_string(it->second) +
                                                          " (secrets must be unique)");
        tokens.emplace_back(std::move(id), std::move(secret));
    }
    if (tokens.empty()) return fail(Failure::Kind::InvalidConfig, where + " holds no token");
    return of(std::move(tokens));
}

TokenSet TokenSet::of(std::vector<std::pair<std::string, std::string>> id_secret) {
    TokenSet t;
    t.tokens_ = std::move(id_secret);
    return t;
}

std::optional<std::string> TokenSet::check(const std::string& authorization) const {
    const std::string prefix = "Bearer ";
    if (!authorization.starts_with(prefix)) return std::nullopt;
    const std::string presented = authorization.substr(prefix.size());
    std::optional<std::string> match;
    for (const auto& [id, secret] : tokens_)  // every token, whatever matched: no early exit
        if (constant_time_equal(presented, secret) && !match) match = id;
    return match;
}

}  // namespace microvm::service
