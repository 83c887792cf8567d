// The host files a program needs to start inside an otherwise empty root: the executable, the
// interpreter named by its "#!" line (recursively), and the ELF interpreter and shared libraries
// of every ELF file among them.
#pragma once

#include <sys/types.h>

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
// A file the program's files name (not the program itself) is bound only when it is the
// program file owner's or any user could read it on the host (readable by others, below
// directories searchable by others); else InvalidInput naming it (check_named_file).
Expected<std::vector<HostFile>> program_files(const std::string& program);

// real_path, named by named_by ("'/path/of/the/naming/file'"): Ok when it is program_owner's or
// readable by everyone on the host, else InvalidInput saying why.
Expected<void> check_named_file(const std::string& real_path, uid_t program_owner, const std::string& named_by);

}  // namespace microvm::host
