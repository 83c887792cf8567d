#include "service/tokens.hpp"

#include "microvm/private_file.hpp"
#include "microvm/token_file.hpp"
#include "microvm/trusted_path.hpp"
#include "service/digest.hpp"

namespace microvm::service {

Expected<TokenSet> TokenSet::load(const std::string& path) {
    RTFS_TRY(const std::string real, trusted_real_path(path, "token file"));
    RTFS_TRY(const std::string text, read_private_file(real, "token file " + path, kMaxTokenFileBytes));
    return parse(text, "token file " + path);
}

// Messages name the line, never the secret (the daemon's stderr may be collected elsewhere).
Expected<TokenSet> TokenSet::parse(const std::string& text, const std::string& where) {
    RTFS_TRY(std::vector<TokenLine> lines, parse_token_file(text, where));
    std::vector<std::pair<std::string, std::string>> tokens;
    for (TokenLine& t : lines) tokens.emplace_back(std::move(t.id), std::move(t.secret));
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
