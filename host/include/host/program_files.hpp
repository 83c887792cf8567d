// The host files a program needs to start inside an otherwise empty root: the executable, the
// interpreter named by its "#!" line (recursively), and the ELF interpreter and shared libraries
// of every ELF file among them.
#pragma once

#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/policy.hpp"

namespace microvm::host {

struct HostFile {
    std::string sandbox_path;  // where the program looks for it
    std::string host_path;     // canonical host path of the file bound there
};

// program: absolute host path of an existing file. Every file is read only if it is a regular
// file (anything else is InvalidInput, never opened); a "#!" interpreter must be an ELF file or
// another script, an ELF interpreter an ELF file of the program's kind (elf_deps.hpp).
// plan_rootfs checks every file again before it is bound.
// A file the program's files name (not the program itself) is bound only when any user could
// read it on the host (readable by others, below directories searchable by others) or it lies
// in a directory of granted (the paths the fs policy shows the sandbox anyway); else
// InvalidInput naming it (check_named_file).
Expected<std::vector<HostFile>> program_files(const std::string& program, const std::vector<std::string>& granted = {});

// The host paths policy shows a sandbox anyway (ro without paths: the standard system
// directories): what program_files may bind whoever could read it.
std::vector<std::string> granted_paths(const FileSystemPolicy& policy);

// real_path, named by named_by ("'/path/of/the/naming/file'"): Ok when it is readable by
// everyone on the host or lies in a directory of granted, else InvalidInput saying why.
Expected<void> check_named_file(const std::string& real_path, const std::vector<std::string>& granted,
                                const std::string& named_by);

}  // namespace microvm::host
