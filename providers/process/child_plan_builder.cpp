#include "process/child_plan_builder.hpp"

#include <sys/mount.h>

namespace microvm::process {
using host::Mount;
using host::RootfsPlan;
namespace {

// "/usr/lib" -> "usr/lib": mount targets are resolved beneath the new root.
std::string relative(const std::string& absolute) {
    size_t first = absolute.find_first_not_of('/');
    return first == std::string::npos ? std::string() : absolute.substr(first);
}

uint64_t bind_attributes(const Mount& m) {
    uint64_t attrs = MOUNT_ATTR_NOSUID;
    if (!m.writable) attrs |= MOUNT_ATTR_RDONLY;
    if (!m.devices) attrs |= MOUNT_ATTR_NODEV;
    if (m.devices) attrs |= MOUNT_ATTR_NOEXEC;  // a single device node
    return attrs;
}

}  // namespace

const char* ChildPlanBuilder::keep(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back().c_str();
}

ChildMount ChildPlanBuilder::to_child(const Mount& m) {
    ChildMount c;
    c.target = keep(relative(m.target));
    switch (m.kind) {
        case Mount::Kind::Bind:
            c.kind = ChildMount::kBind;
            c.source = keep(m.source);
            c.directory = m.directory;
            c.attr_set = bind_attributes(m);
            c.source_dev = m.identity.dev;
            c.source_ino = m.identity.ino;
            c.owner_uid = m.owner_uid;
            c.owner_gid = m.owner_gid;
            break;
        case Mount::Kind::Tmpfs:
            c.kind = ChildMount::kTmpfs;
            c.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m.writable ? 0 : MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC) |
                         (m.noexec ? MOUNT_ATTR_NOEXEC : 0);
            c.tmpfs_size = keep(std::to_string(m.size_bytes));
            c.tmpfs_mode = m.writable ? "1777" : "0555";  // read-only: a cover (sandbox.cpp)
            break;
        case Mount::Kind::Proc:
            c.kind = ChildMount::kProc;
            c.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
            break;
        case Mount::Kind::Devpts:
            c.kind = ChildMount::kDevpts;
            c.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
            break;
        case Mount::Kind::Mqueue:
            c.kind = ChildMount::kMqueue;
            c.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
            break;
        case Mount::Kind::HostReadOnly:
            c.kind = ChildMount::kHostReadOnly;
            c.source = keep(m.source);
            c.attr_set = MOUNT_ATTR_RDONLY;
            break;
    }
    return c;
}

void ChildPlanBuilder::set_rootfs(const RootfsPlan& rootfs, const std::string& attach_dir) {
    plan_.host_root = rootfs.host_root;
    plan_.attach_dir = keep(attach_dir);
    mounts_.clear();
    for (const Mount& m : rootfs.mounts) mounts_.push_back(to_child(m));
    plan_.mounts = mounts_.data();
    plan_.mount_count = mounts_.size();
    for (const auto& [path, target] : rootfs.symlinks) {
        symlink_paths_.push_back(keep(relative(path)));
        symlink_targets_.push_back(keep(target));
    }
    plan_.symlink_paths = symlink_paths_.data();
    plan_.symlink_targets = symlink_targets_.data();
    plan_.symlink_count = symlink_paths_.size();
    plan_.workdir = keep(rootfs.workdir);
}

void ChildPlanBuilder::set_program(const std::string& exec_path,
                                   const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env) {
    plan_.exec_path = keep(exec_path);
    for (const std::string& a : argv) argv_.push_back(const_cast<char*>(keep(a)));
    argv_.push_back(nullptr);
    for (const std::string& e : env) envp_.push_back(const_cast<char*>(keep(e)));
    envp_.push_back(nullptr);
    plan_.argv = argv_.data();
    plan_.envp = envp_.data();
}

void ChildPlanBuilder::set_rlimits(std::vector<ChildRlimit> rlimits) {
    rlimits_ = std::move(rlimits);
    plan_.rlimits = rlimits_.data();
    plan_.rlimit_count = rlimits_.size();
}

void ChildPlanBuilder::set_seccomp(const SeccompFilter& filter) {
    seccomp_existence_ = filter.existence();
    seccomp_arguments_ = filter.arguments();
    plan_.seccomp_existence = &seccomp_existence_;
    plan_.seccomp_arguments = &seccomp_arguments_;
}

}  // namespace microvm::process
