// A FUSE file system served by the test itself over /dev/fuse, which lies as a user's FUSE server
// may: every entry it reports is root's, a directory "d" mode 0755 and any other name a file
// mode 0755, whoever mounted it. With `user_allow_other` in /etc/fuse.conf such a mount of a
// user's is visible to root, and only the file system's type gives it away.
//
// Mounted in a mount namespace of the calling process's own (unshared here), so that nothing
// else on the host sees it: call it in a single-threaded test process (ctest runs one test per
// process). Needs root and /dev/fuse; `error()` says why it is not mounted.
#pragma once

#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

class LyingFuseMount {
public:
    explicit LyingFuseMount(std::string dir) : dir_(std::move(dir)) {
        if (::unshare(CLONE_NEWNS) != 0) {
            error_ = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
            return;
        }
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
            error_ = std::string("making / a slave: ") + std::strerror(errno);
            return;
        }
        fuse_ = ::open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fuse_ < 0) {
            error_ = std::string("/dev/fuse: ") + std::strerror(errno);
            return;
        }
        stop_ = ::eventfd(0, EFD_CLOEXEC);
        const std::string options =
            "fd=" + std::to_string(fuse_) + ",rootmode=40000,user_id=0,group_id=0,allow_other";
        if (::mount("lying-fuse", dir_.c_str(), "fuse", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
            error_ = std::string("mounting FUSE: ") + std::strerror(errno);
            return;
        }
        mounted_ = true;
        // Only now: /dev/fuse polls as an error until a mount connects it. The kernel's INIT waits.
        server_ = std::thread([this] { serve(); });
    }

    ~LyingFuseMount() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
        if (server_.joinable()) {
            const uint64_t one = 1;
            (void)!::write(stop_, &one, sizeof one);
            server_.join();
        }
        if (stop_ >= 0) ::close(stop_);
        if (fuse_ >= 0) ::close(fuse_);  // aborts whatever the kernel still waits for
    }

    LyingFuseMount(const LyingFuseMount&) = delete;
    LyingFuseMount& operator=(const LyingFuseMount&) = delete;

    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }

private:
    static constexpr uint64_t kDirNode = 2;
    static constexpr uint64_t kFileNode = 3;

    static fuse_attr attr_of(uint64_t node) {
        fuse_attr attr{};
        attr.ino = node;
        attr.mode = node == kFileNode ? (S_IFREG | 0755) : (S_IFDIR | 0755);
        attr.nlink = node == kFileNode ? 1 : 2;
        attr.uid = 0;  // the lie
        attr.gid = 0;
        attr.blksize = 4096;
        return attr;
    }

    void reply(uint64_t unique, int error, const void* body, size_t size) {
        std::vector<char> out(sizeof(fuse_out_header) + size);
        fuse_out_header header{};
        header.len = static_cast<uint32_t>(out.size());
        header.error = -error;
        header.unique = unique;
        std::memcpy(out.data(), &header, sizeof header);
        if (size) std::memcpy(out.data() + sizeof header, body, size);
        (void)!::write(fuse_, out.data(), out.size());
    }

    void answer(const fuse_in_header& in, const char* body) {
        switch (in.opcode) {
            case FUSE_INIT: {
                fuse_init_in init;
                std::memcpy(&init, body, sizeof init);
                fuse_init_out out{};
                out.major = FUSE_KERNEL_VERSION;
                out.minor = FUSE_KERNEL_MINOR_VERSION;
                out.max_readahead = init.max_readahead;
                out.max_write = 65536;
                out.time_gran = 1;
                return reply(in.unique, 0, &out, sizeof out);
            }
            case FUSE_LOOKUP: {
                fuse_entry_out out{};
                out.nodeid = std::string(body) == "d" ? kDirNode : kFileNode;
                out.attr = attr_of(out.nodeid);
                return reply(in.unique, 0, &out, sizeof out);
            }
            case FUSE_GETATTR: {
                fuse_attr_out out{};
                out.attr = attr_of(in.nodeid);
                return reply(in.unique, 0, &out, sizeof out);
            }
            case FUSE_STATFS: {
                fuse_statfs_out out{};
                out.st.bsize = 4096;
                out.st.namelen = 255;
                return reply(in.unique, 0, &out, sizeof out);
            }
            case FUSE_FORGET:
            case FUSE_BATCH_FORGET:
            case FUSE_INTERRUPT:
                return;  // no reply expected
            default:
                return reply(in.unique, ENOSYS, nullptr, 0);
        }
    }

    void serve() {
        std::vector<char> buf(FUSE_MIN_READ_BUFFER + 65536 + 4096);
        for (;;) {
            pollfd fds[2] = {{fuse_, POLLIN, 0}, {stop_, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
            if (fds[1].revents) return;
            if (!(fds[0].revents & POLLIN)) {
                if (fds[0].revents) return;  // the connection is gone
                continue;
            }
            const ssize_t n = ::read(fuse_, buf.data(), buf.size());
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ENOENT) continue;
                return;
            }
            if (static_cast<size_t>(n) < sizeof(fuse_in_header)) continue;
            fuse_in_header in;
            std::memcpy(&in, buf.data(), sizeof in);
            buf[static_cast<size_t>(n) < buf.size() ? static_cast<size_t>(n) : buf.size() - 1] = '\0';
            answer(in, buf.data() + sizeof in);
        }
    }

    std::string dir_;
    std::string error_;
    int fuse_ = -1;
    int stop_ = -1;
    bool mounted_ = false;
    std::thread server_;
};

}  // namespace testsupport
