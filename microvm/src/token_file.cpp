#include "microvm/token_file.hpp"

#include <cctype>
#include <map>
#include <sstream>

namespace microvm {
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

Expected<std::vector<TokenLine>> parse_token_file(const std::string& text, const std::string& where) {
    std::vector<TokenLine> tokens;
    std::map<std::string, int> id_line, secret_line;
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
        if (auto [it, fresh] = secret_line.emplace(secret, n); !fresh)
            return fail(Failure::Kind::InvalidConfig, at + "the same secret as line " + std::to_string(it->second) +
                                                          " (secrets must be unique)");
        tokens.push_back({n, std::move(id), std::move(secret)});
    }
    if (tokens.empty()) return fail(Failure::Kind::InvalidConfig, where + " holds no token");
    return tokens;
}

}  // namespace microvm
