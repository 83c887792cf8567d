// Session file transfers and the daemon's memory: a download is streamed from the file the
// confinement checks opened (never held whole), and request bodies being received share one
// daemon-wide budget (over it: 503 + Retry-After, not another body in memory).
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace svctest;
using namespace std::chrono_literals;

namespace {

std::string create_session(const Harness& h) {
    auto r = h.call_json("POST", "/v1/sandboxes", {{"provider", "mock"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return body_json(r).value("id", "");
}

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
    return s;
}

// What the budget holds, once it settles at want (a request's share is released just after its
// reply went out, so a client can see the reply first).
size_t held_when_settled(const microvm::service::BodyBudget& budget, size_t want) {
    for (int i = 0; i < 500 && budget.held() != want; ++i) std::this_thread::sleep_for(10ms);
    return budget.held();
}

void tweak_small_budget(microvm::service::ServiceOptions& o) {
    o.max_body_bytes_held = 1 << 20;
    o.max_file_bytes = 1 << 20;
}

}  // namespace

// 16 MiB out of a daemon whose body budget is 1 MiB: complete and correct. The file's last bytes
// are changed after the reply's headers arrived and before its end is read: a daemon that read
// the file whole before answering sends the old bytes; one streaming from the descriptor, the
// new ones.
TEST(Files, DownloadsStreamFromTheOpenedFile) {
    Harness h([](microvm::service::ServiceOptions& o) {
        o.max_body_bytes_held = 1 << 20;
        o.max_file_bytes = 32 << 20;
    });
    const std::string id = create_session(h);
    const std::string path = h.dir + "/state/sandboxes/" + id + "/big";
    const size_t size = 16 << 20;
    std::string content = pattern(size);
    std::ofstream(path, std::ios::binary) << content;

    int fd = connect_unix(h.socket_path);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, request_text("GET", "/v1/sandboxes/" + id + "/files/big", "")));
    Reader in(fd, 60s);
    std::string line;
    ASSERT_TRUE(in.line(line));
    EXPECT_EQ(line.substr(0, 12), "HTTP/1.1 200") << line;
    size_t length = 0;
    while (in.line(line) && !line.empty()) {
        if (line.rfind("Content-Length: ", 0) == 0) length = std::stoul(line.substr(16));
    }
    EXPECT_EQ(length, size);
    {
        std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(size - 8));
        f.write("STREAMED", 8);
    }
    content.replace(size - 8, 8, "STREAMED");
    std::string body;
    ASSERT_TRUE(in.bytes(size, body));
    ::close(fd);
    EXPECT_EQ(body.size(), size);
    EXPECT_EQ(body.substr(size - 8), "STREAMED");
    EXPECT_TRUE(body == content);
    // And an ordinary download after it.
    EXPECT_EQ(h.call("GET", "/v1/sandboxes/" + id + "/files/big").body, content);
}

// One upload of 768 KiB is being received (its body half sent); a second one does not fit the
// 1 MiB budget beside it and is refused with 503 + Retry-After, while a small one fits. When the
// first completes, its bytes are released and the second goes through.
TEST(Files, UploadsOverTheBodyBudgetAreRefusedWithRetryAfter) {
    Harness h(tweak_small_budget);
    const std::string id = create_session(h);
    const std::string url = "/v1/sandboxes/" + id + "/files/";
    const std::string big = pattern(768 << 10);

    int first = connect_unix(h.socket_path);
    ASSERT_GE(first, 0);
    const std::string request = request_text("PUT", url + "first", big);
    const size_t half = request.size() / 2;
    ASSERT_TRUE(send_all(first, request.substr(0, half)));
    auto& budget = h.service->body_budget();
    ASSERT_EQ(held_when_settled(budget, big.size()), big.size());

    auto refused = h.call("PUT", url + "second", big);
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(refused.headers["retry-after"], "1");
    EXPECT_EQ(body_json(refused).value("error", nlohmann::json::object()).value("code", ""), "busy")
        << refused.body;
    EXPECT_FALSE(std::filesystem::exists(h.dir + "/state/sandboxes/" + id + "/second"));
    EXPECT_EQ(h.call("PUT", url + "small", "tiny").status, 200);  // fits beside the first

    ASSERT_TRUE(send_all(first, request.substr(half)));
    EXPECT_EQ(read_reply(first, 30s).status, 200);
    ::close(first);
    EXPECT_EQ(held_when_settled(budget, 0), 0u);
    EXPECT_EQ(h.call("PUT", url + "second", big).status, 200);
    EXPECT_EQ(h.call("GET", url + "second").body, big);
    EXPECT_EQ(held_when_settled(budget, 0), 0u);
}

// A chunked body has no declared length: it reserves its whole limit.
TEST(Files, ChunkedUploadsReserveTheirLimit) {
    Harness h(tweak_small_budget);
    const std::string id = create_session(h);
    auto& budget = h.service->body_budget();
    ASSERT_EQ(held_when_settled(budget, 0), 0u);  // the session's request let go of its share
    int first = connect_unix(h.socket_path);
    ASSERT_GE(first, 0);
    ASSERT_TRUE(send_all(first, "PUT /v1/sandboxes/" + id + "/files/c HTTP/1.1\r\nHost: x\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"));
    ASSERT_EQ(held_when_settled(budget, size_t{1} << 20), size_t{1} << 20);
    EXPECT_EQ(h.call("PUT", "/v1/sandboxes/" + id + "/files/d", "x").status, 503);
    ASSERT_TRUE(send_all(first, "0\r\n\r\n"));
    EXPECT_EQ(read_reply(first, 30s).status, 200);
    ::close(first);
    EXPECT_EQ(h.call("GET", "/v1/sandboxes/" + id + "/files/c").body, "abcd");
}

// `Expect: 100-continue`: the admission runs before the "100 Continue", so a refusal comes
// instead of it (the client sends no body), and an admitted upload reserves its bytes once.
TEST(Files, ExpectContinueGetsTheRefusalInsteadOfContinue) {
    Harness h(tweak_small_budget);
    const std::string id = create_session(h);
    const std::string url = "/v1/sandboxes/" + id + "/files/";
    auto& budget = h.service->body_budget();
    ASSERT_EQ(held_when_settled(budget, 0), 0u);  // the session's request let go of its share
    auto first_line = [&](const std::string& head) {
        int fd = connect_unix(h.socket_path);
        EXPECT_GE(fd, 0);
        EXPECT_TRUE(send_all(fd, head));
        Reader in(fd, 30s);
        std::string line;
        in.line(line);
        ::close(fd);
        return line;
    };
    // Over the file limit (413) and over the JSON limit (413): refused without a 100.
    EXPECT_EQ(first_line("PUT " + url + "big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: 2097152\r\n\r\n").substr(0, 12),
              "HTTP/1.1 413");
    EXPECT_EQ(first_line("POST /v1/executions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: 2097152\r\n\r\n").substr(0, 12),
              "HTTP/1.1 413");

    // An admitted upload: 100, then the body, then 200; its bytes were reserved once.
    const std::string body = pattern(600 << 10);
    int fd = connect_unix(h.socket_path);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "PUT " + url + "a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    {
        Reader in(fd, 30s);
        std::string line;
        ASSERT_TRUE(in.line(line));
        EXPECT_EQ(line.substr(0, 12), "HTTP/1.1 100") << line;
    }
    EXPECT_EQ(held_when_settled(budget, body.size()), body.size());
    // Beside it, a second one that does not fit the 1 MiB budget: 503 instead of 100.
    EXPECT_EQ(first_line("PUT " + url + "b HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n").substr(0, 12),
              "HTTP/1.1 503");
    const auto metrics = h.call("GET", "/metrics").body;
    EXPECT_NE(metrics.find("microvmd_request_body_bytes_held " + std::to_string(body.size())), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("microvmd_request_body_bytes_limit 1048576"), std::string::npos) << metrics;
    ASSERT_TRUE(send_all(fd, body));
    EXPECT_EQ(read_reply(fd, 30s).status, 200);
    ::close(fd);
    EXPECT_EQ(held_when_settled(budget, 0), 0u);
    EXPECT_EQ(h.call("GET", url + "a").body, body);
    EXPECT_FALSE(std::filesystem::exists(h.dir + "/state/sandboxes/" + id + "/b"));
}
