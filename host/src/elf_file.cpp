#include "host/elf_file.hpp"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "host/unique_fd.hpp"

namespace microvm::host {
namespace {


constexpr uint64_t kMaxProgramHeaders = 4096;
constexpr uint64_t kMaxDynamicEntries = 1 << 16;
constexpr uint64_t kMaxStringTable = 16u << 20;
constexpr uint64_t kMaxInterpreter = 4096;
// What one file's DT_NEEDED, DT_RPATH and DT_RUNPATH strings may take together (each counted with
// its NUL), and how many search directories they may list. Every entry may name the same long
// string: 65536 entries at offset 0 of a 16 MiB string made a 1 TiB copy (a review, 2026-12-06).
constexpr uint64_t kMaxNamedBytes = 1u << 20;
constexpr uint64_t kMaxSearchDirs = 4096;

rtfs::Unexpected<Failure> not_elf(const std::string& path, const std::string& why) {
    return fail(Failure::Kind::InvalidInput, "'" + path + "' is not a usable ELF file: " + why);
}

// Reads exactly size bytes at offset, refusing ranges outside the file.
bool read_at(int fd, uint64_t file_size, uint64_t offset, void* out, uint64_t size) {
    if (offset > file_size || size > file_size - offset) return false;
    auto* p = static_cast<char*>(out);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        offset += static_cast<uint64_t>(n);
        size -= static_cast<uint64_t>(n);
    }
    return true;
}

std::vector<std::string> split_search_path(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= s.size()) {
        size_t j = s.find(':', i);
        if (j == std::string::npos) j = s.size();
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

struct Elf32Types {
    using Ehdr = Elf32_Ehdr;
    using Phdr = Elf32_Phdr;
    using Dyn = Elf32_Dyn;
};
struct Elf64Types {
    using Ehdr = Elf64_Ehdr;
    using Phdr = Elf64_Phdr;
    using Dyn = Elf64_Dyn;
};

template <class T>
Expected<ElfInfo> parse(const std::string& path, int fd, uint64_t file_size) {
    typename T::Ehdr eh;
    if (!read_at(fd, file_size, 0, &eh, sizeof eh)) return not_elf(path, "truncated header");
    if (eh.e_phentsize != sizeof(typename T::Phdr) || eh.e_phnum > kMaxProgramHeaders) {
        return not_elf(path, "bad program header table");
    }
    ElfInfo info;
    info.is_64bit = sizeof(typename T::Ehdr) == sizeof(Elf64_Ehdr);
    info.machine = eh.e_machine;

    std::vector<typename T::Phdr> phdrs(eh.e_phnum);
    if (!phdrs.empty() && !read_at(fd, file_size, eh.e_phoff, phdrs.data(),
                                   phdrs.size() * sizeof(typename T::Phdr))) {
        return not_elf(path, "truncated program headers");
    }

    const typename T::Phdr* dynamic = nullptr;
    bool has_interpreter = false;
    for (const auto& ph : phdrs) {
        if (ph.p_type == PT_INTERP) {
            // The kernel loads the first; a reader keeping another would bind a file the program
            // was never going to run as its interpreter (any host file, under fs none).
            if (has_interpreter) return not_elf(path, "more than one PT_INTERP header");
            has_interpreter = true;
            if (ph.p_filesz == 0 || ph.p_filesz > kMaxInterpreter) {
                return not_elf(path, "bad PT_INTERP");
            }
            std::string interp(ph.p_filesz, '\0');
            if (!read_at(fd, file_size, ph.p_offset, interp.data(), interp.size())) {
                return not_elf(path, "truncated PT_INTERP");
            }
            // The kernel refuses a PT_INTERP whose last byte is not a NUL (ENOEXEC); reading up
            // to the first NUL named an interpreter for a program that could never start.
            if (interp.back() != '\0') return not_elf(path, "unterminated PT_INTERP");
            info.interpreter = interp.c_str();  // stops at the terminating NUL
            if (info.interpreter.empty()) return not_elf(path, "empty PT_INTERP");
        } else if (ph.p_type == PT_DYNAMIC) {
            dynamic = &ph;
        }
    }
    if (!dynamic) return info;  // static executable

    uint64_t count = dynamic->p_filesz / sizeof(typename T::Dyn);
    if (count > kMaxDynamicEntries) return not_elf(path, "dynamic section too large");
    std::vector<typename T::Dyn> dyn(count);
    if (count > 0 &&
        !read_at(fd, file_size, dynamic->p_offset, dyn.data(), count * sizeof(typename T::Dyn))) {
        return not_elf(path, "truncated dynamic section");
    }

    uint64_t strtab_addr = 0, strtab_size = 0;
    std::vector<uint64_t> needed, rpath, runpath;
    for (const auto& d : dyn) {
        if (d.d_tag == DT_NULL) break;
        switch (d.d_tag) {
            case DT_STRTAB:
                strtab_addr = d.d_un.d_ptr;
                break;
            case DT_STRSZ:
                strtab_size = d.d_un.d_val;
                break;
            case DT_NEEDED:
                needed.push_back(d.d_un.d_val);
                break;
            case DT_RPATH:
                rpath.push_back(d.d_un.d_val);
                break;
            case DT_RUNPATH:
                runpath.push_back(d.d_un.d_val);
                break;
            default:
                break;
        }
    }
    if (needed.empty() && rpath.empty() && runpath.empty()) return info;
    if (strtab_size == 0 || strtab_size > kMaxStringTable) {
        return not_elf(path, "bad dynamic string table");
    }

    // DT_STRTAB is a virtual address: find the file offset through the PT_LOAD covering it.
    uint64_t strtab_offset = 0;
    bool mapped = false;
    for (const auto& ph : phdrs) {
        if (ph.p_type == PT_LOAD && strtab_addr >= ph.p_vaddr &&
            strtab_addr - ph.p_vaddr < ph.p_filesz) {
            const uint64_t delta = strtab_addr - ph.p_vaddr;
            // Past 2^64 the sum wrapped to some other place of the file, for a segment the
            // loader cannot map at all.
            if (ph.p_offset > UINT64_MAX - delta) return not_elf(path, "PT_LOAD offset out of range");
            strtab_offset = ph.p_offset + delta;
            mapped = true;
            break;
        }
    }
    if (!mapped) return not_elf(path, "dynamic string table outside every PT_LOAD");
    if (strtab_offset > file_size || strtab_size > file_size - strtab_offset) {
        return not_elf(path, "truncated dynamic string table");
    }
    // Only the strings named are read, each up to its NUL and within what the budget has left:
    // the scan and the copy of every string together stay below kMaxNamedBytes.
    uint64_t named_left = kMaxNamedBytes;
    auto str = [&](uint64_t off) -> Expected<std::string> {
        if (off >= strtab_size) return not_elf(path, "string offset out of range");
        const uint64_t limit = std::min(strtab_size - off, named_left);
        std::string out;
        char chunk[4096];
        while (out.size() < limit) {
            const uint64_t n = std::min<uint64_t>(sizeof chunk, limit - out.size());
            if (!read_at(fd, file_size, strtab_offset + off + out.size(), chunk, n)) {
                return not_elf(path, "truncated dynamic string table");
            }
            if (const void* nul = std::memchr(chunk, '\0', n)) {
                out.append(chunk, static_cast<size_t>(static_cast<const char*>(nul) - chunk));
                named_left -= out.size() + 1;
                return out;
            }
            out.append(chunk, n);
        }
        if (limit == named_left) {
            return not_elf(path, "its DT_NEEDED, DT_RPATH and DT_RUNPATH strings exceed " +
                                     std::to_string(kMaxNamedBytes) + " bytes");
        }
        return not_elf(path, "unterminated string");
    };
    for (uint64_t off : needed) {
        RTFS_TRY(std::string name, str(off));
        info.needed.push_back(std::move(name));
    }
    for (uint64_t off : rpath) {
        RTFS_TRY(std::string value, str(off));
        for (std::string& dir : split_search_path(value)) info.rpath.push_back(std::move(dir));
    }
    for (uint64_t off : runpath) {
        RTFS_TRY(std::string value, str(off));
        for (std::string& dir : split_search_path(value)) info.runpath.push_back(std::move(dir));
    }
    if (info.rpath.size() + info.runpath.size() > kMaxSearchDirs) {
        return not_elf(path, "more than " + std::to_string(kMaxSearchDirs) +
                                 " DT_RPATH and DT_RUNPATH directories");
    }
    return info;
}

constexpr unsigned char kHostByteOrder =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;

}  // namespace

Expected<ElfInfo> read_elf(const std::string& path) {
    auto opened = open_regular_file(path);
    if (!opened) return rtfs::unexpected(std::move(opened).error());
    const UniqueFd& fd = *opened;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return not_elf(path, "cannot be examined");
    uint64_t size = static_cast<uint64_t>(st.st_size);
    unsigned char ident[EI_NIDENT];
    if (!read_at(fd.get(), size, 0, ident, sizeof ident) ||
        std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
        return not_elf(path, "no ELF magic");
    }
    if (ident[EI_DATA] != kHostByteOrder) return not_elf(path, "foreign byte order");
    if (ident[EI_CLASS] == ELFCLASS64) return parse<Elf64Types>(path, fd.get(), size);
    if (ident[EI_CLASS] == ELFCLASS32) return parse<Elf32Types>(path, fd.get(), size);
    return not_elf(path, "unknown ELF class");
}

bool has_elf_magic(std::string_view head) {
    return head.size() >= SELFMAG && std::memcmp(head.data(), ELFMAG, SELFMAG) == 0;
}

bool is_elf(const std::string& path) {
    auto fd = open_regular_file(path);
    char magic[SELFMAG];
    return fd && ::read(fd->get(), magic, sizeof magic) == SELFMAG &&
           has_elf_magic(std::string_view(magic, sizeof magic));
}

}  // namespace microvm::host
