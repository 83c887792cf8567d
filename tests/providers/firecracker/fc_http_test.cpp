// The HTTP layer against servers that misbehave: every failure ends within the call's timeout
// and byte caps, as a typed error naming the call, and never as a crash or a hang.
#include <gtest/gtest.h>

#include <thread>

#include "fake_server.hpp"
#include "firecracker/fc_api_client.hpp"
#include "firecracker/fc_http.hpp"
#include "microvm/utf8.hpp"

namespace {

using namespace microvm::firecracker;
using namespace std::chrono_literals;
using fcfake::UnixServer;
using Kind = FcError::Kind;

// A server that reads one request head and then plays `script` on the connection.
class Scripted {
  public:
    explicit Scripted(std::function<void(int conn, int stop)> script)
        : server_(dir_.file("api.sock"), [script](int conn, int stop) {
              std::string request;
              if (!fcfake::read_until(conn, stop, request, "\r\n\r\n")) return;
              script(conn, stop);
          }) {}
    // Answers `reply` verbatim.
    explicit Scripted(std::string reply)
        : Scripted([reply](int conn, int) { fcfake::write_all(conn, reply); }) {}
    const std::string& path() const { return server_.path(); }

  private:
    fcfake::SocketDir dir_;
    UnixServer server_;
};

FcExpected<HttpResponse> get(const Scripted& s, std::chrono::milliseconds timeout = 2s) {
    HttpLimits limits;
    limits.timeout = timeout;
    return http_call(s.path(), "GET", "/", "", limits);
}

void expect_error(const FcExpected<HttpResponse>& r, Kind kind, const std::string& needle) {
    ASSERT_FALSE(r.has_value()) << "status " << r->status;
    EXPECT_EQ(r.error().kind, kind) << r.error().message();
    EXPECT_EQ(r.error().call, "GET /");
    EXPECT_NE(r.error().detail.find(needle), std::string::npos) << r.error().detail;
}

TEST(FcHttp, ReadsMicroHttpStyleAnswers) {
    Scripted empty("HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
                   "Content-Type: application/json\r\n\r\n");
    auto r = get(empty);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->status, 204);
    EXPECT_EQ(r->body, "");

    Scripted body("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
    r = get(body);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->body, "{\"a\":1}");
}

TEST(FcHttp, FaultMessageBecomesTheErrorNamingTheCall) {
    std::string fault = R"({"fault_message":"The kernel file cannot be opened"})";
    Scripted s("HTTP/1.1 400 \r\nContent-Length: " + std::to_string(fault.size()) + "\r\n\r\n" +
               fault);
    FcApiClient client(s.path());
    auto r = client.put_boot_source({"/vmlinux", "", std::nullopt});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Kind::Api);
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_EQ(r.error().message(),
              "firecracker PUT /boot-source: HTTP 400: The kernel file cannot be opened");
}

TEST(FcHttp, ErrorTextFromThePeerIsMadeSafe) {
    EXPECT_EQ(fault_text(R"({"error":"Too many open connections"})"), "Too many open connections");
    EXPECT_EQ(fault_text("not json\x01\n"), "not json  ");
    std::string hostile = "\xff\xfe\x1b[31mred" + std::string(5000, 'x');
    std::string safe = fault_text(hostile);
    EXPECT_TRUE(microvm::is_valid_utf8(safe));
    EXPECT_EQ(safe.find('\x1b'), std::string::npos);
    EXPECT_LE(safe.size(), 530u);
    EXPECT_EQ(safe.substr(safe.size() - 3), "...");
}

TEST(FcHttp, ServerClosingMidResponse) {
    Scripted mid_body([](int conn, int) {
        fcfake::write_all(conn, "HTTP/1.1 200 \r\nContent-Length: 100\r\n\r\n0123456789");
    });
    expect_error(get(mid_body), Kind::Protocol, "closed after 10 of 100 body bytes");

    Scripted mid_head([](int conn, int) { fcfake::write_all(conn, "HTTP/1.1 200 \r\nContent-"); });
    expect_error(get(mid_head), Kind::Protocol, "inside the response headers");

    Scripted nothing([](int, int) {});
    expect_error(get(nothing), Kind::Protocol, "without an answer");
}

TEST(FcHttp, HugeResponsesAreCutOffWithoutReadingThem) {
    // Announces 1 GiB and keeps sending: the client gives up at the announcement.
    Scripted huge_body([](int conn, int stop) {
        fcfake::write_all(conn, "HTTP/1.1 200 \r\nContent-Length: 1073741824\r\n\r\n");
        std::string chunk(64 * 1024, 'x');
        for (int i = 0; i < 64 && fcfake::write_all(conn, chunk); ++i) {
        }
        fcfake::wait_for_stop(stop);
    });
    auto start = std::chrono::steady_clock::now();
    expect_error(get(huge_body), Kind::TooLarge, "exceeds the cap of 65536");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);

    // Endless headers: cut at the header cap.
    Scripted huge_head([](int conn, int stop) {
        fcfake::write_all(conn, "HTTP/1.1 200 \r\n");
        for (int i = 0; i < 10000 && fcfake::write_all(conn, "X-Filler: yyyyyyyyyyyyyyyy\r\n"); ++i) {
        }
        fcfake::wait_for_stop(stop);
    });
    expect_error(get(huge_head), Kind::TooLarge, "headers exceed 8192 bytes");
}

TEST(FcHttp, StuckServerTimesOut) {
    Scripted stuck([](int, int stop) { fcfake::wait_for_stop(stop); });
    auto start = std::chrono::steady_clock::now();
    expect_error(get(stuck, 300ms), Kind::Timeout, "no answer");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

TEST(FcHttp, DrippingServerHitsTheDeadlineOfTheWholeCall) {
    // A byte every 20 ms: each read succeeds, so only a deadline on the whole call ends it.
    Scripted drip([](int conn, int stop) {
        std::string head = "HTTP/1.1 200 \r\nContent-Length: 1000\r\n\r\n";
        for (size_t i = 0; i < 10000; ++i) {
            if (!fcfake::write_all(conn, std::string(1, i < head.size() ? head[i] : 'x'))) return;
            std::string ignored;
            // Paces the drip; returns early only if the client sends something, which it does not.
            if (fcfake::read_some(conn, stop, ignored, 20ms)) return;
        }
    });
    auto start = std::chrono::steady_clock::now();
    expect_error(get(drip, 400ms), Kind::Timeout, "no answer");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(FcHttp, MalformedStatusLinesAndFraming) {
    struct Case {
        std::string reply;
        const char* needle;
    } cases[] = {
        {"HTTP/1.1 2O4 \r\n\r\n", "malformed status line"},
        {"FOO\r\n\r\n", "malformed status line"},
        {"ICY 200 OK\r\n\r\n", "malformed status line"},
        {"HTTP/1.1 204XYZ\r\n\r\n", "malformed status line"},
        {"HTTP/1.1 999 \r\n\r\n", "malformed status line"},
        {"HTTP/2 200 \r\n\r\n", "malformed status line"},
        {"HTTP/1.1 100 Continue\r\n\r\n", "interim status"},
        {"HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         "Transfer-Encoding"},
        {"HTTP/1.1 200 \r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", "conflicting"},
        {"HTTP/1.1 200 \r\nContent-Length: -1\r\n\r\n", "malformed Content-Length"},
        {"HTTP/1.1 200 \r\nContent-Length: 99999999999999999999999\r\n\r\n",
         "malformed Content-Length"},
        {"HTTP/1.1 200 \r\n folded: header\r\n\r\n", "malformed header"},
        {"HTTP/1.1 200 \r\nno colon here\r\n\r\n", "malformed header"},
    };
    for (const Case& c : cases) {
        Scripted s(c.reply);
        SCOPED_TRACE(c.reply);
        expect_error(get(s), Kind::Protocol, c.needle);
    }
}

TEST(FcHttp, MissingSocketIsAConnectError) {
    fcfake::SocketDir dir;
    auto r = http_call(dir.file("none.sock"), "GET", "/", "", HttpLimits{});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Kind::Connect);
    auto long_path = http_call("/" + std::string(200, 'a'), "GET", "/", "", HttpLimits{});
    ASSERT_FALSE(long_path.has_value());
    EXPECT_EQ(long_path.error().kind, Kind::Connect);
    EXPECT_NE(long_path.error().detail.find("longer than 107 bytes"), std::string::npos);
}

TEST(FcHttp, RequestsCarryLengthAndJsonType) {
    EXPECT_EQ(format_request("PUT", "/vm", R"({"state":"Paused"})"),
              "PUT /vm HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
              "Content-Type: application/json\r\nContent-Length: 18\r\n\r\n{\"state\":\"Paused\"}");
    EXPECT_EQ(format_request("GET", "/", ""),
              "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n");
}

TEST(FcHttp, InstanceInfoIsCheckedFieldByField) {
    auto ok = parse_instance_info(
        R"({"id":"a","state":"Paused","vmm_version":"1.17.0","app_name":"Firecracker"})", "GET /");
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->state, "Paused");
    for (const char* bad : {"[]", "{", R"({"id":"a","state":"Paused","vmm_version":"1"})",
                            R"({"id":1,"state":"Paused","vmm_version":"1","app_name":"F"})",
                            R"({"id":"a","state":"Exploded","vmm_version":"1","app_name":"F"})"}) {
        auto r = parse_instance_info(bad, "GET /");
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().kind, Kind::Protocol);
    }
}

}  // namespace
