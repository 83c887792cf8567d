#include "qemu/qemu_backend.hpp"

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "host/agent_session.hpp"
#include "qemu/host_facts.hpp"
#include "qemu/qemu_vm.hpp"

namespace microvm::qemu {
namespace {

using Clock = std::chrono::steady_clock;

long long ms(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string random_hex(size_t bytes) {
    std::string raw(bytes, '\0');
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
        if (n > 0) got += static_cast<size_t>(n);
    }
    static const char* digits = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : raw) {
        hex += digits[c >> 4];
        hex += digits[c & 15];
    }
    return hex;
}

uint64_t realtime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// The policy's directories as 9p shares at the same paths: read-only ones, then writable ones
// (a writable path inside a read-only one is mounted after it, so it stays writable).
std::vector<ShareSpec> shares_for(const FileSystemPolicy& fs) {
    std::vector<ShareSpec> out;
    auto add = [&](const std::string& path, bool writable) {
        out.push_back({"s" + std::to_string(out.size()), path, writable});
    };
    switch (fs.kind) {
        case FileSystemPolicy::Kind::ReadOnly:
            for (const std::string& p : fs.paths) add(p, false);
            break;
        case FileSystemPolicy::Kind::ReadWrite:
            for (const std::string& p : fs.read_only_paths) add(p, false);
            for (const std::string& p : fs.paths) add(p, true);
            break;
        case FileSystemPolicy::Kind::None:
        case FileSystemPolicy::Kind::Full: break;  // Full is refused by the provider's check
    }
    // Parents before children, so a share inside another is mounted on top of it.
    std::stable_sort(out.begin(), out.end(),
                     [](const ShareSpec& a, const ShareSpec& b) { return a.host_path.size() < b.host_path.size(); });
    return out;
}

// A failure before the Exec: a broken agent (InvalidInput: it sent what the protocol forbids)
// is the guest's fault, reported as GuestFailed; a cancellation as Cancelled; anything else
// stays a setup error.
Expected<host::SandboxReport> before_exec(const Failure& f, const CancelToken& cancel,
                                          Clock::time_point started) {
    host::SandboxReport r;
    r.wall = Clock::now() - started;
    if (f.kind == Failure::Kind::InvalidInput) {
        r.end = host::SandboxReport::End::GuestFailed;
        r.exec_error = "guest agent: " + f.message;
        return r;
    }
    if (cancel.cancelled()) {
        r.end = host::SandboxReport::End::Cancelled;
        r.signal = SIGKILL;
        r.exit_code = 128 + SIGKILL;
        return r;
    }
    return fail(f.kind, f.message);
}

}  // namespace

Expected<HostSetup> probe_host(const QemuSettings& settings) {
    HostSetup h;
    RTFS_TRY(h.qemu, find_qemu(settings.qemu));
    RTFS_TRY(h.image, host::find_guest_image(settings.image));
    RTFS_TRY(h.tsc_khz, host_tsc_khz());
    if (settings.accel == "tcg") {
        h.accel_why = "TCG (setting accel = tcg)";
    } else {
        if (::mkdir(settings.state_dir.c_str(), 0711) != 0 && errno != EEXIST) {
            return fail(Failure::Kind::SetupError, "cannot create " + settings.state_dir);
        }
        KvmProbe p = probe_kvm(h.qemu, h.image, settings.state_dir, h.tsc_khz);
        if (settings.accel == "kvm" && !p.usable) {
            return fail(Failure::Kind::SetupError, "accel = kvm but KVM does not run a guest: " + p.why);
        }
        h.kvm = p.usable;
        h.accel_why = (p.usable ? "KVM: " : "TCG: ") + p.why;
    }
    return h;
}

Expected<std::unique_ptr<QemuBackend>> QemuBackend::create(const QemuSettings& settings) {
    RTFS_TRY(HostSetup h, probe_host(settings));
    RTFS_TRY(std::unique_ptr<host::CgroupManager> cg,
             host::detect_cgroups(settings.cgroup_parent, "microvm-qemu-"));
    return std::unique_ptr<QemuBackend>(new QemuBackend(settings, std::move(h), std::move(cg)));
}

size_t QemuBackend::sweep_stale() const {
    return sweep_vm_dirs(settings_.state_dir) + cgroups_->sweep_stale();
}

std::string QemuBackend::describe() const {
    return "QEMU -M microvm (" + std::string(host_.kvm ? "KVM" : "TCG") + "), image " +
           host_.image.dir + " (kernel " + host_.image.kernel_release + ")";
}

Expected<host::SandboxReport> QemuBackend::run(const host::SandboxRequest& req) const {
    const auto started = Clock::now();
    RTFS_TRY(guest::Exec exec, host::exec_for(req));
    exec.memory_max_bytes = req.limits.memory_bytes;
    exec.max_processes = req.limits.max_pids;

    VmSpec spec;
    spec.qemu = host_.qemu;
    spec.image = host_.image;
    spec.tsc_khz = host_.tsc_khz;
    spec.kvm = host_.kvm;
    spec.ram_mb = (req.limits.memory_bytes >> 20) + kGuestReserveMb;
    spec.shares = shares_for(req.fs_policy);
    spec.user_network = req.host_network;

    host::CgroupLimits vmm_limits;
    vmm_limits.memory_bytes = (spec.ram_mb << 20) + kVmmOverheadBytes;
    vmm_limits.cpu_fraction = req.limits.cpu_fraction;
    vmm_limits.max_pids = 64;  // QEMU's threads
    RTFS_TRY(std::unique_ptr<host::SandboxCgroup> cgroup, cgroups_->create(vmm_limits));
    RTFS_TRY(std::unique_ptr<QemuVm> vm, QemuVm::launch(spec, settings_.state_dir, cgroup.get()));

    const auto boot_deadline = started + std::chrono::milliseconds(settings_.boot_timeout_ms);
    RTFS_TRY(host::UniqueFd channel, vm->connect_agent(boot_deadline));
    host::AgentSession session(std::move(channel));
    if (auto hello = session.handshake(boot_deadline, req.cancel); !hello) {
        return before_exec(hello.error(), req.cancel, started);
    }
    guest::Setup setup;
    setup.realtime_ns = realtime_ns();
    setup.seed_hex = random_hex(32);
    for (const ShareSpec& s : spec.shares) setup.shares.push_back({s.tag, s.host_path, s.writable});
    setup.network = spec.user_network;
    auto ready = session.setup(setup, boot_deadline, req.cancel);
    if (!ready) return before_exec(ready.error(), req.cancel, started);
    const auto ready_at = Clock::now();

    host::AgentLimits limits;
    limits.deadline = ready_at + req.timeout;
    limits.cancel = req.cancel;
    limits.max_output_bytes = req.max_output_bytes;
    limits.on_output = req.on_output;
    if (!req.guest) limits.stdin_data = req.stdin_data;
    host::AgentRun run = session.run(exec, limits);
    std::optional<guest::Usage> usage = run.usage;

    cgroup->sample();
    const host::CgroupUsage vmm = cgroup->usage();
    const auto vmm_cpu = vm->stop();
    host::SandboxReport report = host::report_of(std::move(run));
    if (vmm.oom_kills > 0 && report.end != host::SandboxReport::End::TimedOut &&
        report.end != host::SandboxReport::End::Cancelled) {
        report.end = host::SandboxReport::End::MemoryExceeded;  // the host cgroup ended QEMU
        report.signal = SIGKILL;
        report.exit_code = 128 + SIGKILL;
    }
    report.wall = Clock::now() - started;
    if (usage) {
        report.cpu_time = std::chrono::microseconds(usage->cpu_user_us + usage->cpu_system_us);
        report.memory_peak_bytes = usage->peak_memory_bytes;
    }
    report.details = {
        {"accel", host_.kvm ? "kvm" : "tcg"},
        {"start", "cold_boot"},
        {"vm_start_ms", std::to_string(ms(ready_at - started))},
        {"vmm_cpu_ms", std::to_string(ms(vmm_cpu))},
        {"guest_kernel", ready->kernel},
    };
    if (vmm.memory_peak_bytes) {
        report.details["vmm_memory_peak_mb"] = std::to_string(*vmm.memory_peak_bytes >> 20);
    }
    return report;
}

}  // namespace microvm::qemu
