// Clients of one daemon kept apart from each other and from the daemon's own files: a session is
// its creator's only (another client gets the 404 of an unknown id); no request's fs_policy
// reaches the state directory, the audit log (with its rotated files) or the token file; the
// audit log keeps env_vars by name, never their values; concurrent creates keep max_sessions.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "host/remove_tree.hpp"
#include "support/host_files.hpp"
#include "host/paths.hpp"
#include "host/trusted_state.hpp"
#include "service/listeners.hpp"
#include "service/sessions.hpp"
#include "support/expectations.hpp"

using namespace svctest;
using nlohmann::json;
using microvm::service::ClientIdentity;

namespace {

}  // namespace

TEST(ServiceIsolation, AnotherClientCannotUseOrEndASession) {
    Harness h;
    // Alice: the Unix socket (her uid). Bob: the TCP listener's token.
    std::string id = create_session(h, {{"provider", "mock"}, {"timeout", "5s"}});
    ASSERT_EQ(h.call("PUT", "/v1/sandboxes/" + id + "/files/secret.txt", "alice's").status, 200);
    const std::string unknown = "sbx-000000000000000000000000";
    for (const std::string& sid : {id, unknown}) {
        auto put = h.call_tcp("PUT", "/v1/sandboxes/" + sid + "/files/secret.txt", "bob's");
        EXPECT_EQ(put.status, 404) << put.body;
        auto get = h.call_tcp("GET", "/v1/sandboxes/" + sid + "/files/secret.txt");
        EXPECT_EQ(get.status, 404) << get.body;
        EXPECT_EQ(get.body.find("alice's"), std::string::npos);
        auto exec = h.call_tcp("POST", "/v1/sandboxes/" + sid + "/exec", json{{"eval", "(+ 1 2)"}}.dump());
        EXPECT_EQ(exec.status, 404) << exec.body;
        auto del = h.call_tcp("DELETE", "/v1/sandboxes/" + sid);
        EXPECT_EQ(del.status, 404) << del.body;
        EXPECT_NE(del.body.find("not_found"), std::string::npos) << del.body;
    }
    // Alice's session is untouched and still hers.
    auto get = h.call("GET", "/v1/sandboxes/" + id + "/files/secret.txt");
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "alice's");
    EXPECT_EQ(h.call_json("POST", "/v1/sandboxes/" + id + "/exec", {{"eval", "(+ 1 2)"}}).status, 200);
    EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 200);
}

TEST(ServiceIsolation, TwoTokenHoldersHaveTheirOwnSessions) {
    Harness h;
    auto& svc = *h.service;
    const ClientIdentity alice = token_client("alice"), bob = token_client("bob");
    auto made = svc.create_session(json{{"provider", "mock"}}.dump(), alice);
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string id = json::parse(made.body)["id"];
    // The same token from another address is the same holder.
    ClientIdentity alice_elsewhere = alice;
    alice_elsewhere.remote = "127.0.0.1:50000";
    EXPECT_EQ(svc.put_file(id, "f", "a", alice_elsewhere).status, 200);

    EXPECT_EQ(svc.put_file(id, "f", "b", bob).status, 404);
    EXPECT_EQ(svc.get_file(id, "f", bob).status, 404);
    microvm::CancelSource never;
    auto exec = svc.prepare_session_exec(id, json{{"eval", "1"}}.dump(), bob, never.token());
    ASSERT_FALSE(exec);
    EXPECT_EQ(exec.error().http_status, 404);
    EXPECT_EQ(svc.delete_session(id, bob).status, 404);

    auto got = svc.get_file(id, "f", alice);
    EXPECT_EQ(got.status, 200);
    EXPECT_TRUE(svc.prepare_session_exec(id, json{{"eval", "1"}}.dump(), alice, never.token()));
    EXPECT_EQ(svc.delete_session(id, alice).status, 200);
}

TEST(ServiceIsolation, PoliciesCannotReachTheDaemonsOwnFiles) {
    const std::string logs = make_temp_dir();
    const std::string audit_path = logs + "/audit.jsonl";
    const std::string token_path = logs + "/tokens";
    std::ofstream(token_path) << "t:secret\n";
    auto log = microvm::service::AuditLog::open(audit_path, microvm::service::AuditSync::Never);
    ASSERT_TRUE(log);
    {
        Harness h([&](microvm::service::ServiceOptions& o) { o.private_paths = {audit_path, token_path}; },
                  {}, std::move(*log));
        const std::string state = h.dir + "/state";
        // Another name of the state directory: judged by real path.
        const std::string link = logs + "/state-link";
        ASSERT_EQ(::symlink(state.c_str(), link.c_str()), 0);
        // Another mount of it: judged by identity (red team, 2026-12-07: an rbind of the state
        // directory let a client read and plant another's session files).
        const std::string alias = logs + "/state-alias", holder_alias = logs + "/dir-alias";
        ASSERT_EQ(::mkdir(alias.c_str(), 0700), 0);
        ASSERT_EQ(::mkdir(holder_alias.c_str(), 0700), 0);
        ASSERT_EQ(::mount(state.c_str(), alias.c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0) << std::strerror(errno);
        ASSERT_EQ(::mount(h.dir.c_str(), holder_alias.c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0) << std::strerror(errno);
        struct Unmount {
            std::vector<std::string> at;
            ~Unmount() {
                for (const std::string& p : at) ::umount2(p.c_str(), MNT_DETACH);
            }
        } unmount{{alias, holder_alias}};
        for (const std::string& fs :
             {"rw=" + state, "rw=" + state + "/sandboxes", "ro=" + state + "/sandboxes", "rw=" + audit_path,
              "ro=" + audit_path, "rw=" + audit_path + ".1", "rw=" + logs, "rw=" + token_path,
              "rw=/tmp/elsewhere;ro=" + state, "rw=" + h.dir, "rw=" + link, "ro=" + link + "/sandboxes",
              "rw=" + alias, "ro=" + alias + "/sandboxes", "rw=" + holder_alias}) {
            auto r = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "1"}, {"fs_policy", fs}});
            EXPECT_EQ(r.status, 400) << fs << ": " << r.body;
            EXPECT_NE(r.body.find("daemon's own files"), std::string::npos) << fs << ": " << r.body;
            auto s = h.call_json("POST", "/v1/sandboxes", {{"provider", "mock"}, {"fs_policy", fs}});
            EXPECT_EQ(s.status, 400) << fs << ": " << s.body;
        }
        // A read-only path holding them, to a provider whose program reaches files as the daemon
        // (wasm, mock): a wasm execution given ro=/run read every client's token, and ro=/tmp
        // another client's session files (red team, 2026-12-06).
        for (const std::string provider : {"mock", "wasm"}) {
            for (const std::string& fs : {"ro=" + logs, "ro=" + h.dir, "rw=/tmp/elsewhere;ro=" + logs}) {
                auto r = h.call_json("POST", "/v1/executions",
                                     {{"provider", provider}, {"eval", "1"}, {"fs_policy", fs}});
                EXPECT_EQ(r.status, 400) << provider << " " << fs << ": " << r.body;
                EXPECT_NE(r.body.find("daemon's own files"), std::string::npos) << provider << " " << fs << ": " << r.body;
                auto s = h.call_json("POST", "/v1/sandboxes", {{"provider", provider}, {"fs_policy", fs}});
                EXPECT_EQ(s.status, 400) << provider << " " << fs << ": " << s.body;
            }
        }
        // The rotated files, made later, are also trusted state for whoever plans a sandbox in
        // this process (a pool, a session's provider), not only refused to requests.
        for (const std::string& rotated : {audit_path + ".1", audit_path + ".5"}) {
            auto refused = microvm::host::refuse_writable_trusted_state(microvm::host::resolved_path(rotated), "rw= path");
            EXPECT_FALSE(refused) << rotated << " is writable by a sandbox of the daemon";
        }
        // Neighbours of those files stay usable, and sessions still get their work directory.
        const std::string beside = logs + "/audit.jsonl-not-rotated";
        auto ok = h.call_json("POST", "/v1/executions",
                              {{"provider", "mock"}, {"eval", "1"}, {"fs_policy", "rw=" + beside}});
        EXPECT_EQ(ok.status, 200) << ok.body;
        std::string id = create_session(h, {{"provider", "mock"}});
        EXPECT_EQ(h.call_json("POST", "/v1/sandboxes/" + id + "/exec", {{"eval", "1"}}).status, 200);
    }
    microvm::host::remove_tree(logs);
}

// fs "full" on wasm is the daemon's own file access: a wasm program read every client's token
// under it, and could write what the daemon runs (red team and review, 2026-12-06). Refused, for
// executions and sessions alike; the daemon's files are private to its process as well
// (host/private_files.hpp, WasmPrivateFiles.* in the wasm provider's tests).
TEST(ServiceIsolation, FullFileAccessIsRefusedToWasm) {
    Harness h;
    for (const char* path : {"/v1/executions", "/v1/sandboxes"}) {
        json body = {{"provider", "wasm"}, {"fs_policy", "full"}};
        if (std::string(path) == "/v1/executions") body["eval"] = "1";
        auto r = h.call_json("POST", path, body);
        EXPECT_EQ(r.status, 400) << path << ": " << r.body;
        EXPECT_NE(r.body.find("the daemon's own file access"), std::string::npos) << r.body;
    }
}

// The attack (red team, 2026-12-04): a session granted rw= over the directory of the daemon's
// --config wrote a config.toml naming a runsc of its own (root's files through the idmapped
// bind pass every owner check), which the restarted daemon ran as root; another read the TLS
// key the same way. The settings file and every file the daemon is given are its own, refused to
// requests, and trusted state that no sandbox of this process may write, whoever asks.
TEST(ServiceIsolation, TheSettingsFileAndTlsKeyAreTheDaemonsOwnAndNoSandboxWritesThem) {
    const std::string etc = make_temp_dir();
    const std::string config = etc + "/config.toml";
    const std::string key = etc + "/tls/key.pem";
    std::filesystem::create_directories(etc + "/tls");
    std::ofstream(config) << "";
    std::ofstream(key) << "-----BEGIN PRIVATE KEY-----\n";
    {
        Harness h([&](microvm::service::ServiceOptions& o) {
            o.settings.source_file = config;
            o.private_paths = {key};
        });
        for (const std::string& fs : {"rw=" + etc, "ro=" + config, "rw=" + etc + "/tls", "ro=" + key}) {
            auto r = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "1"}, {"fs_policy", fs}});
            EXPECT_EQ(r.status, 400) << fs << ": " << r.body;
            EXPECT_NE(r.body.find("daemon's own"), std::string::npos) << fs << ": " << r.body;
        }
        // Whoever plans a sandbox in this process (a session's provider, a pool) is refused too.
        for (const std::string& dir : {etc, etc + "/tls"}) {
            auto refused = microvm::host::refuse_writable_trusted_state(microvm::host::resolved_path(dir), "rw= path");
            EXPECT_FALSE(refused) << dir << " is writable by a sandbox of the daemon";
        }
    }
    microvm::host::remove_tree(etc);
}

TEST(ServiceIsolation, TheAuditLogKeepsEnvVarNamesNotValues) {
    const std::string logs = make_temp_dir();
    const std::string audit_path = logs + "/audit.jsonl";
    auto log = microvm::service::AuditLog::open(audit_path, microvm::service::AuditSync::Never);
    ASSERT_TRUE(log);
    {
        Harness h(nullptr, {}, std::move(*log));
        const json env = {{"OPENAI_API_KEY", "sk-live-SECRET123"}};
        auto r = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "1"}, {"env_vars", env}});
        EXPECT_EQ(r.status, 200) << r.body;
        std::string id = create_session(h, {{"provider", "mock"}, {"env_vars", env}});
        auto e = h.call_json("POST", "/v1/sandboxes/" + id + "/exec",
                             {{"eval", "1"}, {"env_vars", {{"OTHER_TOKEN", "ghp-SECRET456"}}}});
        EXPECT_EQ(e.status, 200) << e.body;
    }
    const std::string text = testsupport::read_text(audit_path);
    microvm::host::remove_tree(logs);
    EXPECT_NE(text.find("OPENAI_API_KEY"), std::string::npos) << text;
    EXPECT_NE(text.find("OTHER_TOKEN"), std::string::npos) << text;
    EXPECT_EQ(text.find("SECRET123"), std::string::npos) << text;
    EXPECT_EQ(text.find("SECRET456"), std::string::npos) << text;
    size_t records = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line); ++records) {
        const json rec = json::parse(line);
        if (rec["event"] == "execution") {
            EXPECT_EQ(rec["policy"]["env_vars"], json::array({"OPENAI_API_KEY"}));
        }
    }
    EXPECT_GE(records, 3u);
}

// A request line of several KiB (a session id or a file path) made an audit record as long (red
// team, 2026-12-03): an id longer than any session's is 404 at once and logs nothing; a long path
// is logged cut to kAuditFieldMax with a marker.
TEST(ServiceIsolation, LongIdsAndPathsDoNotMakeLongAuditRecords) {
    const std::string logs = make_temp_dir();
    const std::string audit_path = logs + "/audit.jsonl";
    auto log = microvm::service::AuditLog::open(audit_path, microvm::service::AuditSync::Never);
    ASSERT_TRUE(log);
    const std::string long_id = "sbx-" + std::string(6000, 'a');
    const std::string long_path = std::string(6000, 'p');
    {
        Harness h(nullptr, {}, std::move(*log));
        for (const std::string method : {"DELETE", "GET"}) {
            auto r = h.call(method, method == "DELETE" ? "/v1/sandboxes/" + long_id
                                                       : "/v1/sandboxes/" + long_id + "/files/f");
            EXPECT_EQ(r.status, 404) << r.body;
            EXPECT_EQ(r.body.find("aaaaaaaa"), std::string::npos) << r.body.substr(0, 200);
        }
        EXPECT_EQ(h.call_json("POST", "/v1/sandboxes/" + long_id + "/exec", {{"eval", "1"}}).status, 404);
        EXPECT_EQ(h.call("PUT", "/v1/sandboxes/" + long_id + "/files/f", "x").status, 404);
        const std::string id = create_session(h, {{"provider", "mock"}});
        EXPECT_NE(h.call("GET", "/v1/sandboxes/" + id + "/files/" + long_path).status, 200);
        // A valid policy of many capabilities and variables: each key kept whole up to
        // kAuditValueMax, else its size and digest (a 60,000-capability policy made a 0.9 MB
        // record: red team, 2026-12-07).
        json capabilities = json::array(), env = json::object();
        for (int i = 0; i < 20000; ++i) capabilities.push_back("ccos.cap" + std::to_string(i));
        for (int i = 0; i < 5000; ++i) env["VAR" + std::to_string(i)] = "v";
        auto ran = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "1"}, {"capabilities", capabilities},
                                                          {"env_vars", env}, {"timeout", "5s"}});
        EXPECT_EQ(ran.status, 200) << ran.body.substr(0, 300);
        auto made = h.call_json("POST", "/v1/sandboxes", {{"provider", "mock"}, {"capabilities", capabilities}});
        EXPECT_EQ(made.status, 201) << made.body.substr(0, 300);
    }
    const std::string text = testsupport::read_text(audit_path);
    microvm::host::remove_tree(logs);
    EXPECT_EQ(text.find("aaaaaaaa"), std::string::npos) << "the long id was logged";
    size_t get_records = 0, digested = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_LT(line.size(), 3 * microvm::service::kAuditValueMax) << line.substr(0, 300);
        const json rec = json::parse(line);
        const json* policy = rec.contains("policy") ? &rec["policy"]
                             : rec.contains("detail") && rec["detail"].contains("policy") ? &rec["detail"]["policy"]
                                                                                          : nullptr;
        if (policy && policy->contains("capabilities")) {
            EXPECT_EQ((*policy)["capabilities"]["sha256"].get<std::string>().size(), 64u) << line.substr(0, 300);
            EXPECT_GT((*policy)["capabilities"]["truncated_bytes"], 200000) << line.substr(0, 300);
            ++digested;
        }
        if (rec["event"] != "session_get_file") continue;
        ++get_records;
        const std::string path = rec["detail"]["path"];
        EXPECT_TRUE(path.starts_with(std::string(microvm::service::kAuditFieldMax, 'p'))) << path;
        EXPECT_NE(path.find("truncated, 6000 bytes"), std::string::npos) << path;
    }
    EXPECT_EQ(get_records, 1u) << text.substr(0, 2000);
    EXPECT_EQ(digested, 2u) << "the execution's and the session's records";
}

TEST(ServiceIsolation, ConcurrentCreatesKeepTheSessionsLimit) {
    // Without the slot reserved under the limit check, creates between the check and the insert
    // all pass it (a race: this test catches it often, not surely).
    const std::string dir = make_temp_dir();
    for (int round = 0; round < 10; ++round) {
        constexpr size_t kMax = 4;
        microvm::service::SessionStore store(dir, std::chrono::seconds(600), std::chrono::seconds(600), kMax, kMax, nullptr);
        std::atomic<int> created{0}, go{0};
        std::vector<std::thread> threads;
        std::vector<std::shared_ptr<microvm::service::Session>> kept(32);
        for (size_t i = 0; i < kept.size(); ++i)
            threads.emplace_back([&, i] {
                while (!go.load()) std::this_thread::yield();
                auto s = store.create("mock", {}, token_client("t" + std::to_string(i)));
                if (s) {
                    ++created;
                    kept[i] = *s;
                }
            });
        go = 1;
        for (auto& t : threads) t.join();
        EXPECT_EQ(created.load(), static_cast<int>(kMax)) << "round " << round;
        EXPECT_EQ(store.size(), kMax);
    }
    microvm::host::remove_tree(dir);
}

// A client set max_output_bytes up to the 1 GiB a local run may keep per stream; the daemon
// holds what a run wrote several times over while it makes the reply (the red team: 64 MiB of
// NULs took 885 MB of daemon memory). Requests asking more than the daemon's ceiling are refused
// up front, for one-shot runs, session creation and session execs alike; within it they run.
TEST(ServiceIsolation, OutputKeptPerStreamIsCappedByTheDaemon) {
    Harness h([](microvm::service::ServiceOptions& o) { o.max_output_bytes = 4096; });
    auto over = h.call_json("POST", "/v1/executions",
                            {{"provider", "mock"}, {"eval", "(+ 1 2)"}, {"max_output_bytes", 4097}});
    EXPECT_EQ(over.status, 400) << over.body;
    EXPECT_NE(over.body.find("max_output_bytes"), std::string::npos) << over.body;
    EXPECT_NE(over.body.find("4096"), std::string::npos) << over.body;
    auto at = h.call_json("POST", "/v1/executions",
                          {{"provider", "mock"}, {"eval", "(+ 1 2)"}, {"max_output_bytes", 4096}});
    EXPECT_EQ(at.status, 200) << at.body;
    auto session = h.call_json("POST", "/v1/sandboxes", {{"provider", "mock"}, {"max_output_bytes", 1 << 30}});
    EXPECT_EQ(session.status, 400) << session.body;
    const std::string id = create_session(h, {{"provider", "mock"}});
    auto exec = h.call_json("POST", "/v1/sandboxes/" + id + "/exec", {{"eval", "(+ 1 2)"}, {"max_output_bytes", 5000}});
    EXPECT_EQ(exec.status, 400) << exec.body;
    EXPECT_EQ(h.call_json("POST", "/v1/sandboxes/" + id + "/exec", {{"eval", "(+ 1 2)"}}).status, 200);
}

// Red team, 2026-12-05: root's daemon, started under `su` with a user's $XDG_RUNTIME_DIR, kept
// its state there; the user swapped the checked directory for one of its own and read every
// client's uploads, and a swap to a symlink made the start-up sweep empty another directory.
// Root's defaults ignore the variable, and no state directory may lie below another user's.
TEST(ServiceIsolation, RootsDefaultPlacesIgnoreXdgRuntimeDir) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "root's defaults");
    const char* before = std::getenv("XDG_RUNTIME_DIR");
    const std::string kept = before ? before : "";
    ::setenv("XDG_RUNTIME_DIR", "/tmp/a-users-runtime-dir", 1);  // not a scratch path: to be ignored
    const std::string state = microvm::service::default_state_dir();
    const std::string socket = microvm::service::default_unix_socket_path();
    if (before) ::setenv("XDG_RUNTIME_DIR", kept.c_str(), 1);
    else ::unsetenv("XDG_RUNTIME_DIR");
    EXPECT_EQ(state, "/run/microvmd/state");
    EXPECT_EQ(socket, "/run/microvmd/microvmd.sock");
}

TEST(ServiceIsolation, AStateDirectoryBelowAnotherUsersDirectoryIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a directory of another user's needs root to make");
    const std::string dir = make_temp_dir();
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
    const std::string users = dir + "/users-runtime-dir";
    ASSERT_EQ(::mkdir(users.c_str(), 0755), 0);
    ASSERT_EQ(::chown(users.c_str(), 65534, 65534), 0);
    const std::string state = users + "/microvmd";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);  // made by root, as the daemon would
    microvm::service::ServiceOptions opts;
    opts.state_dir = state;
    opts.allow_unisolated = true;
    auto refused = microvm::service::Service::create(opts, nullptr);
    ASSERT_FALSE(refused) << "a state directory below uid 65534's directory was taken";
    EXPECT_NE(refused.error().message.find("owned by uid 65534"), std::string::npos) << refused.error().message;

    // Through their symlink to a directory of root's (a review): they would choose which of
    // root's directories is made and swept. Refused, and nothing made there.
    const std::string roots = dir + "/roots";
    ASSERT_EQ(::mkdir(roots.c_str(), 0755), 0);
    ASSERT_EQ(::symlink(roots.c_str(), (users + "/link").c_str()), 0);
    opts.state_dir = users + "/link/state";
    auto linked = microvm::service::Service::create(opts, nullptr);
    ASSERT_FALSE(linked) << "a state directory through uid 65534's symlink was taken";
    EXPECT_NE(linked.error().message.find("through a symlink"), std::string::npos) << linked.error().message;
    EXPECT_FALSE(std::filesystem::exists(roots + "/state"));

    // Below /tmp (sticky) in a directory of root's, as every other test's: taken.
    opts.state_dir = dir + "/state";
    {
        auto taken = microvm::service::Service::create(opts, nullptr);
        EXPECT_TRUE(taken) << taken.error().message;
    }
    microvm::host::remove_tree(dir);
}
