// What the qemu backend's ways to start a VM share (qemu_backend.cpp: restore and cold boot;
// qemu_pool.cpp: the warm pool): a started VM with its cgroup and agent session, and the agent's
// Setup for a VM of a spec.
#pragma once

#include <chrono>
#include <memory>

#include "host/agent_session.hpp"
#include "host/cgroup.hpp"
#include "qemu/qemu_backend.hpp"
#include "qemu/qemu_vm.hpp"

namespace microvm::qemu {

// How long a restore from a template may take before the execution falls back to a cold boot.
inline constexpr std::chrono::seconds kRestoreTimeout{10};

// Members in this order: the session closes, then QEMU dies, then its cgroup goes.
struct QemuBackend::Started {
    std::unique_ptr<host::SandboxCgroup> cgroup;
    std::unique_ptr<QemuVm> vm;
    std::unique_ptr<host::AgentSession> session;
    guest::Ready ready;
};

// The Setup a VM of spec gets: the host's clock and a fresh seed now (a restored guest has the
// template's), its shares and network, and the program's uid: the one QEMU (vm) serves the
// shares as, so that the program owns what it creates there.
guest::Setup setup_for(const VmSpec& spec, const QemuVm& vm);

}  // namespace microvm::qemu
