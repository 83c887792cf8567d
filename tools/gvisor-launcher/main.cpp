// microvm-gvisor-launcher: the process of a gVisor container (providers/gvisor/
// launch_format.hpp). It runs inside the sandbox under everything the container enforces (the
// sandbox user, no capabilities, no_new_privs, rlimits, the seccomp filter), which execve keeps:
// it only announces that it waits, reads the argv and environment the host sends on stdin, and
// replaces itself with the program (which stays the container's pid 1, as in a fresh run).
// Linked statically: the container's root holds only the program's files.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gvisor/launch_format.hpp"

namespace {

using namespace microvm::gvisor;

char g_strings[kMaxLaunchBytes];
char* g_pointers[kMaxLaunchStrings + 3];  // argv, its null, envp (+HOME), its null
char g_path[4096];

bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

void say(const char* a, const char* b = "", const char* c = "", const char* d = "") {
    const char* parts[] = {"microvm-gvisor-launcher: ", a, b, c, d, "\n"};
    for (const char* s : parts) write_all(2, s, strlen(s));
}

const char* env_value(char* const* envp, const char* name) {
    const size_t n = strlen(name);
    for (; *envp; ++envp) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') return *envp + n + 1;
    }
    return nullptr;
}

// As gVisor resolves a container's args[0]: a name with a slash is a path, another is looked up
// in the PATH of the program's environment.
int exec_program(char* const* argv, char* const* envp) {
    if (strchr(argv[0], '/')) {
        ::execve(argv[0], argv, envp);
        return errno;
    }
    int error = ENOENT;
    const char* path = env_value(envp, "PATH");
    for (const char* dir = path; dir && *dir;) {
        const char* end = strchrnul(dir, ':');
        const size_t len = static_cast<size_t>(end - dir);
        if (len + 1 + strlen(argv[0]) + 1 <= sizeof g_path) {
            memcpy(g_path, dir, len);
            g_path[len] = '/';
            strcpy(g_path + len + 1, argv[0]);
            ::execve(g_path, argv, envp);
            if (errno != ENOENT) error = errno;
        }
        dir = *end ? end + 1 : end;
    }
    return error;
}

}  // namespace

int main() {
    if (!write_all(1, kReadyMarker, kReadyMarkerBytes)) return 1;
    char** argv = nullptr;
    char** envp = nullptr;
    const auto read = microvm::host::read_launch(0, kLaunchMagic, g_strings, g_pointers, argv, envp);
    if (read == microvm::host::LaunchRead::kClosed) return 0;  // the host tore the sandbox down unused
    // The launch's digits (launch_format.hpp), for a record the program cannot forge.
    char nonce[kExecNonceBytes + 1] = {};
    if (read != microvm::host::LaunchRead::kOk ||
        microvm::host::read_launch_bytes(0, nonce, kExecNonceBytes) != static_cast<ssize_t>(kExecNonceBytes) ||
        strspn(nonce, "0123456789abcdef") != kExecNonceBytes) {
        say("malformed launch message");
        return 1;
    }
    size_t envc = 0;
    while (envp[envc]) ++envc;
    // runsc gives a container's process a HOME when its environment has none: this launcher got
    // that one, and passes it on under the same rule.
    if (!env_value(envp, "HOME")) {
        for (char** own = environ; *own; ++own) {
            if (strncmp(*own, "HOME=", 5) == 0) {
                envp[envc] = *own;
                envp[envc + 1] = nullptr;
                break;
            }
        }
    }
    // The program never started: the record is the launcher's, on stdout alone (the host says
    // why from the errno; launch_format.hpp).
    char record[64];
    const int error = exec_program(argv, envp);
    const int n = snprintf(record, sizeof record, "%s%d %s\n", kExecFailedMarker, error, nonce);
    write_all(1, record, static_cast<size_t>(n));
    return kLauncherExecFailed;
}
