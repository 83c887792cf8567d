// The reply to one HTTP/1.1 request, read from its bytes as they arrive: the status line, the
// headers the CLI needs (Content-Length, Transfer-Encoding, Retry-After) and the body, framed by
// a length, by chunks (a streamed execution), or by the end of the connection. What microvmd
// sends; anything else is a broken reply, never a crash, an unbounded buffer or a wait for
// bytes that cannot come. Used by the CLI's client of microvmd's Unix socket
// (daemon_unix_client.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace microvm::cli {

class HttpReplyReader {
  public:
    enum class State { Head, Body, Done, Broken };

    // The most a head (status line and headers) or a chunk's size line may take.
    static constexpr size_t kMaxHeadBytes = 64 * 1024;
    static constexpr size_t kMaxChunkLine = 4096;
    // Interim (1xx) replies before the reply: microvmd sends none; more is a broken daemon's.
    static constexpr int kMaxInterimReplies = 16;

    // Bytes as they arrive; the body's bytes go to on_body, which returns false to stop the
    // reading (the reply is then Broken, with problem() "stopped"). Returns the state after them.
    State feed(std::string_view bytes, const std::function<bool(std::string_view)>& on_body);
    // The connection ended: Done for a body that runs to the end of the connection, Broken
    // for any reply not complete by then.
    State end();

    State state() const { return state_; }
    long status() const { return status_; }
    const std::string& retry_after() const { return retry_after_; }
    const std::string& problem() const { return problem_; }

  private:
    enum class Framing { Length, Chunked, UntilClose, None };
    enum class ChunkStep { Size, Data, DataEnd, Trailer };

    State broken(std::string why);
    bool parse_head(std::string_view head);
    // Consumes what it can of bytes in the body; false once Broken or Done.
    bool feed_body(std::string_view& bytes, const std::function<bool(std::string_view)>& on_body);
    bool deliver(std::string_view piece, const std::function<bool(std::string_view)>& on_body);

    State state_ = State::Head;
    std::string buffer_;  // a head, or a chunk's size line or trailer line, not yet whole
    long status_ = 0;
    std::string retry_after_;
    std::string problem_;
    Framing framing_ = Framing::UntilClose;
    uint64_t left_ = 0;  // of the body (Length) or of the chunk (Chunked)
    ChunkStep chunk_ = ChunkStep::Size;
    int interim_ = 0;
};

}  // namespace microvm::cli
