#include "http_reply_reader.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "rtfs/ascii_text.hpp"

namespace microvm::cli {
namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Decimal digits only, at most 18 of them (no sign, no blank, no overflow).
bool parse_decimal(std::string_view text, uint64_t& out) {
    if (text.empty() || text.size() > 18) return false;
    out = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

// A chunk's size: hex digits, at most 15 of them, then an optional ";extension".
bool parse_chunk_size(std::string_view line, uint64_t& out) {
    const std::string_view digits = rtfs::trim_ascii(line.substr(0, line.find(';')));
    if (digits.empty() || digits.size() > 15) return false;
    out = 0;
    for (char c : digits) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        out = out * 16 + static_cast<uint64_t>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                                                          : (c | 0x20) - 'a' + 10);
    }
    return true;
}

}  // namespace

HttpReplyReader::State HttpReplyReader::broken(std::string why) {
    if (state_ != State::Broken) problem_ = std::move(why);
    state_ = State::Broken;
    buffer_.clear();
    return state_;
}

bool HttpReplyReader::parse_head(std::string_view head) {
    // "HTTP/1.x NNN reason"
    const size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[11])) ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        broken("a reply without an HTTP/1 status line");
        return false;
    }
    status_ = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
    bool has_length = false, chunked = false;
    uint64_t length = 0;
    std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!rest.empty()) {
        const size_t end = rest.find("\r\n");
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            broken("a header line without a name");
            return false;
        }
        const std::string_view name = line.substr(0, colon), value = rtfs::trim_ascii(line.substr(colon + 1));
        if (same_name(name, "content-length")) {
            uint64_t n = 0;
            if (!parse_decimal(value, n) || (has_length && n != length)) {
                broken("a bad or second Content-Length");
                return false;
            }
            has_length = true;
            length = n;
        } else if (same_name(name, "transfer-encoding")) {
            if (!same_name(value, "chunked") || chunked) {
                broken("a Transfer-Encoding other than chunked");
                return false;
            }
            chunked = true;
        } else if (same_name(name, "retry-after")) {
            retry_after_ = std::string(value);
        }
    }
    if (has_length && chunked) {
        broken("both Content-Length and Transfer-Encoding");
        return false;
    }
    framing_ = status_ == 204 || status_ == 304 ? Framing::None
               : chunked                        ? Framing::Chunked
               : has_length                     ? Framing::Length
                                                : Framing::UntilClose;
    left_ = length;
    return true;
}

bool HttpReplyReader::deliver(std::string_view piece, const std::function<bool(std::string_view)>& on_body) {
    if (piece.empty() || on_body(piece)) return true;
    broken("stopped");
    return false;
}

bool HttpReplyReader::feed_body(std::string_view& bytes, const std::function<bool(std::string_view)>& on_body) {
    switch (framing_) {
        case Framing::None:
            state_ = State::Done;
            return false;
        case Framing::UntilClose:
            if (!deliver(bytes, on_body)) return false;
            bytes = {};
            return true;
        case Framing::Length: {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, bytes.size()));
            if (!deliver(bytes.substr(0, n), on_body)) return false;
            bytes.remove_prefix(n);
            left_ -= n;
            if (left_ == 0) {
                state_ = State::Done;
                return false;
            }
            return true;
        }
        case Framing::Chunked:
            break;
    }
    while (!bytes.empty()) {
        if (chunk_ == ChunkStep::Data) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, bytes.size()));
            if (!deliver(bytes.substr(0, n), on_body)) return false;
            bytes.remove_prefix(n);
            left_ -= n;
            if (left_ == 0) chunk_ = ChunkStep::DataEnd;
            continue;
        }
        // A line: a chunk's size, the CRLF after its data, or a trailer.
        const size_t nl = bytes.find('\n');
        buffer_.append(bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl + 1));
        bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
        if (buffer_.size() > kMaxChunkLine) {
            broken("a chunk's size line of more than " + std::to_string(kMaxChunkLine) + " bytes");
            return false;
        }
        if (nl == std::string_view::npos) return true;  // the line is not whole yet
        if (buffer_.size() < 2 || buffer_[buffer_.size() - 2] != '\r') {
            broken("a chunk's line not ended by CRLF");
            return false;
        }
        const std::string line = buffer_.substr(0, buffer_.size() - 2);
        buffer_.clear();
        if (chunk_ == ChunkStep::DataEnd) {
            if (!line.empty()) {
                broken("a chunk longer than its size");
                return false;
            }
            chunk_ = ChunkStep::Size;
        } else if (chunk_ == ChunkStep::Size) {
            if (!parse_chunk_size(line, left_)) {
                broken("a bad chunk size");
                return false;
            }
            chunk_ = left_ == 0 ? ChunkStep::Trailer : ChunkStep::Data;
        } else if (line.empty()) {  // the end of the trailers
            state_ = State::Done;
            return false;
        }
    }
    return true;
}

HttpReplyReader::State HttpReplyReader::feed(std::string_view bytes,
                                             const std::function<bool(std::string_view)>& on_body) {
    std::string after_head;  // what followed a head in the buffer, still to be read
    while (!bytes.empty() && (state_ == State::Head || state_ == State::Body)) {
        if (state_ == State::Body) {
            if (!feed_body(bytes, on_body)) break;
            continue;
        }
        // The head ends at the first empty line; look from a little before the new bytes.
        const size_t from = buffer_.size() < 3 ? 0 : buffer_.size() - 3;
        buffer_.append(bytes);
        bytes = {};
        const size_t end = buffer_.find("\r\n\r\n", from);
        if (end == std::string::npos) {
            if (buffer_.size() > kMaxHeadBytes) return broken("a head of more than 64 KiB");
            break;
        }
        const std::string head = buffer_.substr(0, end);
        std::string rest = buffer_.substr(end + 4);
        buffer_.clear();
        after_head.swap(rest);
        bytes = after_head;
        if (head.size() > kMaxHeadBytes) return broken("a head of more than 64 KiB");
        if (!parse_head(head)) break;
        if (status_ >= 100 && status_ < 200) {  // an interim reply: the real one follows
            if (++interim_ > kMaxInterimReplies) return broken("more than 16 interim replies");
            continue;
        }
        state_ = State::Body;
        if (framing_ == Framing::None || (framing_ == Framing::Length && left_ == 0)) state_ = State::Done;
    }
    return state_;
}

HttpReplyReader::State HttpReplyReader::end() {
    if (state_ == State::Body && framing_ == Framing::UntilClose) {
        state_ = State::Done;
        return state_;
    }
    if (state_ == State::Head || state_ == State::Body) return broken("the connection ended before the reply did");
    return state_;
}

}  // namespace microvm::cli
