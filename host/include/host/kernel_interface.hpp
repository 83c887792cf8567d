// File systems that are interfaces to the kernel or to other namespaces (procfs, sysfs,
// cgroupfs, tracefs, bpffs, mqueue, ...), never data: no sandbox is given one, and the wasm
// engine, which runs in the host process, opens nothing on one.
#pragma once

#include <string>

namespace microvm::host {

// The kernel interface's name for a statfs f_type, or nullptr for a data file system.
const char* kernel_interface(unsigned long fs_type);
// Whether a mount table's fstype names one.
bool kernel_interface_name(const std::string& fstype);
// The kernel interface fd lies on, or nullptr; "unknown" when fstatfs fails (refuse it).
const char* kernel_interface_of(int fd);

}  // namespace microvm::host
