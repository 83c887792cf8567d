// The ELF reader on arbitrary bytes, as the process and gVisor providers run it on a program
// before its sandbox starts (program_files -> resolve_dependencies -> read_elf): as root, on a
// file a previous sandbox may have written. It must return an ElfInfo or InvalidInput, never
// crash, hang or allocate without bound. read_elf takes a path: the bytes are a memfd, named
// through /proc/self/fd (a regular file, as open_regular_file requires).
//
// The dependency search runs too (resolve_dependencies): the names it reads are looked up on
// this host's library directories, read-only.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "host/elf_deps.hpp"
#include "host/elf_file.hpp"

namespace {

int memfd() {
    static int fd = ::memfd_create("elf_fuzz", MFD_CLOEXEC);
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using microvm::Failure;
    const int fd = memfd();
    if (fd < 0) __builtin_trap();
    if (::ftruncate(fd, 0) != 0) __builtin_trap();
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        if (n <= 0) __builtin_trap();
        done += static_cast<size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);

    auto info = microvm::host::read_elf(path);
    if (!info) {
        if (info.error().kind != Failure::Kind::InvalidInput) __builtin_trap();
    } else {
        // Whatever was read came from the file: nothing longer than the file itself.
        if (info->interpreter.size() > size) __builtin_trap();
        for (const std::string& s : info->needed)
            if (s.size() > size) __builtin_trap();
        for (const std::string& s : info->rpath)
            if (s.size() > size) __builtin_trap();
        for (const std::string& s : info->runpath)
            if (s.size() > size) __builtin_trap();
    }
    auto deps = microvm::host::resolve_dependencies(path);
    if (!deps && deps.error().message.empty()) __builtin_trap();
    return 0;
}
