#include "service/tokens.hpp"

#include <sys/stat.h>

#include <fstream>
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
    std::vector<std::pair<std::string, std::string>> tokens;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        size_t colon = line.find(':');
        std::string id = colon == std::string::npos ? "token-" + std::to_string(n) : line.substr(0, colon);
        std::string secret = colon == std::string::npos ? line : line.substr(colon + 1);
        if (secret.size() < 16)
            return fail(Failure::Kind::InvalidConfig,
                        "token file " + path + ":" + std::to_string(n) + ": a token must have at least 16 characters");
        tokens.emplace_back(id, secret);
    }
    if (tokens.empty()) return fail(Failure::Kind::InvalidConfig, "token file " + path + " holds no token");
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
