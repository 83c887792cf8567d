// WASI preview1 ABI constants and struct layouts (wasi_snapshot_preview1, witx), little-endian.
#pragma once

#include <sys/stat.h>

#include <cstdint>

namespace microvm::wasm {
class GuestMemory;
}

namespace microvm::wasm::wasi {

enum Errno : uint32_t {
    kSuccess = 0,
    kAcces = 2,
    kAgain = 6,
    kBadf = 8,
    kExist = 20,
    kFault = 21,
    kFbig = 22,
    kIntr = 27,
    kInval = 28,
    kIo = 29,
    kIsdir = 31,
    kLoop = 32,
    kMfile = 33,
    kNametoolong = 37,
    kNoent = 44,
    kNomem = 48,
    kNospc = 51,
    kNosys = 52,
    kNotdir = 54,
    kNotempty = 55,
    kNotsup = 58,
    kOverflow = 61,
    kPerm = 63,
    kRofs = 69,
    kSpipe = 70,
    kXdev = 75,
    kNotcapable = 76,
};

// Maps a host errno to the WASI errno the guest sees.
uint32_t from_host_errno(int e);

namespace rights {
inline constexpr uint64_t kFdDatasync = 1ull << 0;
inline constexpr uint64_t kFdRead = 1ull << 1;
inline constexpr uint64_t kFdSeek = 1ull << 2;
inline constexpr uint64_t kFdFdstatSetFlags = 1ull << 3;
inline constexpr uint64_t kFdSync = 1ull << 4;
inline constexpr uint64_t kFdTell = 1ull << 5;
inline constexpr uint64_t kFdWrite = 1ull << 6;
inline constexpr uint64_t kFdAdvise = 1ull << 7;
inline constexpr uint64_t kFdAllocate = 1ull << 8;
inline constexpr uint64_t kPathCreateDirectory = 1ull << 9;
inline constexpr uint64_t kPathCreateFile = 1ull << 10;
inline constexpr uint64_t kPathLinkSource = 1ull << 11;
inline constexpr uint64_t kPathLinkTarget = 1ull << 12;
inline constexpr uint64_t kPathOpen = 1ull << 13;
inline constexpr uint64_t kFdReaddir = 1ull << 14;
inline constexpr uint64_t kPathReadlink = 1ull << 15;
inline constexpr uint64_t kPathRenameSource = 1ull << 16;
inline constexpr uint64_t kPathRenameTarget = 1ull << 17;
inline constexpr uint64_t kPathFilestatGet = 1ull << 18;
inline constexpr uint64_t kPathFilestatSetSize = 1ull << 19;
inline constexpr uint64_t kPathFilestatSetTimes = 1ull << 20;
inline constexpr uint64_t kFdFilestatGet = 1ull << 21;
inline constexpr uint64_t kFdFilestatSetSize = 1ull << 22;
inline constexpr uint64_t kFdFilestatSetTimes = 1ull << 23;
inline constexpr uint64_t kPathSymlink = 1ull << 24;
inline constexpr uint64_t kPathRemoveDirectory = 1ull << 25;
inline constexpr uint64_t kPathUnlinkFile = 1ull << 26;
inline constexpr uint64_t kPollFdReadwrite = 1ull << 27;

// What a file opened from a read-only directory may do.
inline constexpr uint64_t kFileReadOnly =
    kFdRead | kFdSeek | kFdTell | kFdAdvise | kFdFilestatGet | kFdFdstatSetFlags | kPollFdReadwrite;
inline constexpr uint64_t kFileAll = kFileReadOnly | kFdDatasync | kFdSync | kFdWrite |
                                     kFdAllocate | kFdFilestatSetSize | kFdFilestatSetTimes;
inline constexpr uint64_t kDirReadOnly =
    kPathOpen | kFdReaddir | kPathReadlink | kPathFilestatGet | kFdFilestatGet | kFdFdstatSetFlags;
inline constexpr uint64_t kDirAll =
    kDirReadOnly | kPathCreateDirectory | kPathCreateFile | kPathLinkSource | kPathLinkTarget |
    kPathRenameSource | kPathRenameTarget | kPathFilestatSetSize | kPathFilestatSetTimes |
    kFdFilestatSetTimes | kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile;
// Rights that change the file system (never granted below a read-only preopen).
inline constexpr uint64_t kMutating =
    kFdWrite | kFdAllocate | kFdFilestatSetSize | kFdFilestatSetTimes | kFdDatasync | kFdSync |
    kPathCreateDirectory | kPathCreateFile | kPathLinkSource | kPathLinkTarget | kPathRenameSource |
    kPathRenameTarget | kPathFilestatSetSize | kPathFilestatSetTimes | kPathSymlink |
    kPathRemoveDirectory | kPathUnlinkFile;
}  // namespace rights

enum Filetype : uint8_t {
    kUnknown = 0,
    kBlockDevice = 1,
    kCharacterDevice = 2,
    kDirectory = 3,
    kRegularFile = 4,
    kSocketDgram = 5,
    kSocketStream = 6,
    kSymbolicLink = 7,
};

inline constexpr uint16_t kFdflagAppend = 1 << 0;
inline constexpr uint16_t kFdflagDsync = 1 << 1;
inline constexpr uint16_t kFdflagNonblock = 1 << 2;
inline constexpr uint16_t kFdflagRsync = 1 << 3;
inline constexpr uint16_t kFdflagSync = 1 << 4;

inline constexpr uint16_t kOflagCreat = 1 << 0;
inline constexpr uint16_t kOflagDirectory = 1 << 1;
inline constexpr uint16_t kOflagExcl = 1 << 2;
inline constexpr uint16_t kOflagTrunc = 1 << 3;

inline constexpr uint32_t kLookupSymlinkFollow = 1 << 0;

inline constexpr uint8_t kWhenceSet = 0, kWhenceCur = 1, kWhenceEnd = 2;

inline constexpr uint32_t kClockRealtime = 0, kClockMonotonic = 1, kClockProcessCpu = 2,
                          kClockThreadCpu = 3;

inline constexpr uint8_t kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2;
inline constexpr uint16_t kSubclockAbstime = 1;

inline constexpr uint8_t kPreopenDir = 0;

// Struct sizes and field offsets (bytes).
inline constexpr uint32_t kIovecSize = 8;      // buf u32 @0, len u32 @4
inline constexpr uint32_t kFdstatSize = 24;    // filetype u8 @0, flags u16 @2, base @8, inh @16
inline constexpr uint32_t kFilestatSize = 64;  // dev, ino, filetype @16, nlink @24, size @32,
                                               // atim @40, mtim @48, ctim @56
inline constexpr uint32_t kDirentSize = 24;    // next u64 @0, ino @8, namlen u32 @16, type u8 @20
inline constexpr uint32_t kPrestatSize = 8;    // tag u8 @0, name_len u32 @4
inline constexpr uint32_t kSubscriptionSize = 48;  // userdata @0, tag u8 @8, clock: id u32 @16,
                                                   // timeout u64 @24, precision @32, flags u16 @40
inline constexpr uint32_t kEventSize = 32;         // userdata @0, error u16 @8, type u8 @10

uint8_t filetype_of(mode_t mode);
// WASI fstflags (ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8) -> the pair futimens/utimensat take.
void to_timespecs(uint64_t atim, uint64_t mtim, uint32_t fst_flags, timespec out[2]);
// Writes a filestat (kFilestatSize bytes) for st at ptr; false when out of bounds.
bool store_filestat(const GuestMemory& m, uint64_t ptr, const struct stat& st);

}  // namespace microvm::wasm::wasi
