// VM mode: microvm-guest as /init of the guest image (pid 1). It mounts what a program needs
// (devtmpfs, proc, sysfs, cgroup2), brings up loopback, finds the virtio-serial port named
// "agent", serves channel mode on it with the VM's extras (Setup, a memory cgroup per run),
// and ends the VM with reboot(RB_AUTOBOOT) when the host closes the channel (the image boots
// with reboot=t and QEMU's -no-reboot, so the VM exits).
#pragma once

#include <string>

#include "microvm/guest_protocol.hpp"

namespace microvm::guest {

// Decides once, from pid and argv[0], whether this agent is a VM's init; is_vm_init() answers
// from then on.
bool detect_vm_init(const char* argv0);
bool is_vm_init();

// Never returns (reboots the VM).
[[noreturn]] void run_vm_mode();

// Setup's effects in the guest: clock, randomness, 9p shares, eth0, the program's uid. Empty on
// success, else what failed.
std::string apply_setup(const Setup& setup);

// The uid a VM's programs run as (Setup::program_uid; before a Setup, and for 0: nobody, 65534).
// Never root: root in the guest could lift what the agent set for a run.
uint32_t program_uid();
// Sets it (a run's process forked before the Setup learns it with its Exec); false for root.
bool set_program_uid(uint32_t uid);

}  // namespace microvm::guest
