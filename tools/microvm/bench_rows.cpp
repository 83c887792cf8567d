#include "bench_rows.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "host/paths.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::cli {

std::string find_peer(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::vector<std::string> dirs = {"/usr/bin", "/bin", "/usr/local/bin"};
    for (const std::string& d : host::path_dirs(path ? path : "")) dirs.push_back(d);
    std::string found = host::find_in_dirs(name, dirs);
    if (found.empty() || ::geteuid() != 0) return found;
    auto trusted = trusted_executable(found, name);
    if (!trusted) {
        std::fprintf(stderr, "microvm bench: not running %s: %s\n", name.c_str(), trusted.error().message.c_str());
        return {};
    }
    return *trusted;
}

namespace {

constexpr const char* kAdd = "(+ 1 2)";
constexpr const char* kPythonAdd = "print(1 + 2)";

std::string true_binary() {
    return ::access("/bin/true", X_OK) == 0 ? "/bin/true" : "/usr/bin/true";
}

// A peer sandbox: the prefix that runs a command inside it.
struct Peer {
    std::string name;
    std::vector<std::string> prefix;
};

std::vector<Peer> installed_peers() {
    std::vector<Peer> peers;
    if (auto bwrap = find_peer("bwrap"); !bwrap.empty()) {
        peers.push_back({"bwrap", {bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/",
                                   "/"}});
    }
    // runsc do needs root; the ptrace platform is the one that works without nested paging.
    if (auto runsc = find_peer("runsc"); !runsc.empty() && ::geteuid() == 0) {
        peers.push_back({"runsc do", {runsc, "--platform=ptrace", "--network=none", "do"}});
    }
    if (auto srt = find_peer("srt"); !srt.empty()) peers.push_back({"srt", {srt}});
    return peers;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

std::string rtfs_compute_source(long n) {
    return "(loop [i 1 acc 0] (if (<= i " + std::to_string(n) +
           ") (recur (inc i) (+ acc i)) acc))";
}

std::string python_compute_source(long n) {
    return "i, acc = 1, 0\nwhile i <= " + std::to_string(n) + ":\n    acc += i\n    i += 1\n";
}

std::vector<BenchRow> bench_rows(const std::vector<ProviderSummary>& providers, bool peers,
                                 const BenchWorkloads& w) {
    const std::string empty = "empty";
    const std::string add = std::string("rtfs ") + kAdd;
    char compute_label[64];
    std::snprintf(compute_label, sizeof compute_label, "compute %g ms", w.compute_ms);
    const std::string compute = compute_label;
    std::vector<BenchRow> rows;
    for (const ProviderSummary& p : providers) {
        if (p.runs_external) {
            rows.push_back({p.name, false, empty, {w.self, "run", "-p", p.name, "--", true_binary()}});
        } else if (p.runs_wasm) {
            rows.push_back({p.name, false, empty,
                            {w.self, "wasm", "-p", p.name, w.work_dir + "/empty.wat"}, {}, 0,
                            "an empty WASI _start"});
        } else if (p.runs_rtfs) {
            rows.push_back({p.name, false, empty, {w.self, "eval", "-p", p.name, "nil"}, {}, 0,
                            "RTFS nil"});
        }
        if (p.runs_rtfs) {
            rows.push_back({p.name, false, add, {w.self, "eval", "-p", p.name, kAdd}});
            rows.push_back({p.name, false, compute,
                            {w.self, "eval", "-p", p.name, "--timeout", w.run_limit,
                             rtfs_compute_source(w.compute_iterations)},
                            {}, 0, "RTFS loop"});
        }
    }
    if (!w.daemon.empty()) {
        const size_t local = rows.size();
        for (size_t i = 0; i < local; ++i) {
            const std::string& subcommand = rows[i].argv[1];
            if (subcommand != "eval" && subcommand != "run") continue;
            BenchRow through = rows[i];
            through.subject += " (microvmd)";
            through.argv.insert(through.argv.begin() + 1, {"--daemon", w.daemon});
            rows.push_back(std::move(through));
        }
    }
    if (!peers) return rows;
    // The peers run python3 for the expression and the compute job: they have no RTFS.
    for (const Peer& peer : installed_peers()) {
        auto inside = [&](std::vector<std::string> cmd) {
            if (peer.name == "srt") {  // srt -c takes one shell command line
                std::string line;
                for (const auto& a : cmd) line += (line.empty() ? "" : " ") + shell_quote(a);
                return std::vector<std::string>{peer.prefix[0], "-c", line};
            }
            std::vector<std::string> argv = peer.prefix;
            argv.insert(argv.end(), cmd.begin(), cmd.end());
            return argv;
        };
        rows.push_back({peer.name, true, empty, inside({true_binary()})});
        if (!w.python3.empty()) {
            rows.push_back({peer.name, true, add, inside({w.python3, "-c", kPythonAdd}), {}, 0,
                            "python3 -c"});
            rows.push_back({peer.name, true, compute,
                            inside({w.python3, "-c", python_compute_source(w.python_iterations)}),
                            {}, 0, "python3 loop"});
        }
    }
    if (!w.python3.empty()) {
        rows.push_back({"python3 -c", true, empty, {w.python3, "-c", "pass"}});
        rows.push_back({"python3 -c", true, add, {w.python3, "-c", kPythonAdd}});
        rows.push_back({"python3 -c", true, compute,
                        {w.python3, "-c", python_compute_source(w.python_iterations)}, {}, 0,
                        "python3 loop"});
    }
    return rows;
}

}  // namespace microvm::cli
