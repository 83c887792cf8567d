#include "fake_vsock.hpp"

namespace fcfake {

FakeVsock::FakeVsock(std::string path, Mode mode, std::string text)
    : mode_(mode), text_(std::move(text)) {
    server_ = std::make_unique<UnixServer>(std::move(path),
                                           [this](int conn, int stop) { serve(conn, stop); });
}

std::string FakeVsock::last_request() const {
    std::lock_guard lock(mu_);
    return last_request_;
}

void FakeVsock::serve(int conn, int stop) {
    std::string buf;
    bool got_line = read_until(conn, stop, buf, "\n");
    {
        std::lock_guard lock(mu_);
        last_request_ = buf.substr(0, buf.find('\n') == std::string::npos ? buf.size()
                                                                        : buf.find('\n') + 1);
    }
    if (!got_line) return;
    switch (mode_) {
        case Mode::Echo: {
            if (!running_()) return;
            // The OK line and the guest's first bytes in one write: the client must not swallow
            // the stream's beginning while reading the handshake.
            if (!write_all(conn, "OK 1073741824\n" + text_)) return;
            std::string pending = buf.substr(buf.find('\n') + 1);
            for (;;) {
                if (!pending.empty() && !write_all(conn, pending)) return;
                pending.clear();
                if (!read_some(conn, stop, pending)) return;
            }
        }
        case Mode::Garbage:
            write_all(conn, text_);
            wait_for_stop(stop);  // keeps the connection open: only the content is wrong
            return;
        case Mode::Silent:
            wait_for_stop(stop);
            return;
        case Mode::Close:
            return;
    }
}

}  // namespace fcfake
