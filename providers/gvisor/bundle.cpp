#include "gvisor/bundle.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "gvisor/oci_spec.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::gvisor {
namespace {

constexpr uint64_t kLogTail = 64 * 1024;

// dir bound onto itself as a mount of its own, unbindable, so that nothing mounted below it later
// propagates anywhere, and no recursive clone of a directory above it takes it along. A mount
// attached under a shared parent joins the parent's propagation (whatever the clone's own
// setting): this one is copied, empty of mounts, to the parent's peers, and leaves their group
// before anything is mounted in it. Unbindable (private, and never copied by a recursive bind):
// another sandbox whose policy names a directory above the state directory (`--fs full`,
// `ro=/run`) would otherwise get a copy of this bundle with its result tmpfs, whose owner is the
// uid every gVisor sandbox runs as, and read or replace this execution's result; and each such
// run would copy every other bundle's mounts, doubling the host's mount table per run.
Expected<void> make_unbindable_mount(const std::string& dir) {
    host::UniqueFd at(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!at.valid()) return host::sys_failure("open " + dir, errno);
    host::UniqueFd tree(
        ::open_tree(at.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
    if (!tree.valid()) return host::sys_failure("cloning " + dir, errno);
    if (::move_mount(tree.get(), "", at.get(), "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
        return host::sys_failure("attaching " + dir + " onto itself", errno);
    }
    struct mount_attr attr {};
    attr.propagation = MS_UNBINDABLE;
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
        return host::sys_failure("making the mount of " + dir + " unbindable", errno);
    }
    return Ok{};
}

}  // namespace

Expected<std::unique_ptr<Bundle>> Bundle::create(const std::string& parent, const std::string& name,
                                                 bool result_dir) {
    const std::string dir = parent + "/" + name;
    RTFS_CHECK(make_dir(dir, 0700));  // staged_binds.hpp: nobody else may reach in
    std::unique_ptr<Bundle> bundle(new Bundle(dir, result_dir));  // removes dir on failure
    // Before anything is mounted in it (the result tmpfs, the staged binds): with the state
    // directory under a shared mount (/run on a systemd host), those would show at its peers.
    RTFS_CHECK(make_unbindable_mount(dir));
    RTFS_CHECK(make_dir(bundle->rootfs(), 0755));
    // runsc creates its log world-readable; created here first, it stays the host's alone.
    RTFS_CHECK(write_whole_file(bundle->log_path(), ""));
    if (result_dir) {
        // A tmpfs of its own, capped at one frame: what the guest writes there stays in memory
        // (charged to the execution's memory cgroup, as the gofer writing it runs there) and can
        // never fill the host's disk, whatever the program inside does. Its root belongs to the
        // sandbox uid, which on the host is a real user (nobody): it sits below a directory of
        // root's alone, so that no host process of that uid can read or forge the result.
        RTFS_CHECK(make_dir(dir + "/private", 0700));
        const std::string result = bundle->result_path();
        RTFS_CHECK(make_dir(result, 0700));
        const std::string options = "size=" + std::to_string(kResultTmpfsBytes) +
                                    ",mode=0700,uid=" + std::to_string(kSandboxUid) +
                                    ",gid=" + std::to_string(kSandboxGid);
        if (::mount("tmpfs", result.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    options.c_str()) != 0) {
            return host::sys_failure("mounting the result tmpfs " + result, errno);
        }
        bundle->result_mounted_ = true;
    }
    return bundle;
}

Bundle::~Bundle() {
    staged_.reset();
    if (result_mounted_) ::umount2(result_path().c_str(), MNT_DETACH);
    remove_tree(dir_);  // detaches the bundle's own mount first
}

std::optional<std::string> Bundle::result_dir() const {
    if (!result_) return std::nullopt;
    return result_path();
}

Expected<void> Bundle::write_config(const nlohmann::json& config) const {
    return write_whole_file(dir_ + "/config.json", config.dump());
}

Expected<void> Bundle::stage_binds(std::vector<OciMount>& mounts) {
    RTFS_TRY(staged_, StagedBinds::stage(dir_ + "/binds", rootfs(), mounts));
    return Ok{};
}

Expected<void> Bundle::add_root_symlinks(
    const std::vector<std::pair<std::string, std::string>>& links) const {
    for (const auto& [name, target] : links) {
        const std::string path = rootfs() + "/" + name;
        if (::symlink(target.c_str(), path.c_str()) != 0) {
            return host::sys_failure("symlink " + path, errno);
        }
    }
    return Ok{};
}

std::optional<FileContents> Bundle::read_result(uint64_t max_bytes) const {
    if (!result_) return std::nullopt;
    return read_file_capped(result_path() + "/" + kGuestResultFile, max_bytes);
}

std::string Bundle::runsc_errors() const {
    auto log = read_file_capped(log_path(), kLogTail);
    if (!log) return {};
    std::string errors;
    std::istringstream in(log->data);
    for (std::string line; std::getline(in, line);) {
        std::string message;
        auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (entry.is_object()) {
            std::string level = entry.value("level", "");
            if (level == "error" || level == "fatal") message = entry.value("msg", "");
        } else if (!line.empty() && (line.front() == 'E' || line.front() == 'F')) {
            message = line;  // glog text format: E1128 12:00:00 ... message
        }
        if (!message.empty()) errors += (errors.empty() ? "" : "; ") + message;
    }
    return errors;
}

}  // namespace microvm::gvisor
