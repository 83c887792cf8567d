#include "host/kernel_interface.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

namespace microvm::host {

const char* kernel_interface(unsigned long fs_type) {
    switch (fs_type) {
        case PROC_SUPER_MAGIC: return "proc";
        case SYSFS_MAGIC: return "sysfs";
        case CGROUP_SUPER_MAGIC: return "cgroup";
        case CGROUP2_SUPER_MAGIC: return "cgroup2";
        case DEBUGFS_MAGIC: return "debugfs";
        case TRACEFS_MAGIC: return "tracefs";
        case SECURITYFS_MAGIC: return "securityfs";
        case SELINUX_MAGIC: return "selinuxfs";
        case SMACK_MAGIC: return "smackfs";
        case BPF_FS_MAGIC: return "bpf";
        case DEVPTS_SUPER_MAGIC: return "devpts";
        case BINFMTFS_MAGIC: return "binfmt_misc";
        case NSFS_MAGIC: return "nsfs";
        case EFIVARFS_MAGIC: return "efivarfs";
        case PSTOREFS_MAGIC: return "pstore";
        case 0x19800202: return "mqueue";
        case 0x62656570: return "configfs";
        case 0x65735543: return "fusectl";
        default: return nullptr;
    }
}

bool kernel_interface_name(const std::string& fstype) {
    for (const char* name : {"proc", "sysfs", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
                             "selinuxfs", "smackfs", "bpf", "devpts", "binfmt_misc", "nsfs", "efivarfs",
                             "pstore", "mqueue", "configfs", "fusectl"}) {
        if (fstype == name) return true;
    }
    return false;
}

const char* kernel_interface_of(int fd) {
    struct statfs sfs;
    if (::fstatfs(fd, &sfs) != 0) return "unknown";
    return kernel_interface(static_cast<unsigned long>(sfs.f_type));
}

}  // namespace microvm::host
