// The grammar of a token file, shared by microvmd (which loads every token) and the CLI (which
// sends the first): one token per line, `ID:SECRET` or a bare secret (its id is `token-LINE`);
// blank lines and `#` comments, indented or not, are skipped; a UTF-8 byte order mark is not
// part of the first line. One parser, so that the CLI never sends a secret the daemon read
// differently (an indented comment, a tab after the secret, a BOM).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm {

// Larger token files are refused, by the daemon and the CLI alike (16,000 tokens or so).
constexpr size_t kMaxTokenFileBytes = 1 << 20;

struct TokenLine {
    int line = 0;
    std::string id;
    std::string secret;
};

// Every token of the file, checked: ids of 1 to 64 of A-Z a-z 0-9 . _ @ -, unique; secrets of at
// least 16 characters without spaces, tabs or control characters (an HTTP header's value is
// trimmed by the server), unique. Errors are InvalidConfig, name `where` and the line, and never
// quote a secret.
Expected<std::vector<TokenLine>> parse_token_file(const std::string& text, const std::string& where);

}  // namespace microvm
