#include "wat_to_binary.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "big_stack_thread.hpp"
#include "engine_limits.hpp"
#include "wabt/binary-writer.h"
#include "wabt/error-formatter.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"
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

// The whole parse/validate/write sequence, including the destruction of the IR (also recursive),
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
        result = wabt::ValidateModule(module.get(), &errors, wabt::ValidateOptions(features));
    }
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

uint32_t wat_nesting_estimate(std::string_view text) {
    uint32_t depth = 0, deepest = 0;
    bool after_paren = false;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '"') {
            i = skip_string(text, i);
            after_paren = false;
        } else if (c == ';' && i + 1 < text.size() && text[i + 1] == ';') {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (c == '(' && i + 1 < text.size() && text[i + 1] == ';') {
            i = skip_block_comment(text, i);
        } else if (c == '(') {
            deepest = std::max(deepest, ++depth);
            after_paren = true;
            ++i;
        } else if (c == ')') {
            if (depth > 0) --depth;
            after_paren = false;
            ++i;
        } else if (is_token_char(c)) {
            size_t start = i;
            while (i < text.size() && is_token_char(text[i])) ++i;
            std::string_view word = text.substr(start, i - start);
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
    return deepest;
}

Expected<std::vector<uint8_t>> wat_to_binary(std::span<const uint8_t> text) {
    std::string_view view(reinterpret_cast<const char*>(text.data()), text.size());
    uint32_t nesting = wat_nesting_estimate(view);
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
