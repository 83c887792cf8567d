// Bearer tokens for TCP clients, from a token file: one token per line, `ID:SECRET` or a bare
// SECRET (its id is then "token-N", N its line). The first ':' of a line always separates the id
// from the secret, so a bare secret cannot contain ':'. Lines are trimmed of spaces and tabs (an
// indented '#' line is a comment) and a leading UTF-8 BOM is dropped. An id has 1 to 64 of
// [A-Za-z0-9._@-]; a secret has at least 16 characters, none of them whitespace or control
// characters (an HTTP server trims a header value: such a token would never authenticate). Bad
// ids or secrets, ids given twice and secrets given twice are refused at load, naming the line
// (never the secret). The file must be trusted where it lies (trusted_path.hpp) and readable by
// its owner only. A presented token is compared with each secret as SHA-256 digests in constant
// time, every token checked; only the id reaches logs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::service {

class TokenSet {
  public:
    static Expected<TokenSet> load(const std::string& path);
    // The file's text; `where` names it in errors ("token file PATH").
    static Expected<TokenSet> parse(const std::string& text, const std::string& where);
    static TokenSet of(std::vector<std::pair<std::string, std::string>> id_secret);
    // The id of the token an `Authorization: Bearer ...` header value carries, if it is one.
    std::optional<std::string> check(const std::string& authorization) const;
    bool empty() const { return tokens_.empty(); }

  private:
    std::vector<std::pair<std::string, std::string>> tokens_;  // id, secret
};

}  // namespace microvm::service
