// microvm-guest, the guest agent (docs/guest-protocol.md):
//   microvm-guest                      stdio mode, result frame on fd 3
//   microvm-guest --result-file PATH   stdio mode, result frame written to PATH (runsc passes
//                                      only stdio into a container)
//   microvm-guest --channel PATH       channel mode over a device or socket path (VMs)
//   microvm-guest --channel-fd N       channel mode over an inherited descriptor
//   /init (pid 1 of a VM)              VM mode: channel mode on the virtio-serial port "agent"
//                                      (the kernel passes unknown command-line words as
//                                      arguments, so pid 1 ignores its arguments)
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "channel.hpp"
#include "channel_mode.hpp"
#include "microvm/guest_protocol.hpp"
#include "stdio_mode.hpp"
#include "vm_mode.hpp"

namespace {

using namespace microvm;

constexpr int kExitUsage = 64;          // EX_USAGE
constexpr int kExitGuestFailure = 70;   // EX_SOFTWARE

int usage() {
    std::fprintf(stderr, "usage: microvm-guest [%s PATH | %s PATH | %s N]\n",
                 guest::kResultFileFlag, guest::kChannelFlag, guest::kChannelFdFlag);
    return kExitUsage;
}

int stdio_mode(const char* result_file) {
    if (result_file) {
        int fd = ::open(result_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (fd != guest::kResultFd && ::dup2(fd, guest::kResultFd) < 0)) {
            std::perror("microvm-guest: opening the result file");
            return kExitGuestFailure;
        }
        if (fd != guest::kResultFd) ::close(fd);
    }
    if (::fcntl(guest::kResultFd, F_GETFD) < 0) {
        std::fprintf(stderr, "microvm-guest: fd %d (the result channel) is not open\n",
                     guest::kResultFd);
        return kExitGuestFailure;
    }
    return guest::run_stdio_mode();
}

}  // namespace

int main(int argc, char** argv) {
    if (guest::detect_vm_init(argc > 0 ? argv[0] : nullptr)) guest::run_vm_mode();
    if (argc == 1) return stdio_mode(nullptr);
    if (argc != 3) return usage();
    const std::string_view flag = argv[1];
    if (flag == guest::kResultFileFlag) return stdio_mode(argv[2]);
    if (flag == guest::kChannelFlag) {
        std::string error;
        auto channel = guest::Channel::open_path(argv[2], error);
        if (!channel.valid()) {
            std::fprintf(stderr, "microvm-guest: %s\n", error.c_str());
            return kExitGuestFailure;
        }
        return guest::run_channel_mode(std::move(channel));
    }
    if (flag == guest::kChannelFdFlag) {
        char* end = nullptr;
        long fd = std::strtol(argv[2], &end, 10);
        if (!*argv[2] || *end || fd < 0 || fd > 1 << 20 || ::fcntl(static_cast<int>(fd), F_GETFD) < 0) {
            std::fprintf(stderr, "microvm-guest: %s is not an open descriptor\n", argv[2]);
            return kExitGuestFailure;
        }
        return guest::run_channel_mode(guest::Channel::adopt(static_cast<int>(fd)));
    }
    return usage();
}
