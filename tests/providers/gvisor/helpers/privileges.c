/* Prints what the sentry grants this process, which gVisor's /proc/self/status does not show:
 * "no_new_privs N", "cap_effective HEX", "cap_permitted HEX", "cap_ambient_raise ERRNO-NAME". */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    printf("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) == 0) {
        printf("cap_effective %08x%08x\n", data[1].effective, data[0].effective);
        printf("cap_permitted %08x%08x\n", data[1].permitted, data[0].permitted);
    }
    int rc = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0);
    printf("cap_ambient_raise %s\n", rc == 0 ? "OK" : strerrorname_np(errno));
    return 0;
}
