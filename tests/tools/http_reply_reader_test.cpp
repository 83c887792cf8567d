// tools/microvm/http_reply_reader.hpp: the CLI's reader of microvmd's replies over its Unix
// socket. Every framing microvmd uses, split at every byte; and every malformed reply a broken
// or hostile daemon could send ends as Broken, bounded, without waiting for more.
#include "http_reply_reader.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using microvm::cli::HttpReplyReader;
using State = HttpReplyReader::State;

namespace {

struct Read {
    State state;
    long status;
    std::string body;
    std::string retry_after;
    std::string problem;
};

// reply fed in pieces of `step` bytes, then (unless it is already over) the connection's end.
Read read_reply(const std::string& reply, size_t step, bool close = true) {
    HttpReplyReader reader;
    std::string body;
    for (size_t i = 0; i < reply.size() && reader.state() != State::Done && reader.state() != State::Broken; i += step) {
        reader.feed(std::string_view(reply).substr(i, step), [&](std::string_view piece) {
            body.append(piece);
            return true;
        });
    }
    if (close) reader.end();
    return {reader.state(), reader.status(), body, reader.retry_after(), reader.problem()};
}

TEST(HttpReplyReader, ALengthFramedReplyIsReadWhateverPiecesItArrivesIn) {
    const std::string reply = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                              "retry-after:  3 \r\nContent-Length: 13\r\n\r\n{\"error\":\"x\"}";
    for (size_t step = 1; step <= reply.size(); ++step) {
        const Read r = read_reply(reply, step, /*close=*/false);  // done without the connection's end
        ASSERT_EQ(r.state, State::Done) << step << ": " << r.problem;
        EXPECT_EQ(r.status, 429);
        EXPECT_EQ(r.body, "{\"error\":\"x\"}");
        EXPECT_EQ(r.retry_after, "3");
    }
}

TEST(HttpReplyReader, AChunkedReplyIsReadWhateverPiecesItArrivesIn) {
    const std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                              "5\r\nhello\r\n1;ext=1\r\n,\r\nA\r\n world 123\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (size_t step = 1; step <= reply.size(); ++step) {
        const Read r = read_reply(reply, step, /*close=*/false);
        ASSERT_EQ(r.state, State::Done) << step << ": " << r.problem;
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "hello, world 123");
    }
}

TEST(HttpReplyReader, ABodyWithoutLengthEndsWithTheConnectionAndAnInterimReplyIsPassedOver) {
    const std::string reply = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nX: y\r\n\r\nall of it";
    for (size_t step = 1; step <= reply.size(); ++step) {
        EXPECT_EQ(read_reply(reply, step, false).state, State::Body) << step;
        const Read r = read_reply(reply, step, true);
        ASSERT_EQ(r.state, State::Done) << step << ": " << r.problem;
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "all of it");
    }
    const Read empty = read_reply("HTTP/1.1 204 No Content\r\n\r\n", 1, false);
    EXPECT_EQ(empty.state, State::Done);
    EXPECT_EQ(empty.status, 204);
}

TEST(HttpReplyReader, AMalformedOrUnfinishedReplyIsBroken) {
    const std::string head = "HTTP/1.1 200 OK\r\n";
    const std::vector<std::string> replies = {
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        head + "no colon\r\n\r\n",
        head + "Content-Length: -1\r\n\r\n",
        head + "Content-Length: 99999999999999999999\r\n\r\n",
        head + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        head + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        head + "Transfer-Encoding: gzip\r\n\r\n",
        head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        head + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        head + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        head + "Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n",
        head + "Transfer-Encoding: chunked\r\n\r\n" + std::string(5000, '1'),
        head + "Transfer-Encoding: chunked\r\n\r\n5\r\nab",          // ended inside a chunk
        head + "Transfer-Encoding: chunked\r\n\r\n0\r\n",            // ended inside the trailers
        head + "Content-Length: 10\r\n\r\nshort",                     // ended inside the body
        "HTTP/1.1 200 OK\r\nX: " + std::string(70 * 1024, 'x'),      // a head without end
        "",                                                           // nothing at all
        [] {  // interim replies without end
            std::string r;
            for (int i = 0; i < 17; ++i) r += "HTTP/1.1 100 Continue\r\n\r\n";
            return r + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        }(),
    };
    for (const std::string& reply : replies) {
        for (size_t step : {size_t{1}, size_t{7}, reply.size() + 1}) {
            const Read r = read_reply(reply, step);
            EXPECT_EQ(r.state, State::Broken) << reply.substr(0, 80) << " in pieces of " << step;
            EXPECT_FALSE(r.problem.empty());
        }
    }
}

TEST(HttpReplyReader, TheReaderStopsWhenTheBodysTakerDoes) {
    HttpReplyReader reader;
    size_t taken = 0;
    reader.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", [&](std::string_view piece) {
        taken += piece.size();
        return false;
    });
    EXPECT_EQ(reader.state(), State::Broken);
    EXPECT_EQ(reader.problem(), "stopped");
    EXPECT_EQ(taken, 10u);
    EXPECT_EQ(reader.feed("more", [](std::string_view) { return true; }), State::Broken);
}

// Replies mutated at random (bytes flipped, cut, repeated): whatever arrives, the reader ends
// Done or Broken at the connection's end and never holds more than its bounds.
TEST(HttpReplyReader, MutatedRepliesEndDoneOrBroken) {
    const std::string seeds[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nrest"};
    std::mt19937 random(20261207);
    for (int i = 0; i < 20000; ++i) {
        std::string reply = seeds[i % 3];
        for (int edits = 1 + static_cast<int>(random() % 4); edits > 0; --edits) {
            const size_t at = random() % reply.size();
            switch (random() % 3) {
                case 0: reply[at] = static_cast<char>(random()); break;
                case 1: reply.resize(at + 1); break;
                default: reply.insert(at, reply.substr(at, random() % 16)); break;
            }
        }
        HttpReplyReader reader;
        size_t body = 0;
        for (size_t j = 0; j < reply.size(); j += 1 + random() % 8) {
            reader.feed(std::string_view(reply).substr(j, 1 + random() % 8), [&](std::string_view piece) {
                body += piece.size();
                return true;
            });
        }
        const State end = reader.end();
        ASSERT_TRUE(end == State::Done || end == State::Broken) << reply;
        ASSERT_LE(body, reply.size()) << reply;
    }
}

}  // namespace
