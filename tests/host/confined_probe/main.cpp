// A program run by the confined-child tests in the program form (ConfinedCall::program): it
// serves as the wasm engine does (host::serve_confined_child) and reports what an attacker in
// the child would see. Its input is a marker XORed with 0x5A, so that the probe never holds the
// marker itself; it reports "found" when some readable page of its memory holds the marker,
// "absent" otherwise (--hold-it: it holds an unmasked copy, to show the search finds one), then its environment's size, its open descriptors and its input's size.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "host/confined_fork.hpp"

extern char** environ;

namespace {

constexpr unsigned char kMask = 0x5A;

// Does any readable mapping hold the bytes that masked form unmasks to? Read through
// /proc/self/mem, so an unreadable page is skipped instead of faulting.
bool memory_holds(const std::string& masked) {
    FILE* maps = std::fopen("/proc/self/maps", "re");
    const int mem = ::open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (!maps || mem < 0) return false;
    bool found = false;
    char line[512];
    std::string page;
    while (!found && std::fgets(line, sizeof line, maps)) {
        unsigned long from = 0, to = 0;
        char perms[5] = {};
        if (std::sscanf(line, "%lx-%lx %4s", &from, &to, perms) != 3 || perms[0] != 'r') continue;
        if (std::strstr(line, "[vvar]") || std::strstr(line, "[vsyscall]")) continue;
        if (to - from > (256ul << 20)) continue;  // a sanitizer's shadow: reserved, never the host's
        for (unsigned long at = from; !found && at < to; at += 1 << 20) {
            const size_t n = std::min<unsigned long>(to - at, 1 << 20);
            page.resize(n);
            if (::pread(mem, page.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) break;
            for (size_t i = 0; !found && i + masked.size() <= n; ++i) {
                size_t k = 0;
                while (k < masked.size() &&
                       static_cast<unsigned char>(page[i + k]) == (static_cast<unsigned char>(masked[k]) ^ kMask)) {
                    ++k;
                }
                found = k == masked.size();
            }
        }
    }
    std::fclose(maps);
    ::close(mem);
    return found;
}

std::string open_descriptors() {
    std::string out;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return "?";
    while (dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.' || std::atoi(e->d_name) == ::dirfd(dir)) continue;
        out += std::string(out.empty() ? "" : ",") + e->d_name;
    }
    ::closedir(dir);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<std::string> masked = microvm::host::read_confined_input(1 << 20);
    if (!masked) return 1;
    // --hold-it: the probe unmasks a copy of the marker first (the search must then find it).
    static std::string held;
    if (argc > 1 && std::strcmp(argv[1], "--hold-it") == 0) {
        for (char c : *masked) held.push_back(static_cast<char>(c ^ kMask));
    }
    std::string seen;  // looked at before the confinement, which shuts /proc/self's files
    auto prepare = [&](microvm::host::ChildRules&) {
        size_t vars = 0;
        while (environ[vars]) ++vars;
        seen = std::string(memory_holds(*masked) ? "found" : "absent") + " env=" + std::to_string(vars) +
               " fds=" + open_descriptors() + " input=" + std::to_string(masked->size());
    };
    microvm::host::serve_confined_child({}, prepare, [&](microvm::host::ChildChannel&) { return seen; }, 4096);
}
