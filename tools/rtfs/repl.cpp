#include "repl.hpp"

#include <csignal>
#include <cstdio>

#include "line_reader.hpp"
#include "report.hpp"
#include "rtfs/ascii_text.hpp"
#include "rtfs/reader.hpp"

namespace rtfs::cli {

namespace {

std::atomic<bool>* g_interrupt = nullptr;

// Ctrl-C interrupts the running evaluation, not the session.
void on_sigint(int) {
    if (g_interrupt) g_interrupt->store(true);
}

enum class Completeness { Blank, Incomplete, Ready };

Completeness check(const std::string& text) {
    auto forms = read_all(text);
    if (!forms)
        return ends_inside_a_form(text) ? Completeness::Incomplete : Completeness::Ready;
    return forms->empty() ? Completeness::Blank : Completeness::Ready;
}

}  // namespace

int run_repl(Session& session, bool json) {
    LineReader input;
    g_interrupt = &session.cancel_flag();
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    struct sigaction previous {};
    sigaction(SIGINT, &sa, &previous);
    if (input.interactive())
        std::fputs("RTFS REPL: definitions persist; Ctrl-C interrupts, Ctrl-D exits.\n", stdout);

    std::string pending;
    for (;;) {
        auto line = input.read_line(pending.empty() ? "rtfs> " : "  ... ");
        if (!line) {
            // End of input inside an unfinished form: report what is wrong with it.
            if (!rtfs::trim_ascii(pending).empty()) report(session.eval(pending), json);
            if (input.interactive()) std::fputc('\n', stdout);
            break;
        }
        pending += *line;
        pending += '\n';
        const Completeness state = check(pending);
        if (state == Completeness::Incomplete) continue;
        if (state == Completeness::Ready) {
            input.remember(std::string(rtfs::trim_ascii(pending)));
            report(session.eval(pending), json);
        }
        pending.clear();
    }
    sigaction(SIGINT, &previous, nullptr);
    g_interrupt = nullptr;
    return kExitOk;
}

}  // namespace rtfs::cli
