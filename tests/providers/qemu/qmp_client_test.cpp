// The QMP client against a hostile QEMU (a compromised QEMU is the guest's): a fake QMP server on
// a socketpair, in a thread, answers with silence, garbage, endless lines, wrong types, deeply
// nested values, event floods, errors and a close mid-reply. Every case ends in a clear
// SetupError (or the right value) within its deadline, and nothing throws or crashes.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "qemu/qmp_client.hpp"
#include "qemu/snapshot.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using microvm::Failure;
using microvm::qemu::QmpClient;

constexpr const char* kGreeting = R"({"QMP": {"version": {}, "capabilities": []}})" "\n";

// Writes everything (the client may have gone: then it stops quietly).
bool send_text(int fd, const std::string& text) {
    size_t at = 0;
    while (at < text.size()) {
        ssize_t n = ::send(fd, text.data() + at, text.size() - at, MSG_NOSIGNAL);
        if (n <= 0) return false;
        at += static_cast<size_t>(n);
    }
    return true;
}

// One line the client sent ("" when it closed), with a descriptor it passed along, if any.
std::string read_line(int fd, int* passed = nullptr) {
    std::string line;
    char c;
    for (;;) {
        iovec iov{&c, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(fd, &msg, 0) != 1) return {};
        if (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm && cm->cmsg_type == SCM_RIGHTS && passed) {
            std::memcpy(passed, CMSG_DATA(cm), sizeof(int));
        }
        if (c == '\n') return line;
        line += c;
    }
}

// Blocks until the client closes its end (the server keeps the socket open meanwhile).
void wait_for_close(int fd) {
    char buf[256];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

// Greets and accepts qmp_capabilities, as QEMU does.
void negotiate(int fd) {
    send_text(fd, kGreeting);
    read_line(fd);
    send_text(fd, "{\"return\": {}}\n");
}

// A fake QEMU: `serve` runs in a thread on the server end of a socketpair.
class FakeQemu {
  public:
    explicit FakeQemu(std::function<void(int)> serve) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
        client_ = microvm::host::UniqueFd(sv[0]);
        server_ = sv[1];
        thread_ = std::thread([this, serve = std::move(serve)] { serve(server_); });
    }
    ~FakeQemu() {
        ::shutdown(server_, SHUT_RDWR);  // unblocks a server still waiting
        thread_.join();
        ::close(server_);
    }
    microvm::host::UniqueFd take_client() { return std::move(client_); }

  private:
    microvm::host::UniqueFd client_;
    int server_ = -1;
    std::thread thread_;
};

// Opens a client against the fake, then (if that worked) runs one command.
struct Outcome {
    microvm::Expected<nlohmann::json> value = nlohmann::json();
    Clock::duration took{};
};

Outcome open_and_run(FakeQemu& qemu, Clock::duration budget, const std::string& command = "query-status") {
    const auto t0 = Clock::now();
    const auto deadline = t0 + budget;
    Outcome o;
    auto c = QmpClient::open(qemu.take_client(), deadline);
    if (!c) {
        o.value = rtfs::unexpected(c.error());
    } else {
        o.value = c->execute(command, nlohmann::json::object(), deadline);
    }
    o.took = Clock::now() - t0;
    return o;
}

void expect_failure(const Outcome& o, const std::string& words) {
    ASSERT_FALSE(o.value) << "succeeded with " << o.value->dump();
    EXPECT_EQ(o.value.error().kind, Failure::Kind::SetupError);
    EXPECT_NE(o.value.error().message.find(words), std::string::npos) << o.value.error().message;
}

TEST(QemuQmpClient, AnswersAfterNegotiation) {
    int passed = -1;
    FakeQemu qemu([&](int fd) {
        negotiate(fd);
        std::string cmd = read_line(fd, &passed);
        EXPECT_NE(cmd.find("\"getfd\""), std::string::npos) << cmd;
        EXPECT_NE(cmd.find("\"fdname\":\"template\""), std::string::npos) << cmd;
        send_text(fd, "{\"return\": {}}\n");
        wait_for_close(fd);
    });
    const auto deadline = Clock::now() + 5s;
    auto c = QmpClient::open(qemu.take_client(), deadline);
    ASSERT_TRUE(c) << c.error().message;
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    auto r = c->execute("getfd", {{"fdname", "template"}}, deadline, pipe_fds[0]);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, nlohmann::json::object());
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    EXPECT_GE(passed, 0) << "the descriptor did not travel with the command";
    if (passed >= 0) ::close(passed);
}

TEST(QemuQmpClient, NoGreetingRunsIntoTheDeadline) {
    FakeQemu qemu([](int fd) { wait_for_close(fd); });
    auto o = open_and_run(qemu, 300ms);
    expect_failure(o, "no reply in time");
    EXPECT_GE(o.took, 300ms);
    EXPECT_LT(o.took, 3s);  // the deadline, plus room for a loaded machine
}

TEST(QemuQmpClient, GarbageGreetingIsRefused) {
    for (const char* garbage : {"SSH-2.0-OpenSSH\n", "[1, 2, 3]\n", "{\"return\": {}}\n", "\"QMP\"\n",
                                      "{\"QMP\": 1\n", "\n"}) {
        FakeQemu qemu([&](int fd) {
            send_text(fd, garbage);
            wait_for_close(fd);
        });
        auto o = open_and_run(qemu, 5s);
        ASSERT_FALSE(o.value) << garbage;
        EXPECT_EQ(o.value.error().kind, Failure::Kind::SetupError);
        EXPECT_LT(o.took, 3s) << garbage << ": " << o.value.error().message;
    }
}

// A line that never ends is refused once it passes the cap, not buffered until the deadline.
TEST(QemuQmpClient, EndlessLineIsRefusedAtTheSizeCap) {
    std::atomic<size_t> sent{0};
    FakeQemu qemu([&](int fd) {
        std::string chunk(64 << 10, 'x');
        send_text(fd, "{\"QMP\": \"");
        while (sent < (8u << 20) && send_text(fd, chunk)) sent += chunk.size();
        wait_for_close(fd);
    });
    auto o = open_and_run(qemu, 20s);
    expect_failure(o, "reply too large");
    EXPECT_LT(o.took, 10s);
    EXPECT_LT(sent.load(), 8u << 20) << "the client read everything the server sent";
}

// A reply nested deeper than any QEMU reply: copying or printing it recursively would overflow
// the host's stack (nlohmann::json copies and dumps recursively).
TEST(QemuQmpClient, DeeplyNestedRepliesAreRefused) {
    const std::string deep = std::string(400'000, '[') + std::string(400'000, ']');
    for (const std::string& reply : {"{\"return\": " + deep + "}\n",
                                    "{\"error\": " + deep + "}\n",
                                    "{\"error\": {\"class\": \"GenericError\", \"desc\": " + deep + "}}\n",
                                    // closing brackets first do not buy depth for the opening ones
                                    "{\"return\": 1}" + std::string(300'000, ']') + std::string(300'000, '[') + "\n"}) {
        FakeQemu qemu([&](int fd) {
            negotiate(fd);
            read_line(fd);
            send_text(fd, reply);
            wait_for_close(fd);
        });
        auto o = open_and_run(qemu, 5s);
        expect_failure(o, "nested too deeply");
    }
    // Nesting as deep as QEMU's own replies is fine.
    FakeQemu qemu([&](int fd) {
        negotiate(fd);
        read_line(fd);
        send_text(fd, "{\"return\": {\"a\": [{\"b\": [[1, {\"c\": \"[{\"}]]}]}}\n");
        wait_for_close(fd);
    });
    auto o = open_and_run(qemu, 5s);
    ASSERT_TRUE(o.value) << o.value.error().message;
    EXPECT_EQ((*o.value)["a"][0]["b"][0][1]["c"], "[{");
}

// Members of the wrong type never throw (nlohmann's value() and get<> would).
TEST(QemuQmpClient, WrongTypesNeverThrow) {
    struct Case {
        std::string reply;
        bool ok;
        std::string words;  // of the error
    };
    const Case cases[] = {
        {"{\"return\": \"a string\"}\n", true, ""},
        {"{\"return\": null}\n", true, ""},
        {"{\"error\": \"a string\"}\n", false, "query-status: "},
        {"{\"error\": 42}\n", false, "query-status: "},
        {"{\"error\": {\"desc\": 42, \"class\": []}}\n", false, "query-status: "},
        {"{\"error\": {\"desc\": \"boom\", \"class\": 7}}\n", false, "boom"},
        {"{\"retour\": {}}\n", false, "reply without return"},
        {"{\"event\": 5, \"timestamp\": \"x\"}\n{\"return\": 1}\n", true, ""},
    };
    for (const Case& c : cases) {
        FakeQemu qemu([&](int fd) {
            negotiate(fd);
            read_line(fd);
            send_text(fd, c.reply);
            wait_for_close(fd);
        });
        Outcome o;
        EXPECT_NO_THROW(o = open_and_run(qemu, 5s)) << c.reply;
        EXPECT_EQ(static_cast<bool>(o.value), c.ok) << c.reply;
        if (!c.ok && !o.value) {
            EXPECT_NE(o.value.error().message.find(c.words), std::string::npos) << o.value.error().message;
        }
    }
    // string_member on anything at all.
    for (const char* text : {"null", "1", "\"s\"", "[]", "{\"status\": 1}", "{\"status\": null}", "{\"status\": \"ok\"}"}) {
        auto j = nlohmann::json::parse(text);
        EXPECT_NO_THROW((void)microvm::qemu::string_member(j, "status")) << text;
    }
    EXPECT_EQ(microvm::qemu::string_member(nlohmann::json::parse("{\"status\": 1}"), "status"), "");
    EXPECT_EQ(microvm::qemu::string_member(nlohmann::json::parse("{\"status\": \"ok\"}"), "status"), "ok");
}

// The template migration's status poll against wrong types: a status of the wrong type is no
// status (polled until the deadline), a failure's description of the wrong type is none.
TEST(QemuQmpClient, MigrationStatusOfTheWrongTypeIsNoStatus) {
    auto migrate_with = [](const std::string& status_reply, Clock::duration budget) -> microvm::Expected<void> {
        FakeQemu qemu([&](int fd) {
            negotiate(fd);
            for (;;) {
                std::string cmd = read_line(fd);
                if (cmd.empty()) return;
                send_text(fd, cmd.find("query-migrate") != std::string::npos ? status_reply : "{\"return\": {}}\n");
            }
        });
        const auto deadline = Clock::now() + budget;
        auto c = QmpClient::open(qemu.take_client(), deadline);
        if (!c) return rtfs::unexpected(c.error());
        int pipe_fds[2];
        EXPECT_EQ(::pipe(pipe_fds), 0);
        microvm::Expected<void> r = microvm::qemu::save_state(*c, pipe_fds[1], deadline);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return r;
    };
    auto failed = migrate_with("{\"return\": {\"status\": \"failed\", \"error-desc\": {\"x\": 1}}}\n", 5s);
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().message.find("no reason given"), std::string::npos) << failed.error().message;

    const auto t0 = Clock::now();
    auto odd = migrate_with("{\"return\": {\"status\": [\"completed\"]}}\n", 300ms);
    ASSERT_FALSE(odd);
    EXPECT_LT(Clock::now() - t0, 600ms);
}

TEST(QemuQmpClient, EventsBeforeTheReturnAreSkipped) {
    FakeQemu qemu([](int fd) {
        send_text(fd, "{\"event\": \"RESUME\", \"timestamp\": {}}\n");
        send_text(fd, kGreeting);
        read_line(fd);
        send_text(fd, "{\"event\": \"STOP\"}\r\n{\"return\": {}}\r\n");
        read_line(fd);
        std::string events;
        for (int i = 0; i < 20'000; ++i) events += "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"active\"}}\n";
        send_text(fd, events + "{\"return\": {\"status\": \"running\"}}\n");
        wait_for_close(fd);
    });
    auto o = open_and_run(qemu, 10s);
    ASSERT_TRUE(o.value) << o.value.error().message;
    EXPECT_EQ(microvm::qemu::string_member(*o.value, "status"), "running");
}

// A flood of events and never a return: the deadline still holds.
TEST(QemuQmpClient, EndlessEventsRunIntoTheDeadline) {
    FakeQemu qemu([](int fd) {
        negotiate(fd);
        read_line(fd);
        std::string events;
        for (int i = 0; i < 1000; ++i) events += "{\"event\": \"X\"}\n";
        while (send_text(fd, events)) {
        }
    });
    auto o = open_and_run(qemu, 300ms);
    expect_failure(o, "no reply in time");
    EXPECT_LT(o.took, 3s);
}

TEST(QemuQmpClient, ErrorReplyIsASetupErrorWithQemusDescription) {
    FakeQemu qemu([](int fd) {
        negotiate(fd);
        read_line(fd);
        send_text(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"migration is disabled\"}}\n");
        wait_for_close(fd);
    });
    auto o = open_and_run(qemu, 5s, "migrate");
    expect_failure(o, "migrate: migration is disabled");
}

TEST(QemuQmpClient, ServerThatNeverAnswersRunsIntoTheDeadline) {
    FakeQemu qemu([](int fd) {
        negotiate(fd);
        read_line(fd);
        wait_for_close(fd);  // reads the command, never answers
    });
    auto o = open_and_run(qemu, 400ms);
    expect_failure(o, "no reply in time");
    EXPECT_GE(o.took, 400ms);
    EXPECT_LT(o.took, 3s);
}

TEST(QemuQmpClient, PeerClosingMidReplyIsReported) {
    FakeQemu qemu([](int fd) {
        negotiate(fd);
        read_line(fd);
        send_text(fd, "{\"return\": {\"stat");
        ::shutdown(fd, SHUT_RDWR);
    });
    auto o = open_and_run(qemu, 5s);
    expect_failure(o, "closed its control socket");
    EXPECT_LT(o.took, 3s);  // not the 5 s deadline
}

TEST(QemuQmpClient, PeerClosingBeforeTheGreetingIsReported) {
    FakeQemu qemu([](int fd) { ::shutdown(fd, SHUT_RDWR); });
    auto o = open_and_run(qemu, 5s);
    expect_failure(o, "closed its control socket");
}

}  // namespace
