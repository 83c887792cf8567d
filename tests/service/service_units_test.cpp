// The service's parts without sockets: admission, metrics, audit log, confined files, stream
// events, tokens, OpenAPI against the routes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <future>
#include <thread>

#include "support/expectations.hpp"
#include "support/trusted_temp.hpp"
#include "harness.hpp"
#include "microvm/token_file.hpp"
#include "service/admission.hpp"
#include "service/audit_log.hpp"
#include "service/confined_files.hpp"
#include "service/listeners.hpp"
#include "service/metrics.hpp"
#include "service/openapi.hpp"
#include "service/stream_events.hpp"
#include "microvm/base64.hpp"
#include "microvm/utf8.hpp"
#include "service/tokens.hpp"
#include "service/warm_pools.hpp"

using namespace microvm;
using namespace microvm::service;

TEST(Admission, LimitsRunningAndQueuedThenRefuses) {
    Admission a({1, 1});
    CancelSource never;
    auto first = a.enter("p", "c", SIZE_MAX, never.token());
    ASSERT_TRUE(std::holds_alternative<Admission::Ticket>(first));
    // The second waits in the queue; the third finds the queue full.
    auto second = std::async(std::launch::async, [&] { return a.enter("p", "c", SIZE_MAX, never.token()).index(); });
    for (int i = 0; i < 200 && a.load()["p"].waiting == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto third = a.enter("p", "c", SIZE_MAX, never.token());
    ASSERT_TRUE(std::holds_alternative<Admission::Refusal>(third));
    EXPECT_EQ(std::get<Admission::Refusal>(third), Admission::Refusal::Busy);
    // Another provider has its own slots.
    EXPECT_TRUE(std::holds_alternative<Admission::Ticket>(a.enter("q", "c", SIZE_MAX, never.token())));
    { auto drop = std::move(std::get<Admission::Ticket>(first)); }
    EXPECT_EQ(second.get(), 0u);  // got a ticket once the first left
}

// A client at its running limit waits in the queue while another client's later execution takes
// the free slot (red team K2); its own turn comes when one of its runs ends.
TEST(Admission, AClientAtItsRunningLimitLetsAnotherClientPass) {
    Admission a({2, 4});
    CancelSource never;
    auto alice1 = a.enter("p", "alice", 1, never.token());
    ASSERT_TRUE(std::holds_alternative<Admission::Ticket>(alice1));
    auto alice2 = std::async(std::launch::async, [&] { return a.enter("p", "alice", 1, never.token()); });
    for (int i = 0; i < 2000 && a.load()["p"].waiting == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(a.load()["p"].waiting, 1u);
    // Bob came after Alice's second and passes it; Alice's second still waits when he leaves.
    {
        auto bob = a.enter("p", "bob", 1, never.token());
        ASSERT_TRUE(std::holds_alternative<Admission::Ticket>(bob));
        EXPECT_EQ(a.load()["p"].running, 2u);
    }
    EXPECT_EQ(alice2.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    EXPECT_EQ(a.load()["p"].running, 1u);
    { auto drop = std::move(std::get<Admission::Ticket>(alice1)); }
    EXPECT_EQ(alice2.get().index(), 0u);  // her turn once her first ended
}

TEST(Admission, AQueuedClientThatLeavesIsRemoved) {
    Admission a({1, 4});
    CancelSource never, gone;
    auto first = a.enter("p", "c", SIZE_MAX, never.token());
    auto waiting = std::async(std::launch::async, [&] { return a.enter("p", "c", SIZE_MAX, gone.token()); });
    for (int i = 0; i < 200 && a.load()["p"].waiting == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    gone.cancel();
    auto r = waiting.get();
    ASSERT_TRUE(std::holds_alternative<Admission::Refusal>(r));
    EXPECT_EQ(std::get<Admission::Refusal>(r), Admission::Refusal::Cancelled);
    EXPECT_EQ(a.load()["p"].waiting, 0u);
}

TEST(Metrics, PrometheusText) {
    Metrics m;
    m.execution_finished("mock", "ok", std::chrono::milliseconds(3));
    m.execution_finished("mock", "timeout", std::chrono::seconds(2));
    Metrics::Gauges g;
    g.running_and_queued["mock"] = {1, 2};
    g.pools["wasm/default"] = {2, 4, 7, 1};
    std::string t = m.render(g);
    EXPECT_NE(t.find("microvmd_executions_total{provider=\"mock\",status=\"ok\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_execution_duration_seconds_bucket{provider=\"mock\",le=\"0.005\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_execution_duration_seconds_bucket{provider=\"mock\",le=\"+Inf\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_execution_duration_seconds_count{provider=\"mock\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_active_executions{provider=\"mock\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_queued_executions{provider=\"mock\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_pool_hits_total{pool=\"wasm/default\"} 7\n"), std::string::npos);
    EXPECT_NE(t.find("# TYPE microvmd_proxy_connections_total counter\n"), std::string::npos);
    EXPECT_EQ(t.find("microvmd_proxy_connections_total{"), std::string::npos);  // none yet
    m.proxy_connections("process", 2, 1);
    m.proxy_connections("process", 1, 0);
    m.proxy_connections("mock", 0, 0);
    t = m.render(g);
    EXPECT_NE(t.find("microvmd_proxy_connections_total{provider=\"process\",decision=\"allowed\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("microvmd_proxy_connections_total{provider=\"process\",decision=\"denied\"} 1\n"), std::string::npos);
    EXPECT_EQ(t.find("microvmd_proxy_connections_total{provider=\"mock\""), std::string::npos);
}

class AuditLogTest : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = svctest::make_temp_dir(); }
    void TearDown() override { microvm::host::remove_tree(dir_); }
    std::string dir_;
};

TEST_F(AuditLogTest, CreatedPrivateAndAppendsOneLinePerRecord) {
    const std::string path = dir_ + "/audit.jsonl";
    {
        std::ofstream(path) << "{\"earlier\":true}\n";
        ::chmod(path.c_str(), 0600);
    }
    auto log = AuditLog::open(path, AuditSync::EveryRecord);
    ASSERT_TRUE(log) << log.error().message;
    (*log)->write({{"event", "execution"}, {"stdout", std::string("\xff\xfe bad utf8")}});
    (*log)->write({{"event", "session_create"}});
    std::ifstream in(path);
    std::string l1, l2, l3;
    std::getline(in, l1);
    std::getline(in, l2);
    std::getline(in, l3);
    EXPECT_EQ(l1, "{\"earlier\":true}");  // appended, never truncated
    auto r = nlohmann::json::parse(l2);
    EXPECT_EQ(r["event"], "execution");
    EXPECT_TRUE(r.contains("time"));
    EXPECT_EQ(nlohmann::json::parse(l3)["event"], "session_create");
    const std::string fresh = dir_ + "/new.jsonl";
    ASSERT_TRUE(AuditLog::open(fresh, AuditSync::Never));
    struct stat st {};
    ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, RefusesSymlinksAndFilesOthersCanWrite) {
    const std::string target = dir_ + "/target";
    std::ofstream(target) << "";
    ::chmod(target.c_str(), 0600);
    const std::string link = dir_ + "/link";
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    auto l = AuditLog::open(link, AuditSync::Never);
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message.find("symbolic link"), std::string::npos);
    ::chmod(target.c_str(), 0622);
    auto w = AuditLog::open(target, AuditSync::Never);
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message.find("writable by group or others"), std::string::npos);
    ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
    int keep = ::open((dir_ + "/fifo").c_str(), O_RDONLY | O_NONBLOCK);  // so opening for write does not block
    auto f = AuditLog::open(dir_ + "/fifo", AuditSync::Never);
    ::close(keep);
    ASSERT_FALSE(f);
    EXPECT_FALSE(AuditLog::open(dir_ + "/missing-dir/log", AuditSync::Never));
}

// The attack (red team, 2026-12-06): --audit-log in a directory another user owns. The file
// itself passed every check, and that user then unlinked root's log (the records went on into a
// deleted file) or planted what rotation renames. The directory is judged too.
TEST_F(AuditLogTest, RefusesALogInADirectoryAnotherUserMayChange) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "giving a directory to another user needs root");
    const std::string others = dir_ + "/others";
    ASSERT_EQ(::mkdir(others.c_str(), 0755), 0);
    ASSERT_EQ(::chown(others.c_str(), 12345, 12345), 0);
    auto l = AuditLog::open(others + "/audit.jsonl", AuditSync::Never);
    ASSERT_FALSE(l) << "a log in a directory of uid 12345 was accepted";
    EXPECT_NE(l.error().message.find("uid 12345"), std::string::npos) << l.error().message;
    EXPECT_FALSE(std::filesystem::exists(others + "/audit.jsonl"));
    const std::string shared = dir_ + "/shared";
    ASSERT_EQ(::mkdir(shared.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
    EXPECT_FALSE(AuditLog::open(shared + "/audit.jsonl", AuditSync::Never));
    // Control: the same in a directory of root's.
    EXPECT_TRUE(AuditLog::open(dir_ + "/audit.jsonl", AuditSync::Never));
}

// Lines of PATH.keep ... PATH.1, PATH (oldest first); every file must end with a whole line.
std::vector<std::string> audit_lines(const std::string& path, unsigned keep) {
    std::vector<std::string> lines;
    for (unsigned i = keep + 1; i-- > 0;) {
        const std::string f = i == 0 ? path : path + "." + std::to_string(i);
        std::ifstream in(f, std::ios::binary);
        if (!in) continue;
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_TRUE(all.empty() || all.back() == '\n') << f << " ends inside a record";
        std::istringstream ls(all);
        for (std::string l; std::getline(ls, l);) lines.push_back(l);
    }
    return lines;
}

TEST_F(AuditLogTest, RotatesBySizeWithoutSplittingOrLosingRecords) {
    const std::string path = dir_ + "/audit.jsonl";
    auto log = AuditLog::open(path, AuditSync::EveryRecord, {400, 3});
    ASSERT_TRUE(log) << log.error().message;
    for (int i = 0; i < 40; ++i) (*log)->write({{"event", "execution"}, {"seq", i}, {"pad", std::string(40, 'x')}});
    // Each file at most max_bytes, private, and PATH.4 never made.
    for (const std::string& f : {path, path + ".1", path + ".2", path + ".3"}) {
        struct stat st {};
        ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
        EXPECT_LE(st.st_size, 400) << f;
        EXPECT_GT(st.st_size, 0) << f;
        EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
    }
    EXPECT_FALSE(std::filesystem::exists(path + ".4"));
    // The kept records are whole and consecutive, ending with the last one written.
    auto lines = audit_lines(path, 3);
    ASSERT_FALSE(lines.empty());
    int last = -1;
    for (const auto& l : lines) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << l;
        if (last >= 0) {
            EXPECT_EQ(j["seq"].get<int>(), last + 1);
        }
        last = j["seq"].get<int>();
    }
    EXPECT_EQ(last, 39);
    EXPECT_EQ((*log)->failures(), 0u);
    EXPECT_EQ((*log)->rotation_failures(), 0u);
}

TEST_F(AuditLogTest, RotationUnderConcurrentWritersKeepsEveryRecord) {
    const std::string path = dir_ + "/audit.jsonl";
    auto log = AuditLog::open(path, AuditSync::Never, {2000, 1000});
    ASSERT_TRUE(log);
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 250; ++i) (*log)->write({{"writer", t}, {"seq", i}});
        });
    for (auto& w : writers) w.join();
    auto lines = audit_lines(path, 1000);
    EXPECT_EQ(lines.size(), 1000u);
    std::map<int, int> next;  // each writer's records in its own order
    for (const auto& l : lines) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << l;
        EXPECT_EQ(j["seq"].get<int>(), next[j["writer"].get<int>()]++);
    }
    EXPECT_TRUE(std::filesystem::exists(path + ".10"));
}

TEST_F(AuditLogTest, ARecordLargerThanTheLimitGetsAFileOfItsOwn) {
    const std::string path = dir_ + "/audit.jsonl";
    auto log = AuditLog::open(path, AuditSync::Never, {100, 2});
    ASSERT_TRUE(log);
    (*log)->write({{"seq", 0}});
    (*log)->write({{"seq", 1}, {"pad", std::string(500, 'y')}});
    (*log)->write({{"seq", 2}});
    auto lines = audit_lines(path, 2);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(nlohmann::json::parse(lines[1])["pad"].get<std::string>().size(), 500u);
}

TEST_F(AuditLogTest, ARotationThatCannotBeDoneStopsRotationNotRecords) {
    const std::string path = dir_ + "/audit.jsonl";
    // Something planted where the full file would move: PATH.1 is a directory.
    ASSERT_EQ(::mkdir((path + ".1").c_str(), 0700), 0);
    std::ofstream(path + ".1/keep") << "x";
    auto log = AuditLog::open(path, AuditSync::Never, {150, 1});
    ASSERT_TRUE(log);
    for (int i = 0; i < 6; ++i) (*log)->write({{"seq", i}, {"pad", std::string(60, 'x')}});
    EXPECT_EQ((*log)->rotation_failures(), 1u);  // tried once, then stopped
    EXPECT_EQ((*log)->failures(), 0u);
    EXPECT_TRUE(std::filesystem::exists(path + ".1/keep"));
    std::ifstream in(path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 6);  // every record, in the open file
}

// An audit log without settings was never rotated: each request of any client added a record,
// so clients could fill the host's disk through it. It is bounded unless the operator says 0.
TEST(AuditRotationSettings, BoundedByDefault) {
    auto none = parse_settings("", "t.toml");
    ASSERT_TRUE(none) << none.error().message;
    auto r = read_audit_rotation(*none);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->max_bytes, 64u << 20);
    EXPECT_EQ(r->keep, 5u);
    EXPECT_EQ(AuditRotation{}.max_bytes, 64u << 20);  // AuditLog::open's default too
    auto never = parse_settings("[service.audit]\nmax_bytes = 0\n", "t.toml");
    ASSERT_TRUE(never);
    EXPECT_EQ(read_audit_rotation(*never)->max_bytes, 0u);
}

TEST(AuditRotationSettings, ReadFromTheServiceTable) {
    auto s = parse_settings("[service.audit]\nmax_bytes = 1048576\nkeep = 3\n", "t.toml");
    ASSERT_TRUE(s) << s.error().message;
    auto r = read_audit_rotation(*s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->max_bytes, 1048576u);
    EXPECT_EQ(r->keep, 3u);
    EXPECT_TRUE(read_pool_configs(*s));  // the pools' reader leaves [service.audit] alone
    for (const char* bad : {"[service.audit]\nkeep = 0\n", "[service.audit]\nmax_bytes = -1\n",
                            "[service.audit]\nmax_bytes = \"1M\"\n", "[service.audit]\nsize = 1\n"}) {
        auto b = parse_settings(bad, "t.toml");
        ASSERT_TRUE(b) << bad;
        auto e = read_audit_rotation(*b);
        ASSERT_FALSE(e) << bad;
        EXPECT_NE(e.error().message.find("service.audit."), std::string::npos) << e.error().message;
    }
}

// open_beneath's checks, and what a download streams from the descriptor it opened.
ApiExpected<std::string> read_whole_beneath(int dir_fd, const std::string& path, size_t max_bytes) {
    auto file = open_beneath(dir_fd, path, max_bytes);
    if (!file) return rtfs::Unexpected<ApiError>(file.error());
    auto data = host::read_to_end(file->fd.get());
    if (!data || data->size() != file->size) return api_fail(500, "io_error", "short read");
    return *data;
}

class ConfinedFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = svctest::make_temp_dir();
        ::mkdir((dir_ + "/work").c_str(), 0700);
        std::ofstream(dir_ + "/secret") << "outside";
        fd_ = ::open((dir_ + "/work").c_str(), O_PATH | O_DIRECTORY);
    }
    void TearDown() override {
        ::close(fd_);
        microvm::host::remove_tree(dir_);
    }
    std::string dir_;
    int fd_ = -1;
};

TEST_F(ConfinedFiles, WritesAndReadsInside) {
    ASSERT_TRUE(write_beneath(fd_, "a/b/c.txt", "hello"));
    auto r = read_whole_beneath(fd_, "a/b/c.txt", 100);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "hello");
    ASSERT_TRUE(write_beneath(fd_, "a/b/c.txt", "hi"));  // replaced, not appended
    EXPECT_EQ(*read_whole_beneath(fd_, "a/b/c.txt", 100), "hi");
    EXPECT_EQ(read_whole_beneath(fd_, "a/b/c.txt", 1).error().http_status, 413);
    EXPECT_EQ(read_whole_beneath(fd_, "nope", 100).error().http_status, 404);
}

TEST_F(ConfinedFiles, TraversalAndAbsolutePathsAreRefused) {
    for (const std::string p : {"../secret", "a/../../secret", "/etc/passwd", "..", "./x", "a//b", ""}) {
        auto r = read_whole_beneath(fd_, p, 100);
        ASSERT_FALSE(r) << p;
        EXPECT_TRUE(r.error().http_status == 403 || r.error().http_status == 400) << p;
        EXPECT_FALSE(write_beneath(fd_, p, "x")) << p;
    }
    EXPECT_EQ(std::ifstream(dir_ + "/secret").rdbuf()->sgetc(), 'o');
}

// A name longer than the file system takes is the client's error (400), not the daemon's (a
// 300-byte name was the file system's ENAMETOOLONG, answered 500 io_error; red team, 2026-12-06).
TEST_F(ConfinedFiles, ANameLongerThanAFileSystemTakesIsABadPath) {
    for (const std::string& p : {std::string(300, 'a'), "dir/" + std::string(256, 'b')}) {
        auto w = write_beneath(fd_, p, "x");
        ASSERT_FALSE(w) << p.size();
        EXPECT_EQ(w.error().http_status, 400) << w.error().message;
        EXPECT_EQ(w.error().code, "bad_path");
        EXPECT_EQ(read_whole_beneath(fd_, p, 100).error().http_status, 400);
    }
    EXPECT_TRUE(write_beneath(fd_, std::string(255, 'c'), "x"));
}

TEST_F(ConfinedFiles, PlantedSymlinksAreNotFollowed) {
    // What a program in the sandbox could leave: links to the outside, as file and as directory.
    ASSERT_EQ(::symlink((dir_ + "/secret").c_str(), (dir_ + "/work/link").c_str()), 0);
    ASSERT_EQ(::symlink(dir_.c_str(), (dir_ + "/work/dirlink").c_str()), 0);
    ASSERT_EQ(::symlink("../secret", (dir_ + "/work/rel").c_str()), 0);
    for (const std::string p : {"link", "dirlink/secret", "rel"}) {
        auto r = read_whole_beneath(fd_, p, 100);
        ASSERT_FALSE(r) << p;
        EXPECT_EQ(r.error().http_status, 403) << p << ": " << r.error().message;
        EXPECT_FALSE(write_beneath(fd_, p, "overwritten")) << p;
    }
    EXPECT_FALSE(write_beneath(fd_, "dirlink/new", "x"));
    std::string outside;
    std::getline(std::ifstream(dir_ + "/secret"), outside);
    EXPECT_EQ(outside, "outside");
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/new"));
}

TEST_F(ConfinedFiles, FifosAndDirectoriesAreNotRegularFiles) {
    ASSERT_EQ(::mkfifo((dir_ + "/work/fifo").c_str(), 0600), 0);
    auto r = read_whole_beneath(fd_, "fifo", 100);  // must not block
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().http_status, 403);
    ::mkdir((dir_ + "/work/d").c_str(), 0700);
    EXPECT_FALSE(read_whole_beneath(fd_, "d", 100));
}

// A program holding a lease on a file in its work directory: the daemon's non-blocking open
// fails with EAGAIN until the kernel breaks the lease (lease-break-time, 45 s), and the open
// retried it without bound, spinning a daemon thread all that time (review, 2026-12-07). The
// retries are bounded: the client is told 503 at once.
TEST_F(ConfinedFiles, ALeasedFileIsBusyNotASpin) {
    ASSERT_TRUE(write_beneath(fd_, "leased.txt", "data"));
    const std::string file = dir_ + "/work/leased.txt";
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t holder = ::fork();
    ASSERT_GE(holder, 0);
    if (holder == 0) {  // the lease holder; SIGIO (the break's notice) would end it
        ::signal(SIGIO, SIG_IGN);
        const int fd = ::open(file.c_str(), O_RDONLY);
        const char ok = fd >= 0 && ::fcntl(fd, F_SETLEASE, F_WRLCK) == 0 ? 'y' : 'n';
        (void)::write(ready[1], &ok, 1);
        ::pause();
        ::_exit(0);
    }
    ::close(ready[1]);
    char ok = 0;
    ASSERT_EQ(::read(ready[0], &ok, 1), 1);
    ::close(ready[0]);
    const auto started = std::chrono::steady_clock::now();
    auto r = open_beneath(fd_, "leased.txt", 100);
    const auto took = std::chrono::steady_clock::now() - started;
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ASSERT_EQ(ok, 'y') << "no write lease could be taken";
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().http_status, 503) << r.error().message;
    EXPECT_LT(took, std::chrono::seconds(5));
    EXPECT_EQ(*read_whole_beneath(fd_, "leased.txt", 100), "data");  // the lease gone with its holder
}

TEST_F(ConfinedFiles, RemoveTreeDoesNotFollowLinksAndHandlesDeepTrees) {
    ASSERT_EQ(::symlink(dir_.c_str(), (dir_ + "/work/up").c_str()), 0);
    std::string deep = dir_ + "/work";
    for (int i = 0; i < 300; ++i) {
        deep += "/d";
        ASSERT_EQ(::mkdir(deep.c_str(), 0700), 0);
    }
    std::ofstream(deep + "/f") << "x";
    ::chmod((dir_ + "/work/d").c_str(), 0);  // a locked directory planted by the program
    microvm::host::remove_tree(dir_ + "/work");
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/work"));
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/secret"));
}

TEST(StreamEvents, SplitMultibyteCharactersAreJoined) {
    EventWriter w;
    const std::string e = "\xc3\xa9";  // é
    auto a = w.output(OutputStream::Stdout, "a\xc3");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(a[0])["data"], "a");
    auto b = w.output(OutputStream::Stdout, "\xa9z");
    EXPECT_EQ(nlohmann::json::parse(b[0])["data"], e + "z");
    EXPECT_TRUE(w.output(OutputStream::Stderr, "\xe2\x82").empty());
    auto f = w.flush();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(f[0])["event"], "stderr");
}

// A chunk that is not UTF-8 keeps its exact bytes in "base64" beside its text (red team,
// 2026-12-06: binary output through the daemon came out with U+FFFD for its bytes).
TEST(StreamEvents, BytesThatAreNotUtf8TravelExactly) {
    EventWriter w;
    const std::string binary = std::string("\x89PNG\r\n\x1a\n\x00\xff", 10) + "ok";
    auto lines = w.output(OutputStream::Stdout, binary);
    ASSERT_EQ(lines.size(), 1u);
    auto e = nlohmann::json::parse(lines[0]);
    ASSERT_TRUE(e.contains("base64")) << lines[0];
    EXPECT_EQ(microvm::base64_decode(e["base64"].get<std::string>()), binary);
    EXPECT_EQ(e["data"], microvm::valid_utf8(binary));
    EXPECT_FALSE(nlohmann::json::parse(w.output(OutputStream::Stdout, "text")[0]).contains("base64"));
}

TEST(Tokens, ConstantTimeCheckGivesTheId) {
    auto t = TokenSet::of({{"ci", "aaaaaaaaaaaaaaaaaaaa"}, {"ops", "bbbbbbbbbbbbbbbbbbbb"}});
    EXPECT_EQ(t.check("Bearer bbbbbbbbbbbbbbbbbbbb"), "ops");
    EXPECT_FALSE(t.check("Bearer bbbbbbbbbbbbbbbbbbb"));
    EXPECT_FALSE(t.check("bbbbbbbbbbbbbbbbbbbb"));
    EXPECT_FALSE(t.check(""));
}

TEST(Tokens, TokenFileMustBePrivate) {
    std::string dir = svctest::make_temp_dir();
    const std::string path = dir + "/tokens";
    std::ofstream(path) << "ci:short\n";
    ::chmod(path.c_str(), 0600);
    // /tmp is not a trusted place for it (others can write there), whatever the file's mode.
    EXPECT_FALSE(TokenSet::load(path));
    microvm::host::remove_tree(dir);
}

// The daemon reads its token file as the CLI does (microvm/private_file.hpp): in a trusted place,
// private, and at most kMaxTokenFileBytes (it read any size into memory before).
TEST(Tokens, TokenFileInATrustedPlaceIsReadWithinItsBound) {
    const std::string dir = testsupport::make_trusted_temp_dir("microvm-tokens");
    ASSERT_FALSE(dir.empty());
    const std::string path = dir + "/tokens";
    const std::string line = "ci:" + std::string(40, 'a') + "\n";
    std::ofstream(path) << line;
    ::chmod(path.c_str(), 0600);
    auto loaded = TokenSet::load(path);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->check("Bearer " + std::string(40, 'a')), "ci");

    ::chmod(path.c_str(), 0644);
    auto shared = TokenSet::load(path);
    ASSERT_FALSE(shared);
    EXPECT_NE(shared.error().message.find("chmod 600"), std::string::npos) << shared.error().message;

    {
        std::ofstream big(path, std::ios::trunc);
        big << line;
        for (size_t n = line.size(); n <= microvm::kMaxTokenFileBytes; n += 20) big << "# nineteen of these\n";
    }
    ::chmod(path.c_str(), 0600);
    auto large = TokenSet::load(path);
    ASSERT_FALSE(large) << "a token file over the bound was read";
    EXPECT_NE(large.error().message.find("over 1048576 bytes"), std::string::npos) << large.error().message;
    microvm::host::remove_tree(dir);
}

// A token's id is the principal that owns sessions: an empty id, or one id on two lines (whose
// holders would share sessions), or one secret on two lines (reported as the first id only) are
// refused at load, naming the line and never the secret. The first ':' always separates ID:SECRET.
TEST(Tokens, EmptyOrDuplicateIdsAndSecretsAreRefusedNamingTheLine) {
    const std::string a = "aaaaaaaaaaaaaaaaaaaa", b = "bbbbbbbbbbbbbbbbbbbb";
    struct Case {
        std::string text, line, says;
    };
    for (const Case& c : {Case{":" + a + "\n", ":1:", "empty"},
                          Case{"# c\nci:" + a + "\nci:" + b + "\n", ":3:", "'ci' is already line 2"},
                          Case{"ci:" + a + "\nops:" + a + "\n", ":2:", "same secret as line 1"},
                          Case{a + "\n" + a + "\n", ":2:", "same secret as line 1"},
                          Case{"token-2:" + a + "\n" + b + "\n", ":2:", "'token-2' is already line 1"}}) {
        auto t = TokenSet::parse(c.text, "token file F");
        ASSERT_FALSE(t) << c.text;
        const std::string& m = t.error().message;
        EXPECT_NE(m.find("token file F" + c.line), std::string::npos) << m;
        EXPECT_NE(m.find(c.says), std::string::npos) << m;
        EXPECT_EQ(m.find(a), std::string::npos) << m;
        EXPECT_EQ(m.find(b), std::string::npos) << m;
    }
    auto ok = TokenSet::parse("ci:" + a + "\n" + b + "\n", "token file F");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->check("Bearer " + a), "ci");
    EXPECT_EQ(ok->check("Bearer " + b), "token-2");
}

// Red team K3: an indented comment line loaded as the token "token-2" (its text, often guessable,
// authenticated); a BOM became part of the first id; "alice" and "alice " were two principals that
// look alike; a secret ending in a tab loaded but never authenticated (the server trims header
// values). Lines are trimmed, a BOM dropped, and bad ids and secrets refused naming the line.
TEST(Tokens, IndentedCommentsBomsAndLookAlikeIdsOrSecretsAreHandled) {
    const std::string a = "aaaaaaaaaaaaaaaaaaaa", b = "bbbbbbbbbbbbbbbbbbbb";
    // An indented comment is a comment; a BOM and surrounding blanks are not part of anything.
    auto t = TokenSet::parse("\xEF\xBB\xBF" "alice:" + a + "\n  # tokens below are for the CI runners\n"
                             "\t# another\n  bob:" + b + " \t\r\n",
                             "token file F");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->check("Bearer " + a), "alice");
    EXPECT_EQ(t->check("Bearer " + b), "bob");
    EXPECT_FALSE(t->check("Bearer # tokens below are for the CI runners"));
    EXPECT_FALSE(t->check("Bearer   # tokens below are for the CI runners"));
    struct Case {
        std::string text, line, says;
    };
    for (const Case& c : {Case{"alice:" + a + "\nalice :" + b + "\n", ":2:", "token id has 1 to 64"},
                          Case{"al ice:" + a + "\n", ":1:", "token id has 1 to 64"},
                          Case{"al\x01ice:" + a + "\n", ":1:", "token id has 1 to 64"},
                          Case{"\xC3\xA9:" + a + "\n", ":1:", "token id has 1 to 64"},
                          Case{std::string(65, 'i') + ":" + a + "\n", ":1:", "token id has 1 to 64"},
                          Case{"# c\nalice:" + a + "\tx\n", ":2:", "spaces, tabs or control"},
                          Case{"alice: " + a + "\n", ":1:", "spaces, tabs or control"},
                          Case{"alice:" + a + " " + b + "\n", ":1:", "spaces, tabs or control"},
                          Case{"alice:" + a + "\x7f\n", ":1:", "spaces, tabs or control"},
                          Case{"alice:" + a + "\x1b\n", ":1:", "spaces, tabs or control"}}) {
        auto r = TokenSet::parse(c.text, "token file F");
        ASSERT_FALSE(r) << c.text;
        const std::string& m = r.error().message;
        EXPECT_NE(m.find("token file F" + c.line), std::string::npos) << m;
        EXPECT_NE(m.find(c.says), std::string::npos) << m;
        EXPECT_EQ(m.find(a), std::string::npos) << m;
        EXPECT_EQ(m.find(b), std::string::npos) << m;
    }
    // The longest id and the id characters are accepted.
    auto ok = TokenSet::parse(std::string(64, 'i') + ":" + a + "\nci-runner_1.x@host:" + b + "\n", "token file F");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->check("Bearer " + b), "ci-runner_1.x@host");
}

TEST(Tokens, TheFirstColonAlwaysSeparatesTheId) {
    // "abc:" + 20 characters: id "abc", secret the 20 characters; the whole line is no token.
    auto t = TokenSet::parse("abc:0123456789abcdefghij\n", "token file F");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->check("Bearer 0123456789abcdefghij"), "abc");
    EXPECT_FALSE(t->check("Bearer abc:0123456789abcdefghij"));
    // A bare secret with a ':' early in it leaves too short a secret: the message says why.
    auto short_rest = TokenSet::parse("0123456789abcdefghij:xyz\n", "token file F");
    ASSERT_FALSE(short_rest);
    EXPECT_NE(short_rest.error().message.find("first ':'"), std::string::npos) << short_rest.error().message;
    EXPECT_EQ(short_rest.error().message.find("0123456789"), std::string::npos) << short_rest.error().message;
}

TEST(OpenApi, DescribesExactlyTheRegisteredRoutes) {
    svctest::Harness h;
    std::set<std::pair<std::string, std::string>> documented;
    auto doc = openapi_document();
    EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
    for (const auto& [path, ops] : doc["paths"].items())
        for (const auto& [method, op] : ops.items()) {
            std::string m = method;
            std::transform(m.begin(), m.end(), m.begin(), ::toupper);
            documented.emplace(m, path);
            EXPECT_TRUE(op.contains("responses")) << method << " " << path;
        }
    EXPECT_EQ(documented, h.frontend->routes());
    // And it is what the endpoint serves.
    auto r = h.call("GET", "/v1/openapi.json");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(svctest::body_json(r), nlohmann::json(doc));
}

TEST(WarmPools, SettingsAreCheckedByKey) {
    Settings s;
    s.service = {{"pools", {{"mock", {{"size", 2}, {"warmup_eval", "(+ 1 1)"}}}}}};
    auto ok = read_pool_configs(s);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->at("mock").size, 2u);
    s.service = {{"pools", {{"mock", {{"sizes", 2}}}}}};
    EXPECT_NE(read_pool_configs(s).error().message.find("service.pools.mock.sizes"), std::string::npos);
    s.service = {{"pools", {{"mock", {{"size", -1}}}}}};
    EXPECT_FALSE(read_pool_configs(s));
    s.service = {{"pool", 1}};
    EXPECT_FALSE(read_pool_configs(s));
}

TEST(WarmPools, EachInstanceServesOneExecutionAndIsReplaced) {
    WarmPools pools(Settings{}, {{"mock", {2, "(+ 1 1)"}}});
    ASSERT_TRUE(pools.wait_full(std::chrono::seconds(30)));
    auto a = pools.claim("mock");
    auto b = pools.claim("mock");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->provider, b->provider);  // never one instance twice
    EXPECT_TRUE(a->provider->initialized());
    EXPECT_FALSE(pools.claim("mock"));    // empty: a miss
    EXPECT_FALSE(pools.claim("process")); // no pool: nothing
    Provider* retired = a->provider;
    pools.retire(std::move(*a));
    pools.retire(std::move(*b));
    ASSERT_TRUE(pools.wait_full(std::chrono::seconds(30)));
    auto c = pools.claim("mock");
    ASSERT_TRUE(c);
    EXPECT_GE(pools.created("mock"), 3u);
    (void)retired;
    auto f = pools.figures().at("mock");
    EXPECT_EQ(f.hits, 3u);
    EXPECT_EQ(f.misses, 1u);
    EXPECT_EQ(f.target, 2u);
    pools.retire(std::move(*c));
}

// A --listen port is digits only: from_chars alone read "-0" as port 0 (a port of the kernel's
// choosing) and took "+" nowhere, so the one rule (microvm/decimal.hpp) is held here.
TEST(ListenSpecs, APortIsDigitsOnly) {
    for (const char* bad : {"tcp:127.0.0.1:-0", "tcp:127.0.0.1:-1", "tcp:127.0.0.1:+80", "tcp:127.0.0.1: 80",
                            "tcp:127.0.0.1:65536", "tcp:127.0.0.1:", "tcp:127.0.0.1:99999999999999999999"}) {
        auto s = parse_listen(bad);
        ASSERT_FALSE(s) << bad;
        EXPECT_NE(s.error().message.find("bad port"), std::string::npos) << s.error().message;
    }
    auto ok = parse_listen("tcp:127.0.0.1:8080");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->port, 8080);
}
