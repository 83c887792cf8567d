#include "gvisor/state_dir.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <vector>

#include "gvisor/fs_tree.hpp"
#include "host/mountinfo.hpp"
#include "host/stale_dirs.hpp"
#include "host/dir_stream.hpp"

namespace microvm::gvisor {
namespace {

// runsc's files for container ID in its root: "ID_sandbox:ID.state", "ID_sandbox:ID.lock".
bool is_state_of(std::string_view file, const std::string& id) {
    return file.size() > id.size() && file.starts_with(id) && file[id.size()] == '_';
}


}  // namespace

Expected<std::unique_ptr<StateDir>> StateDir::create(const std::string& base) {
    std::string path = base + "/" + host::owned_name(kNamePrefix);
    // Root's alone: the bundles below hold staged host objects (staged_binds.hpp). runsc reaches
    // them as root; the sandbox, through the descriptors its gofer opened.
    RTFS_CHECK(make_dir(path, 0700));
    std::unique_ptr<StateDir> dir(new StateDir(path));  // removes path if what follows fails
    RTFS_CHECK(make_dir(dir->runsc_root(), 0700));
    RTFS_CHECK(make_dir(dir->bundles(), 0700));
    return dir;
}

StateDir::~StateDir() {
    remove_tree(path_);
}

void StateDir::remove_container_state(const std::string& id) const {
    const std::string root = runsc_root();
    for (const std::string& name : host::entry_names(root)) {
        if (is_state_of(name, id)) ::unlink((root + "/" + name).c_str());
    }
}

bool StateDir::has_container_state(const std::string& id) const {
    for (const std::string& name : host::entry_names(runsc_root())) {
        if (is_state_of(name, id)) return true;
    }
    return false;
}

size_t sweep_stale_state_dirs(const std::string& base) {
    return host::remove_left_by_dead_owners(base, kNamePrefix, [](const std::string& dir) {
        host::unmount_below(dir);  // result tmpfs mounts of its bundles
        return remove_tree(dir);
    });
}

}  // namespace microvm::gvisor
