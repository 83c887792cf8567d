// Finds the files a dynamically linked program needs to start: its ELF interpreter (PT_INTERP)
// and, transitively, every DT_NEEDED library, searched like the dynamic loader does (DT_RPATH,
// DT_RUNPATH with $ORIGIN, the directories of /etc/ld.so.conf, the loader's built-in
// directories). Used to build a sandbox root that holds the program and nothing else; shared by
// every provider that assembles such a root.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::host {

struct SharedObject {
    std::string path;       // where the dynamic loader opens it (for the interpreter: PT_INTERP)
    std::string real_path;  // the same file with every symlink resolved
    // Non-empty when the file was found only through the host's ld.so.conf directories: a loader
    // without the host's ld.so.cache looks for it here instead (a built-in directory).
    std::string alias_path;
};

struct Dependencies {
    std::vector<SharedObject> objects;  // the interpreter first, then libraries in load order
    std::vector<std::string> missing;   // DT_NEEDED names found nowhere (the loader will say so)
};

// Whether a file the search found may be read: real_path (every symlink resolved), named by
// named_by (the path of the file whose PT_INTERP or DT_NEEDED led there). An error ends the
// search with it.
using AdmitFile = std::function<Expected<void>(const std::string& real_path, const std::string& named_by)>;

// program: path of an ELF executable. A static executable has no dependencies; a file that is
// not ELF is InvalidInput. admit, when given, judges every file before it is read (what the
// search learns from a file it may not read, its kind, its class, the names it needs, would
// show in the result and in errors): a library it refuses is searched for further, and found
// nowhere else is refused with that error; an ELF interpreter it refuses is refused.
Expected<Dependencies> resolve_dependencies(const std::string& program, const AdmitFile& admit = {});

// Every directory the dynamic loader searches on its own, for any ELF class: the roots
// default_library_dirs() picks from (it adds only their multiarch subdirectories), so what the
// planner searches and what trusted state protects are one list.
std::span<const char* const> loader_library_roots();

// The loader's built-in library directories for this ELF class and machine, existing ones only.
std::vector<std::string> default_library_dirs(bool is_64bit, uint16_t machine);

// The directories listed by /etc/ld.so.conf and its includes (read once per process).
const std::vector<std::string>& ld_so_conf_dirs();

}  // namespace microvm::host
