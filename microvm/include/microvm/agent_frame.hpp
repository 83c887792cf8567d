// Framing of the guest agent protocol (docs/guest-protocol.md). Every message is one frame:
//
//   u32 length, big-endian (counts the type byte and the payload) | u8 type | payload
//
// Header-only, no exceptions, nothing but <string>: the wasm32-wasi guest (rtfs/wasm) compiles
// it as well as the host and the native agent. The decoder is incremental (feed bytes as they
// arrive, take frames out) and judges a frame by its header alone, so a hostile sender's huge
// or unknown frame is refused before any of its payload is buffered.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace microvm::agent {

// 2: Setup and Ready (VM set-up after a boot or a snapshot restore), Exec memory_max_bytes,
// Usage oom_killed.
inline constexpr uint32_t kProtocolVersion = 2;
inline constexpr size_t kHeaderBytes = 5;
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;  // type byte + payload
// Stdin and Output carry chunks; senders split larger writes.
inline constexpr uint32_t kMaxChunkBytes = 64u << 10;

enum class FrameType : uint8_t {
    Hello = 1,   // agent -> host, once: JSON {protocol, agent, kinds}
    Exec = 2,    // host -> agent: JSON, what to run
    Stdin = 3,   // host -> agent: raw bytes for the program's stdin; empty payload = EOF
    Output = 4,  // agent -> host: stream byte (1 stdout, 2 stderr) + raw bytes
    Exit = 5,    // agent -> host: JSON {exit_code} or {signal}; ends the run
    Usage = 6,   // agent -> host: JSON, CPU time and peak memory as the guest kernel saw them
    Result = 7,  // agent -> host: JSON, the RTFS result (RTFS runs only)
    Kill = 8,    // host -> agent: JSON {signal}; kills the running program's process group
    Error = 9,   // agent -> host: JSON {reason, message}; the Exec could not start; ends the run
    Setup = 10,  // host -> agent, at most once before the first Exec: JSON, clock, seed, shares
    Ready = 11,  // agent -> host: JSON, the Setup is done (or an Error frame if it failed)
};

enum class StreamId : uint8_t { Stdout = 1, Stderr = 2 };

inline const char* type_name(uint8_t type) {
    switch (type) {
        case 1: return "Hello";
        case 2: return "Exec";
        case 3: return "Stdin";
        case 4: return "Output";
        case 5: return "Exit";
        case 6: return "Usage";
        case 7: return "Result";
        case 8: return "Kill";
        case 9: return "Error";
        case 10: return "Setup";
        case 11: return "Ready";
        default: return nullptr;
    }
}

inline const char* type_name(FrameType type) { return type_name(static_cast<uint8_t>(type)); }

// The largest payload a frame of this type may carry.
inline uint32_t max_payload(FrameType type) {
    switch (type) {
        case FrameType::Stdin: return kMaxChunkBytes;
        case FrameType::Output: return kMaxChunkBytes + 1;
        case FrameType::Hello:
        case FrameType::Exit:
        case FrameType::Usage:
        case FrameType::Kill:
        case FrameType::Error:
        case FrameType::Setup:
        case FrameType::Ready: return 64u << 10;
        case FrameType::Exec:
        case FrameType::Result: break;
    }
    return kMaxFrameBytes - 1;
}

struct Frame {
    FrameType type = FrameType::Hello;
    std::string payload;
};

// One frame; the caller keeps payload within max_payload(type).
inline std::string encode_frame(FrameType type, std::string_view payload) {
    const auto n = static_cast<uint32_t>(payload.size() + 1);
    std::string out;
    out.reserve(kHeaderBytes + payload.size());
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xFF);
    out += static_cast<char>(type);
    out.append(payload);
    return out;
}

// Output frames for bytes of one stream, split into chunks.
inline std::string encode_output(StreamId stream, std::string_view bytes) {
    std::string out;
    do {
        std::string_view chunk = bytes.substr(0, kMaxChunkBytes);
        bytes.remove_prefix(chunk.size());
        std::string payload(1, static_cast<char>(stream));
        payload.append(chunk);
        out += encode_frame(FrameType::Output, payload);
    } while (!bytes.empty());
    return out;
}

class FrameDecoder {
  public:
    enum class Status { NeedMore, Ready, Malformed };

    void feed(std::string_view bytes) {
        compact();
        buffer_.append(bytes);
    }

    // The next complete frame into out (Ready), NeedMore, or Malformed (then error() says why;
    // a malformed stream stays malformed).
    Status next(Frame& out) {
        if (!error_.empty()) return Status::Malformed;
        const size_t avail = buffer_.size() - pos_;
        if (avail < 4) return Status::NeedMore;
        const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + pos_);
        const uint32_t length = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 |
                                uint32_t{p[2]} << 8 | uint32_t{p[3]};
        if (length == 0) return malformed("frame length 0 (a frame holds at least its type)");
        if (length > kMaxFrameBytes) {
            return malformed("frame of " + std::to_string(length) +
                             " bytes exceeds the limit of " + std::to_string(kMaxFrameBytes));
        }
        if (avail < kHeaderBytes) return Status::NeedMore;
        const uint8_t type = p[4];
        if (!type_name(type)) return malformed("unknown frame type " + std::to_string(type));
        if (!refused_[type].empty()) return malformed(refused_[type]);
        const uint32_t payload = length - 1;
        if (payload > max_payload(static_cast<FrameType>(type))) {
            return malformed(std::string(type_name(type)) + " frame of " +
                             std::to_string(payload) + " bytes exceeds its limit of " +
                             std::to_string(max_payload(static_cast<FrameType>(type))));
        }
        if (static_cast<FrameType>(type) == FrameType::Output && payload == 0) {
            return malformed("Output frame without a stream byte");
        }
        if (avail < kHeaderBytes + payload) return Status::NeedMore;
        if (static_cast<FrameType>(type) == FrameType::Output && p[kHeaderBytes] != 1 &&
            p[kHeaderBytes] != 2) {
            return malformed("Output frame for unknown stream " + std::to_string(p[kHeaderBytes]));
        }
        out.type = static_cast<FrameType>(type);
        out.payload.assign(buffer_, pos_ + kHeaderBytes, payload);
        pos_ += kHeaderBytes + payload;
        compact();
        return Status::Ready;
    }

    // Frames of this type are malformed from their header on, with why as the error (an empty
    // why accepts them again): a reader that would refuse one anyway does not wait for (and
    // hold) its payload first.
    void refuse(FrameType type, std::string why) { refused_[static_cast<uint8_t>(type)] = std::move(why); }

    const std::string& error() const { return error_; }
    // Bytes of a frame not yet complete (at end of stream: a truncated frame).
    size_t pending() const { return buffer_.size() - pos_; }
    // The memory the buffer holds: a large frame's is let go once it is decoded.
    size_t capacity() const { return buffer_.capacity(); }

  private:
    // Drops the decoded bytes once they are at least half the buffer (each byte is moved a
    // bounded number of times), and lets a large frame's storage go once what is left is small:
    // a 64 MiB Result's buffer is not kept for the session.
    void compact() {
        if (pos_ == 0 || pos_ * 2 < buffer_.size()) return;
        buffer_.erase(0, pos_);
        pos_ = 0;
        if (buffer_.capacity() > kKeptCapacity && buffer_.size() < kKeptCapacity / 2) {
            std::string(buffer_).swap(buffer_);
        }
    }

    Status malformed(std::string why) {
        error_ = std::move(why);
        return Status::Malformed;
    }

    static constexpr size_t kKeptCapacity = 1 << 20;
    std::string buffer_;
    size_t pos_ = 0;
    std::string error_;
    std::array<std::string, 12> refused_;  // by type (type_name() knows 1-11)
};

}  // namespace microvm::agent
