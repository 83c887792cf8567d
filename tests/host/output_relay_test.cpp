// The relay between the thread that captures a run's output and its reader (microvmd's client,
// the CLI's stdout): a bounded queue, a wait for room only until the run's deadline, every line
// written in order and to its stream.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "host/output_relay.hpp"

namespace {

// A reader that takes nothing until released, then everything, in order.
struct HeldReader {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    std::vector<std::string> written;
    microvm::host::OutputRelay::Write write() {
        return [this](microvm::OutputStream, const std::string& line) {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return released; });
            written.push_back(line);
            return true;
        };
    }
    void release() {
        {
            std::lock_guard lock(mu);
            released = true;
        }
        cv.notify_all();
    }
};

// The relay holds at most kRelayBytes (with each entry's overhead): one byte per line grew the
// daemon by 357 MB in 30 s behind a slow client (red team, 2026-12-04). Full, push() waits for
// the client, but never past the run's deadline, after which it queues without waiting; every
// line is written, in order. The lines alternate between the streams, so none is appended to
// another's entry while there is room.
TEST(OutputRelay, HoldsABoundedQueueAndWaitsForRoomOnlyUntilTheDeadline) {
    using microvm::host::OutputRelay;
    HeldReader reader;
    const auto start = OutputRelay::Clock::now();
    OutputRelay relay(reader.write(), start + std::chrono::milliseconds(600));
    const std::string line(100, 'x');
    const size_t fits = microvm::host::kRelayBytes / (line.size() + microvm::host::kRelayLineOverhead);
    // As many as fit (the last one starts below the bound), and the one the writer holds.
    auto stream_of = [](size_t i) { return i % 2 ? microvm::OutputStream::Stderr : microvm::OutputStream::Stdout; };
    for (size_t i = 0; i < fits + 2; ++i) relay.push(line, stream_of(i));
    EXPECT_LT(OutputRelay::Clock::now() - start, std::chrono::milliseconds(400)) << "waited with room";
    relay.push("over", stream_of(fits + 2));  // full: waits for the deadline
    EXPECT_GE(OutputRelay::Clock::now() - start, std::chrono::milliseconds(550)) << "the queue grew past its bound";
    const auto after = OutputRelay::Clock::now();
    relay.push("late", stream_of(fits + 3));  // past the deadline: never waits
    EXPECT_LT(OutputRelay::Clock::now() - after, std::chrono::milliseconds(100));
    reader.release();
    EXPECT_TRUE(relay.finish());
    // Over the bound, each late line joined the last entry of its stream.
    ASSERT_EQ(reader.written.size(), fits + 2);
    EXPECT_EQ(reader.written[fits], line + "over");
    EXPECT_EQ(reader.written[fits + 1], line + "late");
}

// A client that does not take what is left gets until the drain time, then nothing more.
TEST(OutputRelay, AClientThatDoesNotReadIsGivenUpAtTheDrainTime) {
    using microvm::host::OutputRelay;
    std::atomic<int> writes{0};
    OutputRelay relay([&](microvm::OutputStream, const std::string&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return ++writes > 0;
    }, OutputRelay::Clock::now());
    for (int i = 0; i < 50; ++i) relay.push("line", i % 2 ? microvm::OutputStream::Stderr : microvm::OutputStream::Stdout);
    const auto start = OutputRelay::Clock::now();
    EXPECT_FALSE(relay.finish(start + std::chrono::milliseconds(500)));
    EXPECT_LT(OutputRelay::Clock::now() - start, std::chrono::milliseconds(1500));
    EXPECT_LT(writes.load(), 10);
}

// Each line goes to the stream it was pushed for, in the order pushed across streams.
TEST(OutputRelay, EachLineGoesToItsStreamInOrder) {
    using microvm::OutputStream;
    std::vector<std::pair<OutputStream, std::string>> written;
    {
        microvm::host::OutputRelay relay([&](OutputStream stream, const std::string& line) {
            written.emplace_back(stream, line);
            return true;
        }, microvm::host::OutputRelay::Clock::now());
        relay.push("a", OutputStream::Stdout);
        relay.push("b", OutputStream::Stderr);
        relay.push("c");
        EXPECT_TRUE(relay.finish());
    }
    const std::vector<std::pair<OutputStream, std::string>> expected = {
        {OutputStream::Stdout, "a"}, {OutputStream::Stderr, "b"}, {OutputStream::Stdout, "c"}};
    EXPECT_EQ(written, expected);
}

// Past the deadline the queue has no bound of its own but the output caps: a line pushed for the
// stream of the last entry is appended to it (up to kRelayEntryBytes), so 200,000 one-byte lines
// cost their bytes and a few entries, not 200,000 entries of 64 bytes' overhead each (the CLI's
// deadline comes before the program's by a sandbox's start; red team, 2026-12-05).
TEST(OutputRelay, LinesOfOneStreamShareAnEntry) {
    using microvm::host::OutputRelay;
    HeldReader reader;
    OutputRelay relay(reader.write(), OutputRelay::Clock::now());
    std::string all;
    for (int i = 0; i < 200000; ++i) {
        const std::string one(1, static_cast<char>('a' + i % 26));
        all += one;
        relay.push(one);
    }
    reader.release();
    EXPECT_TRUE(relay.finish());
    EXPECT_LE(reader.written.size(), 200000 / microvm::host::kRelayEntryBytes + 2);
    std::string joined;
    for (const auto& w : reader.written) joined += w;
    EXPECT_EQ(joined == all, true) << "what was written differs from what was pushed";
}

// The same when the lines alternate between the streams: over the bound a line joins the last
// entry of its own stream across one of the other. A guest writing one byte at a time to each in
// turn had made an entry per byte, 50 times the output caps (red team, 2026-12-06). Each stream
// keeps its own order.
TEST(OutputRelay, AlternatingStreamsPastTheDeadlineShareEntriesToo) {
    using microvm::OutputStream;
    using microvm::host::OutputRelay;
    HeldReader reader;
    std::vector<OutputStream> streams;
    auto held = reader.write();
    OutputRelay relay([&](OutputStream stream, const std::string& line) {
        const bool ok = held(stream, line);
        streams.push_back(stream);
        return ok;
    }, OutputRelay::Clock::now());
    std::string pushed[2];
    for (int i = 0; i < 200000; ++i) {
        const std::string one(1, static_cast<char>('a' + i % 26));
        const int s = i % 2;
        pushed[s] += one;
        relay.push(one, s == 0 ? OutputStream::Stdout : OutputStream::Stderr);
    }
    reader.release();
    EXPECT_TRUE(relay.finish());
    // Entries of one byte until the queue is full (each counted with its overhead), then few.
    EXPECT_LT(reader.written.size(), microvm::host::kRelayBytes / microvm::host::kRelayLineOverhead + 100);
    std::string got[2];
    for (size_t i = 0; i < reader.written.size(); ++i) got[streams[i] == OutputStream::Stdout ? 0 : 1] += reader.written[i];
    EXPECT_EQ(got[0] == pushed[0], true) << "stdout differs from what was pushed";
    EXPECT_EQ(got[1] == pushed[1], true) << "stderr differs from what was pushed";
}

// A late limit (microvmd's: its lines are JSON events ~37 times the byte they carry): past the
// deadline the first line that would take the queue beyond it cuts the stream, and every line
// after it is dropped and counted too (no holes: a reader sees an end), until the run has ended;
// what comes after (the result) is queued whatever its size.
TEST(OutputRelay, PastTheDeadlineTheLateLimitHoldsUntilTheRunHasEnded) {
    using microvm::host::OutputRelay;
    HeldReader reader;
    OutputRelay relay(reader.write(), OutputRelay::Clock::now(), {}, 64 << 10);
    const std::string line(100, 'x');
    for (int i = 0; i < 1000; ++i) relay.push(line, i % 2 ? microvm::OutputStream::Stderr : microvm::OutputStream::Stdout);
    relay.push("y");  // would fit now, but the stream is cut
    const size_t dropped = relay.dropped_bytes();
    EXPECT_GT(dropped, 100'000u - (64u << 10));
    relay.run_ended();
    const std::string result(200 << 10, 'r');
    relay.push(result);
    reader.release();
    EXPECT_TRUE(relay.finish());
    EXPECT_EQ(relay.dropped_bytes(), dropped);
    size_t total = 0;
    for (const auto& w : reader.written) total += w.size();
    EXPECT_EQ(total, 100'000u + 1 - dropped + result.size());
    std::string stream;
    for (size_t i = 0; i + 1 < reader.written.size(); ++i) stream += reader.written[i];
    EXPECT_EQ(stream.find('y'), std::string::npos) << "a line after the cut was sent";
    ASSERT_FALSE(reader.written.empty());
    EXPECT_EQ(reader.written.back().size() >= result.size(), true);
}

}  // namespace
