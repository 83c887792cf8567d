#include "wat_to_binary.hpp"

#include <algorithm>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "big_stack_thread.hpp"
#include "engine_limits.hpp"
#include "wabt/binary-writer.h"
#include "wabt/error-formatter.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/wast-lexer.h"
#include "wabt/wast-parser.h"

namespace microvm::wasm {
namespace {

bool is_token_char(char c) {
    return c != '(' && c != ')' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '"' &&
           c != ';';
}

// Skips a string literal starting at text[i] == '"'; returns the index after it.
size_t skip_string(std::string_view text, size_t i) {
    for (++i; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;
        } else if (text[i] == '"') {
            return i + 1;
        }
    }
    return text.size();
}

// Skips a (possibly nested) block comment starting at text[i..] == "(;".
size_t skip_block_comment(std::string_view text, size_t i) {
    uint32_t depth = 0;
    while (i + 1 < text.size()) {
        if (text[i] == '(' && text[i + 1] == ';') {
            ++depth, i += 2;
        } else if (text[i] == ';' && text[i + 1] == ')') {
            i += 2;
            if (--depth == 0) return i;
        } else {
            ++i;
        }
    }
    return text.size();
}

struct Converted {
    std::vector<uint8_t> binary;
    std::string error;
};

// The whole parse/write sequence, including the destruction of the IR (also recursive),
// runs on the big-stack thread.
void convert(std::span<const uint8_t> text, Converted& out) {
    wabt::Errors errors;
    wabt::Features features;
    std::unique_ptr<wabt::WastLexer> lexer =
        wabt::WastLexer::CreateBufferLexer("module.wat", text.data(), text.size(), &errors);
    wabt::WastParseOptions parse_options(features);
    std::unique_ptr<wabt::Module> module;
    wabt::Result result = wabt::ParseWatModule(lexer.get(), &module, &errors, &parse_options);
    if (wabt::Succeeded(result)) {
        wabt::MemoryStream stream;
        wabt::WriteBinaryOptions write_options;
        write_options.features = features;
        result = wabt::WriteBinaryModule(&stream, module.get(), write_options);
        if (wabt::Succeeded(result)) out.binary = std::move(stream.output_buffer().data);
    }
    if (wabt::Failed(result)) {
        out.error = wabt::FormatErrorsToString(errors, wabt::Location::Type::Text);
        if (out.error.empty()) out.error = "the WAT text is not a valid module";
        while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
    }
}

}  // namespace

WatScan scan_wat(std::string_view text) {
    static constexpr std::string_view kKinds[] = {"func", "type", "import", "global", "export"};
    uint64_t declared[std::size(kKinds)] = {};
    WatScan scan;
    uint32_t depth = 0, deepest = 0;
    // Parentheses only (flat blocks left unclosed must not move it): a module's fields lie at 1,
    // or at 2 inside `(module`.
    uint32_t parens = 0, field_depth = 1;
    bool module_form_next = false;  // the word after `(module` (and its $id) names its form
    bool after_paren = false;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '"') {
            i = skip_string(text, i);
            after_paren = false;
            module_form_next = false;
            ++scan.tokens;
        } else if (c == ';' && i + 1 < text.size() && text[i + 1] == ';') {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (c == '(' && i + 1 < text.size() && text[i + 1] == ';') {
            i = skip_block_comment(text, i);
        } else if (c == '(') {
            deepest = std::max(deepest, ++depth);
            ++parens;
            after_paren = true;
            module_form_next = false;
            ++scan.tokens;
            ++i;
        } else if (c == ')') {
            if (depth > 0) --depth;
            if (parens > 0) --parens;
            after_paren = false;
            module_form_next = false;
            ++scan.tokens;
            ++i;
        } else if (is_token_char(c)) {
            size_t start = i;
            while (i < text.size() && is_token_char(text[i])) ++i;
            std::string_view word = text.substr(start, i - start);
            ++scan.tokens;
            if (module_form_next && !word.starts_with('$')) {
                // `(module binary "...")` and `(module quote "...")` hand wabt a module the scan
                // cannot see: a binary decoded into IR before the counting pass, or more text.
                if (word == "binary" || word == "quote") scan.embedded_module = true;
                module_form_next = false;
            }
            if (after_paren && word == "module") {  // any `(module`, wherever wabt might take one
                if (parens == 1 && scan.tokens == 2) field_depth = 2;
                module_form_next = true;
            } else if (after_paren && parens == field_depth) {
                for (size_t k = 0; k < std::size(kKinds); ++k) {
                    if (word == kKinds[k]) ++declared[k];
                }
            }
            // Flat (unfolded) block instructions nest without parentheses.
            if (!after_paren &&
                (word == "block" || word == "loop" || word == "if" || word == "try")) {
                deepest = std::max(deepest, ++depth);
            } else if (word == "end" && depth > 0) {
                --depth;
            }
            after_paren = false;
        } else {
            ++i;
        }
    }
    scan.nesting = deepest;
    for (size_t k = 0; k < std::size(kKinds); ++k) {
        if (declared[k] > scan.most_declarations) {
            scan.most_declarations = declared[k];
            scan.most_declared_kind = kKinds[k];
        }
    }
    return scan;
}

Expected<std::vector<uint8_t>> wat_to_binary(std::span<const uint8_t> text) {
    std::string_view view(reinterpret_cast<const char*>(text.data()), text.size());
    const WatScan scan = scan_wat(view);
    if (scan.tokens > limits::kMaxWatTokens) {
        return fail(Failure::Kind::InvalidInput,
                    "WAT module has " + std::to_string(scan.tokens) + " tokens; the engine accepts at most " +
                        std::to_string(limits::kMaxWatTokens) + " in text form (use the binary format for larger modules)");
    }
    if (scan.embedded_module) {
        return fail(Failure::Kind::InvalidInput,
                    "a WAT module in binary or quote form is refused: give the binary module itself");
    }
    if (scan.most_declarations > limits::kMaxModuleItems) {
        return fail(Failure::Kind::InvalidInput,
                    "WAT module declares " + std::to_string(scan.most_declarations) + " " +
                        std::string(scan.most_declared_kind) + "s; the engine accepts at most " +
                        std::to_string(limits::kMaxModuleItems));
    }
    const uint32_t nesting = scan.nesting;
    if (nesting > limits::kMaxWatNesting) {
        return fail(Failure::Kind::InvalidInput,
                    "WAT module nests " + std::to_string(nesting) +
                        " levels deep; the engine accepts at most " +
                        std::to_string(limits::kMaxWatNesting) +
                        " in text form (use the binary format for deeper code)");
    }
    Converted out;
    auto guarded = [&] {
        try {
            convert(text, out);
        } catch (const std::exception& e) {  // allocation failure inside wabt
            out.binary.clear();
            out.error = std::string("the WAT parser failed: ") + e.what();
        }
    };
    if (!run_with_big_stack(guarded)) {
        return fail(Failure::Kind::SetupError, "could not start the WAT parser thread");
    }
    if (!out.error.empty()) {
        return fail(Failure::Kind::InvalidInput, "invalid WAT module: " + out.error);
    }
    return std::move(out.binary);
}

}  // namespace microvm::wasm
