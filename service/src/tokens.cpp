#include "service/tokens.hpp"

#include <sys/stat.h>

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

// Messages name the line, never the secret (the daemon's stderr may be collected elsewhere).
Expected<TokenSet> TokenSet::parse(const std::string& text, const std::string& where) {
    std::vector<std::pair<std::string, std::string>> tokens;
    std::map<std::string, int> id_line, secret_line;  // secret_line keyed by the secret's digest
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        const std::string at = where + ":" + std::to_string(n) + ": ";
        // The first ':' always separates ID:SECRET: a bare secret cannot contain one.
        const size_t colon = line.find(':');
        std::string id = colon == std::string::npos ? "token-" + std::to_string(n) : line.substr(0, colon);
        std::string secret = colon == std::string::npos ? line : line.substr(colon + 1);
        if (id.empty())
            return fail(Failure::Kind::InvalidConfig,
                        at + "the token id before ':' is empty (a line is ID:SECRET or a bare secret without ':')");
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
