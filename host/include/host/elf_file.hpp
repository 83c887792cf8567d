// Reads what the dynamic loader needs from an ELF file: its class and machine, PT_INTERP, and the
// DT_NEEDED / DT_RPATH / DT_RUNPATH entries of its dynamic section. The file is untrusted input:
// every offset and size is checked, nothing is mapped, and reads are bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::host {

struct ElfInfo {
    bool is_64bit = false;
    uint16_t machine = 0;              // EM_* value
    std::string interpreter;           // PT_INTERP, empty for static executables and libraries
    std::vector<std::string> needed;   // DT_NEEDED names, in order
    std::vector<std::string> rpath;    // DT_RPATH entries (split at ':')
    std::vector<std::string> runpath;  // DT_RUNPATH entries (split at ':')
};

// InvalidInput when the file is not a readable ELF file of the host's byte order, is not a
// regular file (never opened then: a FIFO would block), or has more than one PT_INTERP header.
Expected<ElfInfo> read_elf(const std::string& path);

// True when the bytes start with the ELF magic.
bool has_elf_magic(std::string_view head);
// True when the file is a regular file starting with the ELF magic (reads 4 bytes).
bool is_elf(const std::string& path);

}  // namespace microvm::host
