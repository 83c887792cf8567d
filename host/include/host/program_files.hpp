// The host files a program needs to start inside an otherwise empty root: the executable, the
// interpreter named by its "#!" line (recursively), and the ELF interpreter and shared libraries
// of every ELF file among them.
#pragma once

#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::host {

struct HostFile {
    std::string sandbox_path;  // where the program looks for it
    std::string host_path;     // canonical host path of the file bound there
};

// program: absolute host path of an existing file. Every file is read only if it is a regular
// file (anything else is InvalidInput, never opened); a "#!" interpreter must be an ELF file or
// another script, an ELF interpreter an ELF file of the program's kind (elf_deps.hpp).
// plan_rootfs checks every file again before it is bound.
Expected<std::vector<HostFile>> program_files(const std::string& program);

}  // namespace microvm::host
