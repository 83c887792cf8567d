// `microvm --daemon` against a daemon that is broken or hostile: a fake server on a Unix socket
// answers each request with canned bytes. The client reads what a real result can be (its
// output caps allow megabytes), holds no more than its caps, and ends with a clear error and
// exit 125, never a hang or a crash.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "host/remove_tree.hpp"
#include "host/unique_fd.hpp"
#include "support/run_command.hpp"

using namespace svctest;
using testsupport::CommandResult;

namespace {

CommandResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), MICROVM_BINARY);
    return testsupport::run_command(args);
}

// Serves `reply` (raw HTTP bytes) to every connection after reading its request; with
// read_body false, after its head only, and then holds the connection without reading or closing.
class FakeDaemon {
  public:
    explicit FakeDaemon(std::string reply, bool read_body = true) : reply_(std::move(reply)), read_body_(read_body) {
        dir_ = make_temp_dir();
        path_ = dir_ + "/fake.sock";
        listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_.get(), 4) != 0) {
            throw std::runtime_error("fake daemon: cannot listen on " + path_);
        }
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeDaemon() {
        stop_ = true;
        ::shutdown(listener_.get(), SHUT_RDWR);
        thread_.join();
        microvm::host::remove_tree(dir_);
    }
    std::string address() const { return "unix:" + path_; }

  private:
    void serve() {
        while (!stop_) {
            microvm::host::UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!c.valid()) return;
            read_request(c.get(), read_body_);
            size_t at = 0;
            while (at < reply_.size()) {
                ssize_t n = ::send(c.get(), reply_.data() + at, reply_.size() - at, MSG_NOSIGNAL);
                if (n <= 0) break;  // the client hung up (it went over a cap)
                at += static_cast<size_t>(n);
            }
            while (!read_body_ && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    static void read_request(int fd, bool read_body) {
        std::string got;
        char buf[4096];
        size_t need = std::string::npos;
        while (need == std::string::npos || got.size() < need) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) return;
            got.append(buf, static_cast<size_t>(n));
            size_t end = got.find("\r\n\r\n");
            if (!read_body && end != std::string::npos) return;
            if (need == std::string::npos && end != std::string::npos) {
                size_t cl = got.find("Content-Length: ");
                need = end + 4 + (cl == std::string::npos ? 0 : std::stoul(got.substr(cl + 16)));
            }
        }
    }

    std::string dir_, path_, reply_;
    bool read_body_ = true;
    microvm::host::UniqueFd listener_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::string http(const std::string& status_line, const std::string& type, const std::string& body) {
    return "HTTP/1.1 " + status_line + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// A result document as the daemon sends it: the local CLI's own --json of the same eval.
nlohmann::json local_result() {
    CommandResult local = cli({"eval", "--json", "-p", "mock", "(+ 1 2)"});
    return nlohmann::json::parse(local.out);
}

}  // namespace

// A program's output may be megabytes (the caps are the policy's): the result of `--json`
// through the daemon is read whole, not cut at the error replies' 1 MiB.
TEST(CliHostileDaemon, ALargeResultIsReadWhole) {
    nlohmann::json doc = local_result();
    doc["stdout"] = std::string(3 << 20, 'a');
    FakeDaemon daemon(http("200 OK", "application/json", doc.dump()));
    CommandResult r = cli({"--daemon", daemon.address(), "eval", "--json", "-p", "mock", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0) << r.err.substr(0, 500);
    auto printed = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(printed.is_discarded()) << r.out.substr(0, 200);
    EXPECT_EQ(printed["stdout"].get<std::string>().size(), size_t{3} << 20);
}

// A daemon that answers before it has read the request (a refusal of a large one) and then
// neither reads nor closes: the client stops sending and reads the answer; it waited in send
// until Ctrl-C (red team, 2026-12-08).
TEST(CliHostileDaemon, AnAnswerBeforeTheRequestIsReadEndsTheSending) {
    FakeDaemon daemon(http("413 Payload Too Large", "application/json",
                           R"({"error":{"code":"payload_too_large","message":"the body is over its limit"}})"),
                      /*read_body=*/false);
    const testsupport::TempFile source("[" + std::string(4 << 20, '1') + "]");
    CommandResult r = testsupport::run_command(
        {"/usr/bin/timeout", "30", MICROVM_BINARY, "--daemon", daemon.address(), "eval", "-p", "mock", "-f", source.path()});
    EXPECT_NE(r.status, 124) << "the client hung in its send";
    EXPECT_NE(r.err.find("the body is over its limit"), std::string::npos) << r.err.substr(0, 500);
}

TEST(CliHostileDaemon, AnErrorReplyOverItsCapIsCutOff) {
    FakeDaemon daemon(http("500 Internal Server Error", "application/json",
                           R"({"error":{"code":"x","message":")" + std::string(2 << 20, 'x') + "\"}}"));
    CommandResult r = cli({"--daemon", daemon.address(), "eval", "-p", "mock", "1"});
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.err.find("sent a reply of more than 1 MiB"), std::string::npos) << r.err.substr(0, 500);
    EXPECT_LT(r.err.size(), size_t{4096});
}

// Garbage lines and events of unknown kinds are skipped; output events are passed through; a
// stream that ends without a result is an error, not a success.
TEST(CliHostileDaemon, AStreamWithoutAResultIsAnError) {
    const std::string events = "not json at all\n[1,2,3]\n{\"event\":42}\n"
                               "{\"event\":\"stdout\",\"data\":\"partial\\n\"}\n"
                               "{\"event\":\"stdout\",\"data\":7}\n{\"event\":\"stderr\",\"data\":\"warn\\n\"}\n";
    FakeDaemon daemon(http("200 OK", "application/x-ndjson", events));
    CommandResult r = cli({"--daemon", daemon.address(), "eval", "-p", "mock", "1"});
    EXPECT_EQ(r.status, 125);
    EXPECT_EQ(r.out, "partial\n");
    EXPECT_NE(r.err.find("warn\n"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ended without a result"), std::string::npos) << r.err;
}

// A stream the daemon cut past the deadline (the reader fell behind): the rest of the output is
// printed from the result, which holds the whole of it, once (docs/service.md).
TEST(CliHostileDaemon, AStreamCutShortIsCompletedFromTheResult) {
    nlohmann::json doc = local_result();
    doc["stdout"] = "abcdef\n";
    doc["stderr"] = "warn\n";
    const std::string events = "{\"event\":\"stdout\",\"data\":\"abc\"}\n{\"event\":\"stream_cut\",\"bytes\":99}\n"
                               "{\"event\":\"result\",\"result\":" + doc.dump() + "}\n";
    FakeDaemon daemon(http("200 OK", "application/x-ndjson", events));
    CommandResult r = cli({"--daemon", daemon.address(), "eval", "-p", "mock", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("abcdef\n", 0), 0u) << r.out;
    EXPECT_EQ(r.out.find("abcabc"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("warn\n"), std::string::npos) << r.err;
}

TEST(CliHostileDaemon, AnAnswerThatIsNotAResultIsAnError) {
    for (const std::string& body : {std::string("<html>hello</html>"), std::string(R"({"status":17})"),
                                   std::string(R"({"status":"ok","exit_code":"zero"})")}) {
        FakeDaemon daemon(http("200 OK", "application/json", body));
        CommandResult r = cli({"--daemon", daemon.address(), "eval", "--json", "-p", "mock", "1"});
        EXPECT_EQ(r.status, 125) << body;
        auto printed = nlohmann::json::parse(r.out, nullptr, false);
        ASSERT_FALSE(printed.is_discarded()) << body << ": " << r.out;
        EXPECT_EQ(printed["status"], "unavailable") << body;
    }
}

// A daemon that closes in the middle of its answer.
TEST(CliHostileDaemon, AnAnswerCutShortIsAnError) {
    FakeDaemon daemon("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"sta");
    CommandResult r = cli({"--daemon", daemon.address(), "eval", "--json", "-p", "mock", "1"});
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.out.find("ended before its answer"), std::string::npos) << r.out;
}
