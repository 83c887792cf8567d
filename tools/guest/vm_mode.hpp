// VM mode: microvm-guest as /init of the guest image (pid 1). It mounts what a program needs
// (devtmpfs, proc, sysfs, cgroup2), brings up loopback, finds the virtio-serial port named
// "agent", serves channel mode on it with the VM's extras (Setup, a memory cgroup per run),
// and ends the VM with reboot(RB_AUTOBOOT) when the host closes the channel (the image boots
// with reboot=t and QEMU's -no-reboot, so the VM exits).
#pragma once

#include <string>

#include "microvm/guest_protocol.hpp"

namespace microvm::guest {

// True when this process is the guest's init.
bool is_vm_init();

// Never returns (reboots the VM).
[[noreturn]] void run_vm_mode();

// Setup's effects in the guest: clock, randomness, 9p shares, eth0. Empty on success, else what
// failed.
std::string apply_setup(const Setup& setup);

}  // namespace microvm::guest
