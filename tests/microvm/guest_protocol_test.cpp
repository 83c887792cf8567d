// The provider <-> guest runner wire format: round trips, and malformed input as errors.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "microvm/guest_protocol.hpp"
#include "rtfs/printer.hpp"
#include "microvm/guest_run.hpp"
#include "microvm/json_output.hpp"
#include "support/expectations.hpp"
#include "test_support.hpp"

namespace microvm::guest {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

TEST(GuestProtocol, JobRoundTrip) {
    Job job;
    job.source = "(call :ccos.io.println \"h\xc3\xa9\")";
    job.args = {"1", "\"two\"", "[3]"};
    job.runtime_context = rtfs::RuntimeContext::controlled({"ccos.io.println"});
    job.timeout_ms = 1500;
    job.network_policy = "allow=a.com";
    auto back = decode_job(encode_job(job));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->source, job.source);
    EXPECT_EQ(back->args, job.args);
    EXPECT_EQ(back->runtime_context.level, rtfs::RuntimeContext::Level::Controlled);
    EXPECT_EQ(back->runtime_context.allowed, job.runtime_context.allowed);
    EXPECT_EQ(back->timeout_ms, 1500u);
    EXPECT_EQ(back->network_policy, "allow=a.com");
}

TEST(GuestProtocol, ResultRoundTripThroughFrame) {
    Result r;
    r.ok = false;
    r.error_kind = "SecurityViolation";
    r.error_message = "denied";
    r.effects.network_requests.push_back({"http://x/", "GET", 404, 7, ""});
    r.effects.file_operations.push_back({"/tmp/f", "write", 3, "EACCES"});  // not a scratch path: a guest's
    auto back = read_result_frame(result_frame(r));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_FALSE(back->ok);
    EXPECT_EQ(back->error_kind, "SecurityViolation");
    EXPECT_EQ(back->error_message, "denied");
    ASSERT_EQ(back->effects.network_requests.size(), 1u);
    EXPECT_EQ(back->effects.network_requests[0].status, 404);
    EXPECT_EQ(back->effects.network_requests[0].bytes, 7u);
    ASSERT_EQ(back->effects.file_operations.size(), 1u);
    EXPECT_EQ(back->effects.file_operations[0].error, "EACCES");
}

TEST(GuestProtocol, InvalidUtf8ValueDoesNotThrow) {
    Result r;
    r.ok = true;
    r.value = std::string("\"\xff\"", 3);
    std::string body;
    EXPECT_NO_THROW(body = encode_result(r));
    auto back = decode_result(body);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(back->ok);
}

TEST(GuestProtocol, ResultFrameIsBigEndianLengthThenType) {
    std::string f = agent::encode_frame(agent::FrameType::Result, "abc");
    ASSERT_EQ(f.size(), 8u);
    EXPECT_EQ(f.substr(0, 5), std::string("\x00\x00\x00\x04\x07", 5));
    EXPECT_EQ(f.substr(5), "abc");
}

std::string error_of(std::string_view bytes) {
    auto r = read_result_frame(bytes);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
}

TEST(GuestProtocol, MalformedFrames) {
    auto frame = [](std::string_view body) {
        return agent::encode_frame(agent::FrameType::Result, body);
    };
    std::string full = result_frame(Result{true, "1", "", "", {}});
    EXPECT_NE(error_of("").find("no Result frame"), std::string::npos);
    EXPECT_NE(error_of(std::string("\x00\x00", 2)).find("truncated"), std::string::npos);
    EXPECT_NE(error_of(full.substr(0, full.size() - 1)).find("truncated"), std::string::npos);
    EXPECT_NE(error_of(full + "x").find("unexpected bytes"), std::string::npos);
    EXPECT_NE(error_of(std::string("\xff\xff\xff\xff", 4) + "{}").find("exceeds"),
              std::string::npos);
    EXPECT_NE(error_of(agent::encode_frame(agent::FrameType::Exit, "{}")).find("Exit frame where the Result frame"),
              std::string::npos);
    EXPECT_NE(error_of(frame("{not json")).find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of(frame("[1,2]")).find("not a JSON object"), std::string::npos);
    EXPECT_NE(error_of(frame("{}")).find("no ok field"), std::string::npos);
    EXPECT_NE(error_of(frame(R"({"ok":"yes"})")).find("ok must be a boolean"), std::string::npos);
    EXPECT_NE(error_of(frame(R"({"ok":true,"value":3})")).find("value"), std::string::npos);
    EXPECT_NE(error_of(frame(R"({"ok":true,"effects":[]})")).find("effects"), std::string::npos);
    EXPECT_NE(error_of(frame(R"({"ok":true,"effects":{"network_requests":[1]}})"))
                  .find("network_requests"),
              std::string::npos);
    EXPECT_NE(error_of(frame(R"({"ok":true,"effects":{"file_operations":[{"bytes":-1}]}})"))
                  .find("bytes"),
              std::string::npos);
    EXPECT_NE(
        error_of(frame(R"({"ok":true,"effects":{"network_requests":[{"status":99999999999}]}})"))
            .find("status"),
        std::string::npos);
    std::string deep(100000, '[');
    EXPECT_FALSE(read_result_frame(frame(deep)).has_value());
}

TEST(GuestProtocol, MalformedJobs) {
    EXPECT_FALSE(decode_job("").has_value());
    EXPECT_FALSE(decode_job("{}").has_value());
    EXPECT_FALSE(decode_job(R"({"source":1})").has_value());
    EXPECT_FALSE(decode_job(R"({"source":"1","args":"x"})").has_value());
    EXPECT_FALSE(decode_job(R"({"source":"1","args":[1]})").has_value());
    EXPECT_FALSE(decode_job(R"({"source":"1","timeout_ms":-5})").has_value());
    EXPECT_FALSE(decode_job(R"({"source":"1","runtime_context":{"level":"root"}})").has_value());
    auto minimal = decode_job(R"json({"source":"(+ 1 2)"})json");
    ASSERT_TRUE(minimal.has_value());
    EXPECT_EQ(minimal->runtime_context.level, rtfs::RuntimeContext::Level::Pure);
}

// Protocol 2's VM additions: Setup/Ready, Exec limits, Usage oom_killed.
TEST(GuestProtocol, SetupRoundTripAndHostileSetups) {
    guest::Setup s;
    s.realtime_ns = 1'700'000'000'123'456'789u;
    s.seed_hex = "00ff10ab";
    s.shares = {{"s0", "/data/in", false}, {"s1", "/data/out", true}};
    s.network = true;
    auto back = decode_setup(encode_setup(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->realtime_ns, s.realtime_ns);
    EXPECT_EQ(back->seed_hex, s.seed_hex);
    ASSERT_EQ(back->shares.size(), 2u);
    EXPECT_EQ(back->shares[1].path, "/data/out");
    EXPECT_TRUE(back->shares[1].writable);
    EXPECT_TRUE(back->network);
    for (const char* bad : {
             R"({"seed":"abc"})",                                   // odd length
             R"({"seed":"ZZ"})",                                    // not hex
             R"({"shares":[{"tag":"s0","path":"relative"}]})",      // not absolute
             R"({"shares":[{"tag":"s0","path":"/a/../etc"}]})",     // a .. part
             R"({"shares":[{"tag":"s0","path":"/"}]})",             // over the whole root
             R"({"shares":[{"tag":"S 0","path":"/a"}]})",           // bad tag
             R"({"shares":{"tag":"s0"}})",                          // not an array
             R"({"realtime_ns":-1})",
         }) {
        EXPECT_FALSE(decode_setup(bad)) << bad;
    }
    EXPECT_FALSE(decode_setup("{\"seed\":\"" + std::string(1026, 'a') + "\"}"));
    auto ready = decode_ready(encode_ready({"6.1.192-microvm"}));
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->kernel, "6.1.192-microvm");
}

// Allow/block lists in a VM: proxy_only rides on network, and is absent from a Setup without it
// (an agent that predates it sees the same Setup as before).
TEST(GuestProtocol, SetupProxyOnlyRoundTripsAndNeedsNetwork) {
    guest::Setup s;
    s.network = true;
    EXPECT_EQ(encode_setup(s).find("proxy_only"), std::string::npos);
    s.proxy_only = true;
    auto back = decode_setup(encode_setup(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(back->network);
    EXPECT_TRUE(back->proxy_only);
    auto plain = decode_setup(R"({"network":true})");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->proxy_only);
    EXPECT_FALSE(decode_setup(R"({"proxy_only":true})"));                  // without network
    EXPECT_FALSE(decode_setup(R"({"network":true,"proxy_only":"yes"})"));  // not a boolean
}

// The program's uid in a VM: absent when 0 (nobody), round-trips otherwise; refused when it is
// not a uid (negative, 2^32 - 1 or beyond, not a number).
TEST(GuestProtocol, SetupProgramUidRoundTripsAndIsAUid) {
    guest::Setup s;
    EXPECT_EQ(encode_setup(s).find("program_uid"), std::string::npos);
    s.program_uid = 0x71000005u;
    auto back = decode_setup(encode_setup(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->program_uid, 0x71000005u);
    EXPECT_EQ(decode_setup("{}")->program_uid, 0u);
    EXPECT_FALSE(decode_setup(R"({"program_uid":-1})"));
    EXPECT_FALSE(decode_setup(R"({"program_uid":4294967295})"));
    EXPECT_FALSE(decode_setup(R"({"program_uid":4294967296})"));
    EXPECT_FALSE(decode_setup(R"({"program_uid":"0"})"));
}

TEST(GuestProtocol, ExecLimitsAndOomRoundTrip) {
    Exec e;
    e.kind = Exec::Kind::Program;
    e.argv = {"/bin/true"};
    e.memory_max_bytes = 64u << 20;
    e.max_processes = 32;
    auto back = decode_exec(encode_exec(e));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->memory_max_bytes, 64u << 20);
    EXPECT_EQ(back->max_processes, 32u);
    Usage u;
    u.oom_killed = true;
    auto ub = decode_usage(encode_usage(u));
    ASSERT_TRUE(ub);
    EXPECT_TRUE(ub->oom_killed);
    EXPECT_FALSE(decode_usage(R"({"oom_killed":1})"));
    EXPECT_EQ(agent::kProtocolVersion, 2u);
    EXPECT_STREQ(agent::type_name(agent::FrameType::Setup), "Setup");
    EXPECT_STREQ(agent::type_name(agent::FrameType::Ready), "Ready");
}

TEST(GuestRunner, EnvironmentVariableWins) {
    TempDir dir;
    std::string runner = dir.write("microvm-guest", "#!/bin/sh\n");
    ::chmod(runner.c_str(), 0755);
    ScopedEnv env("MICROVM_GUEST", runner);
    auto found = find_guest_runner();
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(*found, runner);
}

TEST(GuestRunner, BadEnvironmentVariableIsAnError) {
    TempDir dir;
    std::string not_exec = dir.write("microvm-guest", "x");
    ScopedEnv env("MICROVM_GUEST", not_exec);
    auto found = find_guest_runner();
    ASSERT_FALSE(found.has_value());
    EXPECT_NE(found.error().message.find(not_exec), std::string::npos);
}

// Red team, 2026-12-05: root's run under `sudo -E` took a user's $MICROVM_GUEST as its guest
// runner, which saw every RTFS program's inputs and forged its results. A runner (or a
// directory above it) that another user owns is refused; one of root's below /tmp is not.
TEST(GuestRunner, ARunnerAnotherUserCouldReplaceIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "files of another user need root to make");
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    std::string theirs = dir.write("theirs/microvm-guest", "#!/bin/sh\n");
    ASSERT_EQ(::chmod(theirs.c_str(), 0755), 0);
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
    std::string in_their_dir = dir.write("their-dir/microvm-guest", "#!/bin/sh\n");
    ASSERT_EQ(::chmod(in_their_dir.c_str(), 0755), 0);
    ASSERT_EQ(::chown((dir.path() / "their-dir").c_str(), 65534, 65534), 0);
    for (const std::string& runner : {theirs, in_their_dir}) {
        ScopedEnv env("MICROVM_GUEST", runner);
        auto found = find_guest_runner();
        ASSERT_FALSE(found.has_value()) << runner << " was taken";
        EXPECT_NE(found.error().message.find("owned by uid 65534"), std::string::npos) << found.error().message;
    }
    std::string ours = dir.write("ours/microvm-guest", "#!/bin/sh\n");
    ASSERT_EQ(::chmod(ours.c_str(), 0755), 0);
    {
        ScopedEnv env("MICROVM_GUEST", ours);
        EXPECT_TRUE(find_guest_runner().has_value());
    }
    // Through their symlink to our directory (a review): the path judged is the one returned,
    // never the one they may repoint after the check.
    std::filesystem::create_directory(dir.path() / "links");
    std::filesystem::create_directory_symlink(dir.path() / "ours", dir.path() / "links" / "d");
    ASSERT_EQ(::lchown((dir.path() / "links" / "d").c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chown((dir.path() / "links").c_str(), 65534, 65534), 0);
    ScopedEnv env("MICROVM_GUEST", (dir.path() / "links" / "d" / "microvm-guest").string());
    auto found = find_guest_runner();
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(*found, ours);
}

// Red team, 2026-12-05: the places searched (beside the executable, its sibling folder, the
// build tree) were taken as found: a build tree removed from below /tmp after an install, remade
// there by another user, gave root's runs that user's guest runner, which saw every RTFS job and
// wrote its result. A runner on a path another user made is passed over (and named) now.
TEST(GuestRunner, ASearchedRunnerOnAPathAnotherUserMadeIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "files of another user need root to make");
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    std::string planted = dir.write("build/tools/guest/microvm-guest", "#!/bin/sh\n");
    ASSERT_EQ(::chmod(planted.c_str(), 0755), 0);
    ASSERT_EQ(::chown(planted.c_str(), 65534, 65534), 0);
    for (const char* d : {"build", "build/tools", "build/tools/guest"}) {
        ASSERT_EQ(::chown((dir.path() / d).c_str(), 65534, 65534), 0);
    }
    const std::string bin = dir.path().string() + "/bin";
    auto found = find_guest_runner({std::nullopt, bin, planted});
    ASSERT_FALSE(found.has_value()) << "their runner was taken: " << *found;
    EXPECT_NE(found.error().message.find("uid 65534"), std::string::npos) << found.error().message;
    // Their symlink to a runner of root's: refused as well (they choose what it names).
    ASSERT_EQ(::unlink(planted.c_str()), 0);
    std::string real = dir.write("real/microvm-guest", "#!/bin/sh\n");
    ASSERT_EQ(::chmod(real.c_str(), 0755), 0);
    ASSERT_EQ(::symlink(real.c_str(), planted.c_str()), 0);
    ASSERT_EQ(::lchown(planted.c_str(), 65534, 65534), 0);
    found = find_guest_runner({std::nullopt, bin, planted});
    ASSERT_FALSE(found.has_value()) << "through their symlink: " << *found;
    // A symlink of root's into their directory, where their symlink names a runner of root's: the
    // entries of every target met are judged too (a review: only the path as given and the real
    // path were, and their symlink chose root's runner).
    const std::string theirs = dir.path().string() + "/theirs";
    ASSERT_EQ(::mkdir(theirs.c_str(), 0755), 0);
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::symlink(real.c_str(), (theirs + "/hop").c_str()), 0);
    ASSERT_EQ(::lchown((theirs + "/hop").c_str(), 65534, 65534), 0);
    ASSERT_EQ(::mkdir((dir.path() / "ours").c_str(), 0755), 0);
    const std::string ours = dir.path().string() + "/ours/microvm-guest";
    ASSERT_EQ(::symlink((theirs + "/hop").c_str(), ours.c_str()), 0);
    found = find_guest_runner({std::nullopt, dir.path().string() + "/none/bin", ours});
    ASSERT_FALSE(found.has_value()) << "through their symlink behind ours: " << *found;
    EXPECT_NE(found.error().message.find("uid 65534"), std::string::npos) << found.error().message;
    // Refused at an earlier place, a trusted later one is still found.
    found = find_guest_runner({std::nullopt, dir.path().string() + "/build/tools/bin", real});
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(*found, real);
}

TEST(GuestRunner, ErrorNamesThePlacesLooked) {
    TempDir dir;
    const std::string root = dir.path().string();
    const std::string bin = root + "/bin";
    const std::string build = root + "/build/microvm-guest";
    auto found = find_guest_runner({std::nullopt, bin, build});
    ASSERT_FALSE(found.has_value()) << *found;
    const std::string& m = found.error().message;
    for (const std::string& place :
         {std::string("$MICROVM_GUEST (unset)"), bin + "/microvm-guest",
          root + "/guest/microvm-guest", build}) {
        EXPECT_NE(m.find(place), std::string::npos) << place << " in: " << m;
    }
}

TEST(GuestRunner, LooksNextToTheExecutableThenInTheBuildTree) {
    TempDir dir;
    std::string built = dir.write("build/microvm-guest", "#!/bin/sh\n");
    ::chmod(built.c_str(), 0755);
    const std::string bin = dir.path().string() + "/bin";
    auto found = find_guest_runner({std::nullopt, bin, built});
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(*found, built);
    std::string sibling = dir.write("guest/microvm-guest", "#!/bin/sh\n");
    ::chmod(sibling.c_str(), 0755);
    found = find_guest_runner({std::nullopt, bin, built});
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(*found, sibling);
}

}  // namespace
}  // namespace microvm::guest

// A hostile runner or agent can nest JSON as deep as its frame allows (64 MiB): every decoder
// answers with an error or a value, never a crash of the host (a recursive copy or print of such
// a value overflows the stack).
TEST(GuestProtocolHostile, DeeplyNestedJsonInAnyFrameIsRefusedOrIgnoredWithoutACrash) {
    const size_t depth = 400000;
    const std::string deep = std::string(depth, '[') + std::string(depth, ']');
    for (const std::string& text :
         {"{\"value\":" + deep + "}", "{\"status\":\"ok\",\"extra\":{\"a\":" + deep + "}}"}) {
        (void)microvm::guest::decode_result(text);
        (void)microvm::guest::decode_job(text);
        (void)microvm::guest::decode_hello(text);
        (void)microvm::guest::decode_exec(text);
        (void)microvm::guest::decode_exit(text);
        (void)microvm::guest::decode_usage(text);
        (void)microvm::guest::decode_kill(text);
        (void)microvm::guest::decode_setup(text);
        (void)microvm::guest::decode_ready(text);
        auto e = microvm::guest::decode_agent_error(text);
        if (!e) {
            EXPECT_LT(e.error().message.size(), 4096u);
        }
    }
    SUCCEED();
}

namespace microvm::guest {
namespace {

// A reply from inside a sandbox is refused before it is parsed when it nests deeper or holds more
// values than any message of the protocol needs: a parse builds a tree several times the text's
// size (a red team's 15 MB of 5 million empty records made the host hold 3.2 GB; 20 MB of '['
// 786 MB). Messages the host writes (a job, Exec) are not held to it.
TEST(GuestProtocolHostile, ARepliesShapeIsBoundedBeforeItIsParsed) {
    std::string many = R"({"ok":true,"value":"1","effects":{"network_requests":[)";
    for (int i = 0; i < 100'001; ++i) many += i ? ",{}" : "{}";
    many += "]}}";
    auto r = decode_result(many);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("holds more than 100000 values"), std::string::npos) << r.error().message;

    const std::string deep = R"({"ok":true,"value":"1","x":)" + std::string(17, '[') + std::string(17, ']') + "}";
    r = decode_result(deep);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("nests deeper than 16"), std::string::npos) << r.error().message;
    // Brackets and commas inside strings are text, not structure.
    auto fine = decode_result(R"({"ok":true,"value":")" + std::string(200'000, '[') + std::string(200'000, ',') + "\"}");
    EXPECT_TRUE(fine.has_value()) << fine.error().message;

    // A value longer than any guest prints (rtfs::kMaxResultBytes, then "..."): a runtime taken
    // over sent 60 MiB ones, seconds of the daemon's CPU each (red team, 2026-12-04).
    const std::string longest(rtfs::kMaxResultBytes + 3, '1');
    EXPECT_TRUE(decode_result(R"({"ok":true,"value":")" + longest + "\"}").has_value());
    auto too_long = decode_result(R"({"ok":true,"value":")" + longest + "1\"}");
    ASSERT_FALSE(too_long.has_value());
    EXPECT_NE(too_long.error().message.find("holds a string longer than"), std::string::npos) << too_long.error().message;
    // Escapes count once each before the parse (what they decode to at least), exactly after it.
    std::string escaped;
    for (size_t i = 0; i < rtfs::kMaxResultBytes + 3; ++i) escaped += i % 2 ? "\\n" : "\\u0001";
    EXPECT_TRUE(decode_result(R"({"ok":true,"value":")" + escaped + "\"}").has_value());
    // One escape that decodes to two bytes: the same count, a byte too long once parsed.
    too_long = decode_result(R"({"ok":true,"value":"\u00e9)" + escaped.substr(6) + "\"}");
    ASSERT_FALSE(too_long.has_value());
    EXPECT_NE(too_long.error().message.find("longer than a guest prints"), std::string::npos) << too_long.error().message;

    // An error message: a guest sends at most rtfs::kMaxErrorMessageBytes of it, marked; the
    // message of `(throw big-string)` went whole into the reply, 65 MB past every output cap
    // (red team, 2026-12-04).
    Result thrown;
    thrown.error_kind = "UserError";
    thrown.error_message = std::string(1 << 20, 'm');
    auto bounded = decode_result(encode_result(thrown));
    ASSERT_TRUE(bounded.has_value()) << bounded.error().message;
    EXPECT_LE(bounded->error_message.size(), rtfs::kMaxErrorMessageBytes + rtfs::kBoundedMessageMark);
    EXPECT_NE(bounded->error_message.find("more bytes cut]"), std::string::npos);
    auto forged = decode_result(R"({"ok":false,"error_kind":"UserError","error_message":")" + std::string(1 << 20, 'm') + "\"}");
    ASSERT_FALSE(forged.has_value());
    EXPECT_NE(forged.error().message.find("longer than a guest reports"), std::string::npos) << forged.error().message;

    // A number no field needs, of a frame's size: the parser's copies of it took the host 6 s
    // of CPU and 590 MB (red team, 2026-12-06). Refused from the shape, before any parse.
    auto huge_number = decode_result(R"({"ok":true,"value":"1","x":)" + std::string(64u << 20, '1') + "}");
    ASSERT_FALSE(huge_number.has_value());
    EXPECT_NE(huge_number.error().message.find("a number longer than 32"), std::string::npos) << huge_number.error().message;
    EXPECT_TRUE(decode_result(R"({"ok":true,"value":"1","x":-1.2345678901234567e+308})").has_value());
    // Nor several strings each under the longest's bound, more in all than a result holds:
    // four of 16 MiB under keys the decoder ignores passed (review, 2026-12-06).
    std::string split = R"({"ok":true,"value":"1")";
    for (int i = 0; i < 4; ++i) split += ",\"k" + std::to_string(i) + "\":\"" + std::string(16u << 20, 's') + "\"";
    auto many_strings = decode_result(split + "}");
    ASSERT_FALSE(many_strings.has_value());
    EXPECT_NE(many_strings.error().message.find("bytes of strings"), std::string::npos) << many_strings.error().message;
    // The largest result a guest sends is not refused by it: a value at its bound, an error
    // message at its cut, both lists of records full with every text field at its cut.
    Result largest;
    largest.value = std::string(rtfs::kMaxResultBytes + 3, 'v');
    largest.error_message = std::string(rtfs::kMaxErrorMessageBytes, 'e');
    const std::string text(rtfs::EffectLog::kMaxRecordText, 't');
    for (size_t i = 0; i < rtfs::EffectLog::kMaxRecords; ++i) {
        largest.effects.network_requests.push_back({text, text, 200, 1, text, true});
        largest.effects.file_operations.push_back({text, text, 1, text, true});
    }
    auto decoded_largest = decode_result(encode_result(largest));
    EXPECT_TRUE(decoded_largest.has_value()) << decoded_largest.error().message;

    Job job;
    job.source = "(+ 1 2)";
    job.args.assign(150'000, "1");  // more values than a reply may hold: the host's own message
    auto back = decode_job(encode_job(job));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->args.size(), 150'000u);
}

// The records a reply carries are kept as the host keeps its own (rtfs::EffectLog): at most
// 1024 per list, the last counting the rest, text cut at 2 KiB; and marked as the sandbox's
// word, which a program that took its runtime over can forge (a red team's fake runtime claimed a
// POST to an outside host under --net deny and a write of /etc/shadow).
TEST(GuestProtocolHostile, AReplysRecordsAreBoundedAndMarkedAsTheSandboxsWord) {
    Result forged;
    forged.ok = true;
    forged.value = "1";
    for (int i = 0; i < 3000; ++i) {
        forged.effects.network_requests.push_back({"https://attacker.example/" + std::string(5000, 'x'), "POST", 200, 12345, ""});
    }
    forged.effects.file_operations.push_back({"/etc/shadow", "write", 99, ""});
    ExecutionResult r;
    apply_result({.exited = true, .exit_code = 0, .frame = result_frame(forged), .frame_truncated = false,
                  .stderr_data = ""},
                 r);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
    const auto& requests = r.metadata.network_requests;
    ASSERT_EQ(requests.size(), rtfs::EffectLog::kMaxRecords);
    EXPECT_EQ(requests[0].url.size(), rtfs::EffectLog::kMaxRecordText);
    EXPECT_EQ(requests.back().error, "1977 further requests were not recorded (limit of 1024 records)");
    for (const auto& q : requests) ASSERT_TRUE(q.reported_by_sandbox);
    ASSERT_EQ(r.metadata.file_operations.size(), 1u);
    EXPECT_TRUE(r.metadata.file_operations[0].reported_by_sandbox);
    const std::string json = to_json(r).dump();
    EXPECT_NE(json.find(R"("path":"/etc/shadow","operation":"write","bytes":99,"reported_by":"sandbox")"),
              std::string::npos)
        << json.substr(0, 400);
    // The mark survives a result read back (the CLI reads a daemon's results so).
    auto back = result_from_json(to_json(r));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_TRUE(back->metadata.network_requests.at(0).reported_by_sandbox);
    EXPECT_TRUE(back->metadata.file_operations.at(0).reported_by_sandbox);
}

}  // namespace
}  // namespace microvm::guest
