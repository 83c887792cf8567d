#include "host/kernel_interface.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

namespace microvm::host {
namespace {

// Each kernel interface: its statfs magic and its name, as statfs and mountinfo tell them.
struct KernelFs {
    unsigned long magic;
    const char* name;
};
constexpr KernelFs kKernelFileSystems[] = {
    {PROC_SUPER_MAGIC, "proc"},      {SYSFS_MAGIC, "sysfs"},         {CGROUP_SUPER_MAGIC, "cgroup"},
    {CGROUP2_SUPER_MAGIC, "cgroup2"}, {DEBUGFS_MAGIC, "debugfs"},    {TRACEFS_MAGIC, "tracefs"},
    {SECURITYFS_MAGIC, "securityfs"}, {SELINUX_MAGIC, "selinuxfs"},  {SMACK_MAGIC, "smackfs"},
    {BPF_FS_MAGIC, "bpf"},            {DEVPTS_SUPER_MAGIC, "devpts"}, {BINFMTFS_MAGIC, "binfmt_misc"},
    {NSFS_MAGIC, "nsfs"},             {EFIVARFS_MAGIC, "efivarfs"},  {PSTOREFS_MAGIC, "pstore"},
    {0x19800202, "mqueue"},           {0x62656570, "configfs"},      {0x65735543, "fusectl"},
};

}  // namespace

const char* kernel_interface(unsigned long fs_type) {
    for (const KernelFs& fs : kKernelFileSystems) {
        if (fs.magic == fs_type) return fs.name;
    }
    return nullptr;
}

bool kernel_interface_name(const std::string& fstype) {
    for (const KernelFs& fs : kKernelFileSystems) {
        if (fstype == fs.name) return true;
    }
    return false;
}

const char* kernel_interface_of(int fd) {
    struct statfs sfs;
    if (::fstatfs(fd, &sfs) != 0) return "unknown";
    return kernel_interface(static_cast<unsigned long>(sfs.f_type));
}

}  // namespace microvm::host
