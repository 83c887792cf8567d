// The guest's file descriptor table: stdio, preopened directories (from the fs policy), files
// and directories the guest opened, each with its WASI rights.
#pragma once

#include <dirent.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/policy.hpp"
#include "host/unique_fd.hpp"

namespace microvm::wasm {

using host::UniqueFd;

enum class FdKind { Stdin, Stdout, Stderr, ResultSink, Directory, File };

struct FdEntry {
    FdKind kind = FdKind::File;
    UniqueFd host;  // Directory and File only
    uint64_t rights_base = 0;
    uint64_t rights_inheriting = 0;
    uint16_t fdflags = 0;
    std::string preopen_name;     // set for preopened directories: the guest-visible path
    bool read_only_tree = false;  // below a read-only preopen: nothing here may change the host

    bool has(uint64_t rights) const { return (rights_base & rights) == rights; }
};

class FdTable {
  public:
    // 0, 1, 2 = stdin, stdout, stderr; with_result_sink puts the result sink at 3.
    explicit FdTable(bool with_result_sink = false);

    // The lowest free descriptor, or nullopt when the table is full.
    std::optional<uint32_t> add(FdEntry entry);
    FdEntry* get(uint32_t fd);
    bool close(uint32_t fd);
    bool renumber(uint32_t from, uint32_t to);

  private:
    std::vector<std::unique_ptr<FdEntry>> entries_;  // index = descriptor
};

// Opens the directories the fs policy grants and adds them as preopens (fd 3, 4, ... or after the
// result sink): None = none, ReadOnly{paths} / ReadWrite{paths} = those directories with
// read-only / full rights (an empty read-only list = the standard system directories), Full = "/"
// read-write. Errors: InvalidInput for a path that is not an existing directory, or for a
// read-only path inside (or equal to) a writable one.
Expected<void> add_preopens(FdTable& table, const FileSystemPolicy& policy);

// True when the directory inner is outer or lies below it (compared by device and inode along
// inner's ".." chain); also true when that cannot be determined. A read-only fs_policy path
// inside a writable one is refused: the writable preopen would reach it with full rights.
bool directory_within(int inner_dir_fd, int outer_dir_fd);
std::string read_only_inside_writable_reason(const std::string& ro, const std::string& rw);

// What ReadOnly{} with no paths preopens for a WASI program: the directories among /usr /lib
// /lib64 /bin /sbin present here. Not microvm::standard_system_dirs(), which the OS sandboxes
// bind: that has /etc, which holds host secrets (shadow, keys) and no wasm program needs.
std::vector<std::string> wasi_system_dirs();

}  // namespace microvm::wasm
