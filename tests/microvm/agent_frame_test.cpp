// The guest agent protocol's framing and messages: round trips, and every malformed input a
// hostile guest could send as a clear error found from the header alone (never a wait for bytes
// that a bad header announced).
#include <gtest/gtest.h>

#include "microvm/agent_frame.hpp"
#include "microvm/guest_protocol.hpp"

namespace microvm::agent {
namespace {

using Status = FrameDecoder::Status;

std::string header(uint32_t length, uint8_t type) {
    std::string h;
    for (int shift = 24; shift >= 0; shift -= 8) h += static_cast<char>((length >> shift) & 0xFF);
    h += static_cast<char>(type);
    return h;
}

// The decoder's error for bytes, which must be malformed.
std::string malformed(std::string_view bytes) {
    FrameDecoder d;
    d.feed(bytes);
    Frame f;
    EXPECT_EQ(d.next(f), Status::Malformed) << "accepted " << bytes.size() << " bytes";
    return d.error();
}

TEST(AgentFrame, RoundTripFedOneByteAtATime) {
    std::string stream = encode_frame(FrameType::Hello, R"({"protocol":1})") +
                         encode_output(StreamId::Stderr, "err\n") +
                         encode_frame(FrameType::Stdin, "") +
                         encode_frame(FrameType::Exit, R"({"exit_code":3})");
    FrameDecoder d;
    std::vector<Frame> frames;
    for (char c : stream) {
        d.feed(std::string_view(&c, 1));
        Frame f;
        while (d.next(f) == Status::Ready) frames.push_back(f);
    }
    ASSERT_EQ(frames.size(), 4u);
    EXPECT_EQ(frames[0].type, FrameType::Hello);
    EXPECT_EQ(frames[1].type, FrameType::Output);
    EXPECT_EQ(frames[1].payload, std::string("\x02") + "err\n");
    EXPECT_EQ(frames[2].type, FrameType::Stdin);
    EXPECT_EQ(frames[2].payload, "");
    EXPECT_EQ(frames[3].payload, R"({"exit_code":3})");
    EXPECT_EQ(d.pending(), 0u);
}

TEST(AgentFrame, LargeOutputIsSplitIntoChunks) {
    std::string big(kMaxChunkBytes * 2 + 10, 'x');
    std::string bytes = encode_output(StreamId::Stdout, big);
    FrameDecoder d;
    d.feed(bytes);
    Frame f;
    std::string joined;
    int frames = 0;
    while (d.next(f) == Status::Ready) {
        ASSERT_EQ(f.payload[0], '\x01');
        joined += f.payload.substr(1);
        ++frames;
    }
    EXPECT_EQ(frames, 3);
    EXPECT_EQ(joined, big);
}

TEST(AgentFrame, BadHeadersAreRefusedFromTheHeaderAlone) {
    EXPECT_NE(malformed(header(0, 1).substr(0, 4)).find("length 0"), std::string::npos);
    // A 4 GiB announcement: refused on its 4 length bytes, nothing more is awaited.
    EXPECT_NE(malformed(std::string("\xff\xff\xff\xff", 4)).find("exceeds the limit"),
              std::string::npos);
    EXPECT_NE(malformed(header(kMaxFrameBytes + 1, 7).substr(0, 4)).find("exceeds"),
              std::string::npos);
    EXPECT_NE(malformed(header(10, 0)).find("unknown frame type 0"), std::string::npos);
    EXPECT_NE(malformed(header(10, 200)).find("unknown frame type 200"), std::string::npos);
    EXPECT_NE(malformed(header(kMaxChunkBytes + 3, 4)).find("Output frame of"),
              std::string::npos);
    EXPECT_NE(malformed(header(kMaxChunkBytes + 2, 3)).find("Stdin frame"), std::string::npos);
    EXPECT_NE(malformed(header(1 << 20, 5)).find("Exit frame"), std::string::npos);
    EXPECT_NE(malformed(header(1, 4)).find("without a stream byte"), std::string::npos);
    EXPECT_NE(malformed(header(3, 4) + "\x03xy").find("unknown stream 3"), std::string::npos);
}

TEST(AgentFrame, TruncatedFrameWaitsAndShowsAsPending) {
    std::string f = encode_frame(FrameType::Result, "{\"ok\":true}");
    FrameDecoder d;
    d.feed(f.substr(0, f.size() - 2));
    Frame out;
    EXPECT_EQ(d.next(out), Status::NeedMore);
    EXPECT_EQ(d.pending(), f.size() - 2);  // at end of stream: a truncated frame
    d.feed(f.substr(f.size() - 2));
    EXPECT_EQ(d.next(out), Status::Ready);
    EXPECT_EQ(d.pending(), 0u);
}

TEST(AgentFrame, MalformedIsSticky) {
    FrameDecoder d;
    d.feed(header(0, 1));
    Frame f;
    EXPECT_EQ(d.next(f), Status::Malformed);
    d.feed(encode_frame(FrameType::Hello, "{}"));
    EXPECT_EQ(d.next(f), Status::Malformed);
}

// A hostile guest's 64 MiB Result would otherwise stay in the decoder for the session: its
// buffer is let go once decoded, alone or with the next frame's start in the same read.
TEST(AgentFrame, ALargeFramesBufferIsLetGoOnceDecoded) {
    const std::string big = encode_frame(FrameType::Result, std::string(8u << 20, 'x'));
    const std::string exit = encode_frame(FrameType::Exit, R"({"exit_code":0})");
    for (const size_t carried : {size_t{0}, size_t{3}, exit.size() - 1}) {
        FrameDecoder d;
        const std::string stream = big + exit.substr(0, carried);
        for (size_t at = 0; at < stream.size(); at += 64u << 10) d.feed(std::string_view(stream).substr(at, 64u << 10));
        Frame f;
        ASSERT_EQ(d.next(f), Status::Ready);
        EXPECT_EQ(f.payload.size(), 8u << 20);
        EXPECT_LE(d.capacity(), 1u << 20) << "carried " << carried;
        EXPECT_EQ(d.next(f), Status::NeedMore);
        d.feed(std::string_view(exit).substr(carried));
        ASSERT_EQ(d.next(f), Status::Ready) << "carried " << carried;
        EXPECT_EQ(f.type, FrameType::Exit);
        EXPECT_EQ(f.payload, R"({"exit_code":0})");
        EXPECT_LE(d.capacity(), 1u << 20);
    }
}

}  // namespace
}  // namespace microvm::agent

namespace microvm::guest {
namespace {

// A pool's warm-up Exec says so (and only it: the key is absent otherwise), for both forms.
TEST(AgentMessages, WarmupRoundTripsAndIsAbsentOtherwise) {
    Exec program;
    program.kind = Exec::Kind::Program;
    program.argv = {"/bin/true"};
    EXPECT_EQ(encode_exec(program).find("warmup"), std::string::npos);
    program.warmup = true;
    auto p = decode_exec(encode_exec(program));
    ASSERT_TRUE(p.has_value()) << p.error().message;
    EXPECT_TRUE(p->warmup);
    Exec rtfs;
    rtfs.job.source = "(+ 1 1)";
    rtfs.warmup = true;
    auto r = decode_exec(encode_exec(rtfs));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(r->warmup);
    EXPECT_FALSE(decode_exec(R"({"kind":"program","argv":["/bin/true"],"warmup":1})").has_value());
}

TEST(AgentMessages, ExecRoundTripsEveryKind) {
    Exec program;
    program.kind = Exec::Kind::Program;
    program.argv = {"/bin/echo", "a b", ""};
    program.env = {"PATH=/bin", "X=1"};
    program.cwd = "/tmp";
    program.stdin_frames = true;
    auto p = decode_exec(encode_exec(program));
    ASSERT_TRUE(p.has_value()) << p.error().message;
    EXPECT_EQ(p->kind, Exec::Kind::Program);
    EXPECT_EQ(p->argv, program.argv);
    EXPECT_EQ(p->env, program.env);
    EXPECT_EQ(p->cwd, "/tmp");
    EXPECT_TRUE(p->stdin_frames);

    Exec script;
    script.kind = Exec::Kind::Script;
    script.language = "python3";
    script.source = "print(1)";
    script.args = {"x"};
    auto s = decode_exec(encode_exec(script));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->language, "python3");
    EXPECT_EQ(s->source, "print(1)");
    EXPECT_EQ(s->args, script.args);
    EXPECT_FALSE(s->stdin_frames);

    Exec rtfs;
    rtfs.job.source = "(+ 1 2)";
    rtfs.job.timeout_ms = 5;
    auto r = read_exec_frame(exec_frame(rtfs.job));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->kind, Exec::Kind::Rtfs);
    EXPECT_EQ(r->job.source, "(+ 1 2)");
    EXPECT_EQ(r->job.timeout_ms, 5u);
}

TEST(AgentMessages, OtherMessagesRoundTrip) {
    auto hello = decode_hello(encode_hello({agent::kProtocolVersion, "microvm-guest", {"rtfs", "program"}}));
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->kinds.size(), 2u);
    auto exited = decode_exit(encode_exit({3, {}}));
    ASSERT_TRUE(exited.has_value());
    EXPECT_EQ(exited->exit_code, 3);
    EXPECT_FALSE(exited->signal);
    auto killed = decode_exit(encode_exit({{}, 9}));
    ASSERT_TRUE(killed.has_value());
    EXPECT_EQ(killed->signal, 9);
    EXPECT_FALSE(killed->exit_code);
    auto usage = decode_usage(encode_usage({1, 2, 3 << 20, 4}));
    ASSERT_TRUE(usage.has_value());
    EXPECT_EQ(usage->peak_memory_bytes, 3u << 20);
    auto kill = decode_kill(encode_kill({15}));
    ASSERT_TRUE(kill.has_value());
    EXPECT_EQ(kill->signal, 15);
    EXPECT_EQ(decode_kill("")->signal, 9);
    auto error = decode_agent_error(encode_agent_error({Reason::ProgramNotFound, "no /x"}));
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->reason, Reason::ProgramNotFound);
    EXPECT_EQ(error->message, "no /x");
}

TEST(AgentMessages, MalformedPayloadsAreErrors) {
    for (auto text : {"", "{", "[]", "null", "\xff\xfe"}) {
        EXPECT_FALSE(decode_hello(text).has_value()) << text;
        EXPECT_FALSE(decode_exec(text).has_value()) << text;
        EXPECT_FALSE(decode_exit(text).has_value()) << text;
        EXPECT_FALSE(decode_usage(text).has_value()) << text;
        EXPECT_FALSE(decode_agent_error(text).has_value()) << text;
    }
    EXPECT_NE(decode_hello(R"({"protocol":1})").error().message.find("protocol 1"),
              std::string::npos);
    EXPECT_FALSE(decode_exec(R"({"kind":"shell"})").has_value());
    EXPECT_FALSE(decode_exec(R"({"kind":"program","argv":[]})").has_value());
    EXPECT_FALSE(decode_exec(R"({"kind":"program","argv":["/bin/x"],"cwd":"tmp"})").has_value());
    EXPECT_FALSE(decode_exec(R"({"kind":"program","argv":["/bin/x"],"env":[1]})").has_value());
    EXPECT_FALSE(decode_exec(R"({"kind":"rtfs"})").has_value());
    EXPECT_FALSE(decode_exec(R"({"kind":"rtfs","job":{"source":5}})").has_value());
    EXPECT_FALSE(decode_exit(R"({})").has_value());
    EXPECT_FALSE(decode_exit(R"({"exit_code":0,"signal":9})").has_value());
    EXPECT_FALSE(decode_exit(R"({"exit_code":256})").has_value());
    EXPECT_FALSE(decode_exit(R"({"signal":0})").has_value());
    EXPECT_FALSE(decode_exit(R"({"signal":"KILL"})").has_value());
    EXPECT_FALSE(decode_usage(R"({"cpu_user_us":-1})").has_value());
    EXPECT_FALSE(decode_kill(R"({"signal":99})").has_value());
    EXPECT_FALSE(decode_agent_error(R"({"reason":"timeout","message":"x"})").has_value());
    EXPECT_FALSE(decode_agent_error(R"({"reason":"program_not_found","message":1})").has_value());
}

}  // namespace
}  // namespace microvm::guest
