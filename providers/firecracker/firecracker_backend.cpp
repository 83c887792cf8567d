#include "firecracker/firecracker_backend.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "firecracker/fc_api_client.hpp"
#include "firecracker/fc_process.hpp"
#include "firecracker/fc_sequences.hpp"
#include "firecracker/fc_vsock.hpp"
#include "host/agent_session.hpp"
#include "microvm/random.hpp"
#include "host/sys_error.hpp"
#include "host/trusted_state.hpp"

namespace microvm::firecracker {
namespace {

using Clock = std::chrono::steady_clock;

Failure fc_failure(const FcError& e) { return {Failure::Kind::SetupError, e.message()}; }

// A VM's id, which names its directory and its jail: random, so that no name is met twice (a
// jail of a host that died, whose pid a later host got, failed every run of that one) and none
// can be guessed ahead.
std::string new_vm_id() { return "microvm-" + microvm::random_hex(8); }


}  // namespace

Expected<std::unique_ptr<FirecrackerBackend>> FirecrackerBackend::create(const FcProviderSettings& s) {
    // Another run's settings must know them too (host/trusted_state.hpp).
    RTFS_CHECK(host::require_protected_state_place(s.state_dir, "state_dir"));
    if (!s.image.empty()) RTFS_CHECK(host::require_protected_state_place(s.image, "image"));
    if (s.launch.use_jailer) RTFS_CHECK(host::require_protected_state_place(s.launch.chroot_base, "chroot_base"));
    const char* path = std::getenv("PATH");
    Availability a = check_availability(s.launch, path ? path : "");
    if (!a.available) return fail(Failure::Kind::SetupError, a.reason);
    RTFS_TRY(FcBinaries b, find_binaries(s.launch, path ? path : ""));
    RTFS_TRY(host::GuestImage img, host::find_guest_image(s.image));
    // Every run cold boots it: its files must hold what the manifest says.
    RTFS_CHECK(host::verify_guest_image(img));
    if (img.kernel.size() < 8 || img.kernel.substr(img.kernel.size() - 7) != "vmlinux") {
        return fail(Failure::Kind::SetupError, "Firecracker boots an uncompressed vmlinux; the image has " + img.kernel);
    }
    return std::unique_ptr<FirecrackerBackend>(new FirecrackerBackend(s, std::move(b), std::move(img)));
}

Expected<host::SandboxReport> FirecrackerBackend::run(const host::SandboxRequest& req) const {
    const auto started = Clock::now();
    RTFS_TRY(guest::Exec exec, host::exec_for(req));
    exec.memory_max_bytes = req.limits.memory_bytes;
    exec.max_processes = req.limits.max_pids;

    const std::string id = new_vm_id();
    FcProcess proc;
    RTFS_TRY(proc.dir, make_vm_dir(settings_.state_dir, id));
    FcLaunchSettings launch = settings_.launch;
    if (!binaries_.jailer.empty()) {
        RTFS_TRY(host::IdLease lease, host::IdLease::take());
        launch.jail_uid = launch.jail_gid = kFirecrackerUidBase + lease.number();
        proc.uid_lease = std::move(lease);
    }
    RTFS_TRY(LaunchPlan plan, plan_launch(binaries_, launch, id, proc.dir));
    // Jailed, Firecracker sees only its jail: the kernel and initramfs are copied in.
    auto place = [&](const std::string& host_file, const std::string& name) -> Expected<std::string> {
        if (!plan.jailed) return host_file;
        std::error_code ec;
        std::filesystem::copy_file(host_file, plan.host_path("/" + name), ec);
        if (ec) return fail(Failure::Kind::SetupError, "copying " + host_file + " into the jail: " + ec.message());
        return "/" + name;
    };
    RTFS_CHECK(start_vmm(plan, proc));

    FcApiClient client(plan.api_socket);
    RTFS_CHECK(wait_for_api(client, proc, req.cancel));
    ColdBoot boot;
    RTFS_TRY(boot.boot_source.kernel_image_path, place(image_.kernel, "vmlinux"));
    RTFS_TRY(boot.boot_source.initrd_path, place(image_.initramfs, "initramfs"));
    boot.boot_source.boot_args = "console=ttyS0 quiet reboot=k panic=-1 microvm.agent_vsock_port=" +
                                 std::to_string(kAgentVsockPort);
    boot.machine.mem_size_mib = static_cast<int64_t>((req.limits.memory_bytes >> 20) + 64);
    boot.vsock = VsockDevice{3, plan.jailed ? "/vsock.sock" : proc.dir + "/vsock.sock"};
    if (auto booted = cold_boot(client, boot); !booted) return rtfs::unexpected(fc_failure(booted.error()));

    const auto boot_deadline = started + std::chrono::seconds(30);
    FcExpected<VsockStream> stream = fc_fail(FcError::Kind::Refused, "vsock", "not tried");
    while (Clock::now() < boot_deadline) {
        stream = connect_vsock(plan.host_path(boot.vsock->uds_path), kAgentVsockPort, std::chrono::seconds(2));
        if (stream || stream.error().kind != FcError::Kind::Refused) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!stream) return rtfs::unexpected(fc_failure(stream.error()));
    host::AgentSession session(std::move(stream->fd));
    RTFS_CHECK(session.handshake(boot_deadline, req.cancel));
    guest::Setup setup;
    setup.realtime_ns = host::realtime_ns();
    RTFS_CHECK(session.setup(setup, boot_deadline, req.cancel));

    host::AgentRun run = session.run(exec, host::agent_limits_for(req, Clock::now()));
    auto usage = run.usage;
    // Firecracker (with the jailer, which became it) measured by the host kernel as it is reaped:
    // no more than that can the guest's figures be.
    proc.vmm.kill();
    const host::ChildExit vmm = proc.vmm.wait();
    host::SandboxReport report = host::report_of(std::move(run));
    report.wall = Clock::now() - started;
    host::set_measured_usage(report, usage,
                             {host::cpu_time_of(vmm.usage), static_cast<uint64_t>(vmm.usage.ru_maxrss) * 1024});
    report.details = {{"accel", "kvm"}, {"start", "cold_boot"}};
    return report;
}

}  // namespace microvm::firecracker
