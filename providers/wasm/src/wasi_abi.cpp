#include "wasi_abi.hpp"

#include <cerrno>

#include "guest_memory.hpp"

namespace microvm::wasm::wasi {

uint32_t from_host_errno(int e) {
    struct Pair {
        int host;
        uint32_t wasi;
    };
    static constexpr Pair kMap[] = {
        {0, kSuccess},
        {EACCES, kAcces},
        {EAGAIN, kAgain},
        {EBADF, kBadf},
        {EEXIST, kExist},
        {EFAULT, kFault},
        {EFBIG, kFbig},
        {EINVAL, kInval},
        {EISDIR, kIsdir},
        {ELOOP, kLoop},
        {EMFILE, kMfile},
        {ENFILE, kMfile},
        {ENAMETOOLONG, kNametoolong},
        {ENOENT, kNoent},
        {ENOMEM, kNomem},
        {ENOSPC, kNospc},
        {ENOSYS, kNosys},
        {ENOTDIR, kNotdir},
        {ENOTEMPTY, kNotempty},
        {EOPNOTSUPP, kNotsup},
        {EOVERFLOW, kOverflow},
        {EPERM, kPerm},
        {EROFS, kRofs},
        {ESPIPE, kSpipe},
        {EXDEV, kXdev},
    };
    for (const Pair& p : kMap) {
        if (p.host == e) return p.wasi;
    }
    return kIo;
}

uint8_t filetype_of(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG:
            return kRegularFile;
        case S_IFDIR:
            return kDirectory;
        case S_IFLNK:
            return kSymbolicLink;
        case S_IFCHR:
            return kCharacterDevice;
        case S_IFBLK:
            return kBlockDevice;
        case S_IFSOCK:
            return kSocketStream;
        default:
            return kUnknown;
    }
}

void to_timespecs(uint64_t atim, uint64_t mtim, uint32_t fst_flags, timespec out[2]) {
    auto one = [](uint64_t ns, bool set, bool now, timespec& t) {
        if (now) {
            t = {0, UTIME_NOW};
        } else if (set) {
            t = {static_cast<time_t>(ns / 1'000'000'000ull),
                 static_cast<long>(ns % 1'000'000'000ull)};
        } else {
            t = {0, UTIME_OMIT};
        }
    };
    one(atim, fst_flags & 1, fst_flags & 2, out[0]);
    one(mtim, fst_flags & 4, fst_flags & 8, out[1]);
}

bool store_filestat(const GuestMemory& m, uint64_t ptr, const struct stat& st) {
    auto ns = [](const timespec& t) {
        return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull +
               static_cast<uint64_t>(t.tv_nsec);
    };
    uint8_t zero[kFilestatSize] = {};
    return m.write(ptr, zero, sizeof zero) && m.store<uint64_t>(ptr, st.st_dev) &&
           m.store<uint64_t>(ptr + 8, st.st_ino) &&
           m.store<uint8_t>(ptr + 16, filetype_of(st.st_mode)) &&
           m.store<uint64_t>(ptr + 24, st.st_nlink) &&
           m.store<uint64_t>(ptr + 32, static_cast<uint64_t>(st.st_size)) &&
           m.store<uint64_t>(ptr + 40, ns(st.st_atim)) &&
           m.store<uint64_t>(ptr + 48, ns(st.st_mtim)) &&
           m.store<uint64_t>(ptr + 56, ns(st.st_ctim));
}

}  // namespace microvm::wasm::wasi
