// Id leases (host/id_lease.hpp): numbers no two live leases share, in one process or in two,
// and given back when a lease ends.
#include "host/id_lease.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

namespace microvm::host {
namespace {

constexpr int kLeases = 300;

// Whether another socket can bind the name of lease number n (what a second claim would do).
bool name_is_free(uint32_t n) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    const int len =
        std::snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "microvm-id-lease-%06x", n);
    const bool free =
        ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr),
               static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + len)) == 0;
    ::close(fd);
    return free;
}

std::vector<IdLease> take_leases() {
    std::vector<IdLease> leases;
    for (int i = 0; i < kLeases; ++i) {
        auto lease = IdLease::take();
        if (!lease) ADD_FAILURE() << lease.error().message;
        if (!lease) break;
        leases.push_back(std::move(*lease));
    }
    return leases;
}

TEST(IdLease, LiveLeasesOfTwoProcessesNeverShareANumber) {
    int numbers[2];
    ASSERT_EQ(::pipe(numbers), 0);
    int done[2];
    ASSERT_EQ(::pipe(done), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // takes its leases, sends their numbers, holds them until told
        ::close(numbers[0]);
        ::close(done[1]);
        std::vector<IdLease> mine = take_leases();
        for (const IdLease& l : mine) {
            uint32_t n = l.number();
            if (::write(numbers[1], &n, sizeof n) != sizeof n) ::_exit(1);
        }
        ::close(numbers[1]);
        char c;
        (void)!::read(done[0], &c, 1);
        ::_exit(mine.size() == kLeases ? 0 : 2);
    }
    ::close(numbers[1]);
    ::close(done[0]);
    std::set<uint32_t> theirs;
    uint32_t n;
    while (::read(numbers[0], &n, sizeof n) == sizeof n) theirs.insert(n);
    ::close(numbers[0]);
    // Every number the child holds is claimed for this process too.
    int claimed = 0;
    for (uint32_t held : theirs) claimed += name_is_free(held) ? 0 : 1;
    EXPECT_EQ(claimed, kLeases);
    std::vector<IdLease> mine = take_leases();  // while the child holds its own
    ::close(done[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

    ASSERT_EQ(theirs.size(), static_cast<size_t>(kLeases));  // distinct within the child
    std::set<uint32_t> ours;
    for (const IdLease& l : mine) {
        EXPECT_LT(l.number(), kIdLeaseCount);
        EXPECT_EQ(theirs.count(l.number()), 0u) << l.number();
        ours.insert(l.number());
    }
    EXPECT_EQ(ours.size(), static_cast<size_t>(kLeases));  // distinct within this process
}

// Nothing stays claimed: the number of a lease that ended can be leased again (the claim is
// an abstract socket name, gone with its descriptor).
TEST(IdLease, AnEndedLeaseLeavesNothingBehind) {
    auto first = IdLease::take();
    ASSERT_TRUE(first) << first.error().message;
    const uint32_t number = first->number();
    first = IdLease::take();  // the first lease ends here, after the second was taken
    ASSERT_TRUE(first);
    EXPECT_NE(first->number(), number);
    // The kernel no longer knows its name (/proc/net/unix lists bound abstract names as "@name").
    char name[64];
    std::snprintf(name, sizeof name, "@microvm-id-lease-%06x", number);
    FILE* unix_sockets = std::fopen("/proc/net/unix", "r");
    ASSERT_NE(unix_sockets, nullptr);
    char line[512];
    bool listed = false, listed_live = false;
    char live[64];
    std::snprintf(live, sizeof live, "@microvm-id-lease-%06x", first->number());
    while (std::fgets(line, sizeof line, unix_sockets)) {
        if (std::strstr(line, name)) listed = true;
        if (std::strstr(line, live)) listed_live = true;
    }
    std::fclose(unix_sockets);
    EXPECT_FALSE(listed) << name;
    EXPECT_TRUE(listed_live) << live;  // the check above is not vacuous
}

}  // namespace
}  // namespace microvm::host
