#include "qemu/qemu_backend.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "host/agent_session.hpp"
#include "host/egress.hpp"
#include "microvm/random.hpp"
#include "host/remove_tree.hpp"
#include "host/scope_exit.hpp"
#include "host/trusted_state.hpp"
#include "qemu/host_facts.hpp"
#include "qemu/qemu_vm.hpp"
#include "qemu/qemu_shares.hpp"
#include "qemu/qmp_client.hpp"
#include "qemu/snapshot.hpp"
#include "qemu/started_vm.hpp"

namespace microvm::qemu {
namespace {

using Clock = std::chrono::steady_clock;

long long ms(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
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

guest::Setup setup_for(const VmSpec& spec, const QemuVm& vm) {
    guest::Setup setup;
    setup.program_uid = vm.uid() == 0 ? 0 : static_cast<uint32_t>(vm.uid());  // never root
    setup.realtime_ns = host::realtime_ns();  // a restored guest's clock is the template's
    setup.seed_hex = microvm::random_hex(32);    // and so is its generator's state
    for (const ShareSpec& s : spec.shares) setup.shares.push_back({s.tag, s.host_path, s.writable});
    setup.network = spec.user_network || spec.egress;
    setup.proxy_only = spec.egress;
    return setup;
}

Expected<HostSetup> probe_host(const QemuSettings& settings) {
    HostSetup h;
    // Before anything in them is read or made: another run's settings must know them too.
    RTFS_CHECK(host::require_protected_state_place(settings.state_dir, "state_dir"));
    RTFS_CHECK(host::require_protected_state_place(settings.template_dir, "template_dir"));
    if (!settings.image.empty()) RTFS_CHECK(host::require_protected_state_place(settings.image, "image"));
    RTFS_TRY(h.qemu, find_qemu(settings.qemu));
    RTFS_TRY(h.image, host::find_guest_image(settings.image));
    RTFS_TRY(h.tsc_khz, host_tsc_khz());
    RTFS_TRY(h.qemu_identity, qemu_identity(h.qemu));
    // Before anything is kept in it (the KVM probe's record, VM directories).
    RTFS_CHECK(check_state_dir(settings.state_dir));
    if (settings.accel == "tcg") {
        h.accel_why = "TCG (setting accel = tcg)";
    } else {
        KvmProbe p = probe_kvm_guest(h.qemu, h.qemu_identity, h.image, settings.state_dir, h.tsc_khz);
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
    return sweep_vm_dirs(settings_.state_dir) + cgroups_->sweep_stale() + templates_->sweep_stale();
}

std::string QemuBackend::describe() const {
    return "QEMU -M microvm (" + std::string(host_.kvm ? "KVM" : "TCG") + "), image " +
           host_.image.dir + " (kernel " + host_.image.kernel_release + ")";
}


std::string QemuBackend::restore_refusal(const VmSpec& spec) const {
    if (settings_.start == "cold") return "setting start = cold";
    // Restore = the template's command line plus -incoming: the device set must be the
    // template's. 9p shares are not templated (their paths are the policy's); network devices
    // are (an egress link's tap, listener and namespace are the restored QEMU's own, made at
    // launch; QEMU's user network starts with no connection; the guest configures eth0 only at
    // Setup).
    if (!spec.shares.empty()) return "the file-system policy shares directories (9p devices the template lacks)";
    return {};
}

Expected<void> QemuBackend::build_template(const VmSpec& spec, const std::string& key,
                                           Clock::time_point deadline) const {
    RTFS_TRY(std::string build_dir, templates_->begin_build());
    host::ScopeExit cleanup([&build_dir] {
        host::remove_tree(build_dir);  // gone already when committed
    });
    const std::string state_path = build_dir + "/state";
    host::UniqueFd state(::open(state_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!state.valid()) return fail(Failure::Kind::SetupError, "cannot create " + state_path);

    VmSpec ts = spec;
    ts.qmp = true;
    ts.incoming = false;
    ts.max_file_size_bytes = 0;  // QEMU writes the state file; no program runs in this VM
    host::CgroupLimits limits;
    limits.memory_bytes = (ts.ram_mb << 20) + kVmmOverheadBytes;
    limits.max_pids = 64;
    RTFS_TRY(std::unique_ptr<host::SandboxCgroup> cgroup, cgroups_->create(limits));
    RTFS_TRY(std::unique_ptr<QemuVm> vm, QemuVm::launch(ts, settings_.state_dir, cgroup.get()));
    RTFS_TRY(host::UniqueFd qmp_fd, vm->connect_qmp(deadline));
    RTFS_TRY(QmpClient qmp, QmpClient::open(std::move(qmp_fd), deadline));
    // The agent's channel is connected while saving, as it is in every restored QEMU from its
    // start: the guest never sees its port close.
    host::AgentSession session(vm->take_agent_channel());
    if (auto hello = session.handshake(deadline); !hello) {
        std::string why = vm->exit_reason(std::chrono::milliseconds(200));
        return fail(hello.error().kind, hello.error().message + (why.empty() ? "" : " (" + why + ")"));
    }
    RTFS_CHECK(save_state(qmp, state.get(), deadline));
    vm->stop();
    return templates_->commit(build_dir, key);
}

Expected<QemuBackend::Started> QemuBackend::restore(const VmSpec& spec, const host::CgroupLimits& limits,
                                                    Clock::time_point deadline, const CancelToken& cancel,
                                                    std::map<std::string, std::string>& details,
                                                    bool set_up) const {
    RTFS_TRY(const std::string key, template_key(spec, host_.qemu_identity));
    TemplateStore::Opened opened;
    {
        std::lock_guard lock(build_mutex_);
        RTFS_TRY(opened, templates_->open(key));
        if (!opened.refused.empty()) details["template_refused"] = opened.refused;
        if (!opened.state.valid()) {
            const auto t0 = Clock::now();
            if (auto built = build_template(spec, key, deadline); !built) {
                return fail(built.error().kind, "building the template: " + built.error().message);
            }
            details["template_built_ms"] = std::to_string(ms(Clock::now() - t0));
            RTFS_TRY(opened, templates_->open(key));
            if (!opened.state.valid()) {
                return fail(Failure::Kind::SetupError, "the new template did not verify: " + opened.refused);
            }
        }
    }
    const auto t0 = Clock::now();
    auto restored = restore_from(spec, opened.state.get(), limits, std::min(deadline, t0 + kRestoreTimeout), cancel, set_up);
    if (!restored) {
        // A template that verified but does not restore (a stream this QEMU cannot load, an
        // agent that does not answer) is dropped, so the next execution rebuilds it.
        if (!cancel.cancelled()) templates_->discard(key);
        return rtfs::unexpected(restored.error());
    }
    details["restore_ms"] = std::to_string(ms(Clock::now() - t0));
    return restored;
}

Expected<QemuBackend::Started> QemuBackend::restore_from(const VmSpec& spec, int state_fd,
                                                         const host::CgroupLimits& limits,
                                                         Clock::time_point deadline,
                                                         const CancelToken& cancel, bool set_up) const {
    Started s;
    VmSpec rs = spec;
    rs.incoming = true;  // QEMU loads the state from the descriptor it starts with: no QMP at all
    RTFS_TRY(s.cgroup, cgroups_->create(limits));
    RTFS_TRY(s.vm, QemuVm::launch(rs, settings_.state_dir, s.cgroup.get(), state_fd));
    // Connected from QEMU's start: the port is open in the template, and stays so.
    s.session = std::make_unique<host::AgentSession>(s.vm->take_agent_channel());
    // The agent said Hello to the template's host; a restored one waits for Setup, which sets
    // its clock and reseeds its randomness. (A pooled VM's Setup waits for its execution: a
    // state that does not load shows there.)
    if (set_up) {
        auto ready = s.session->setup(setup_for(spec, *s.vm), deadline, cancel);
        if (!ready) {
            // A state QEMU cannot load ends QEMU, and so the channel: say why.
            std::string why = s.vm->exit_reason(std::chrono::milliseconds(200));
            return fail(ready.error().kind, ready.error().message + (why.empty() ? "" : " (" + why + ")"));
        }
        s.ready = *ready;
    }
    return s;
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
    // The policy's directories as 9p shares at the same paths, checked again now and handed to
    // QEMU as the objects this check passed (qemu_shares.hpp): the provider's check was at the
    // request, and a path may have been swapped since.
    std::vector<Unsupported> problems;
    const std::vector<CheckedShare> checked = check_shares(req.fs_policy, problems);
    if (!problems.empty()) return fail(Failure::Kind::SetupError, "fs_policy: " + problems.front().reason);
    if (test_hooks_.after_check) test_hooks_.after_check();
    std::vector<host::UniqueFd> share_fds;  // open until QEMU has started (it holds its copies)
    RTFS_TRY(spec.shares, open_shares(checked, share_fds));
    if (test_hooks_.before_qemu) test_hooks_.before_qemu();
    spec.user_network = req.host_network;
    spec.egress = req.egress != nullptr;
    spec.max_file_size_bytes = settings_.max_file_size_bytes;

    host::CgroupLimits vmm_limits;
    vmm_limits.memory_bytes = (spec.ram_mb << 20) + kVmmOverheadBytes;
    // The restore or boot is not the program's work: at the program's share a throttled restore
    // outran its time limit, fell back to a cold boot and discarded a good template, for every
    // execution after it (0.1 of a core: 18.6 s). QEMU gets a core (as far as the cgroup parent
    // allows) until the agent is ready, then the program's share (below), before it starts.
    vmm_limits.cpu_fraction = host::setup_cpu_share(*cgroups_, 1.0, req.limits.cpu_fraction);
    vmm_limits.max_pids = 64;  // QEMU's threads

    auto boot_deadline = started + std::chrono::milliseconds(settings_.boot_timeout_ms);
    std::map<std::string, std::string> details;
    Started s;
    std::string cold_why = restore_refusal(spec);
    if (cold_why.empty()) {
        Expected<std::string> key = template_key(spec, host_.qemu_identity);
        if (auto pooled = key ? take_pooled(*key, spec, vmm_limits.cpu_fraction, req.cancel, boot_deadline)
                              : std::nullopt) {
            s = std::move(*pooled);
            details["pooled"] = "true";
        } else {
            if (std::string why = pool_problem(); !why.empty()) details["pool_problem"] = why;
            auto restored = restore(spec, vmm_limits, boot_deadline, req.cancel, details);
            if (restored) s = std::move(*restored);
            else cold_why = "restore failed: " + restored.error().message;
        }
        want_pooled(spec, vmm_limits);
    }
    if (!s.vm) {
        if (req.cancel.cancelled()) return before_exec(Failure{Failure::Kind::SetupError, "cancelled"}, req.cancel, started);
        s = Started{};  // a failed restore's VM is gone; the cold boot gets its own cgroup
        boot_deadline = Clock::now() + std::chrono::milliseconds(settings_.boot_timeout_ms);
        details["cold_boot_why"] = cold_why;
        RTFS_TRY(s.cgroup, cgroups_->create(vmm_limits));
        RTFS_TRY(s.vm, QemuVm::launch(spec, settings_.state_dir, s.cgroup.get()));
        s.session = std::make_unique<host::AgentSession>(s.vm->take_agent_channel());
        if (auto hello = s.session->handshake(boot_deadline, req.cancel); !hello) {
            Failure f = hello.error();
            if (std::string why = s.vm->exit_reason(std::chrono::milliseconds(200)); !why.empty()) {
                f.message += " (" + why + ")";  // e.g. an option this QEMU refuses
            }
            return before_exec(f, req.cancel, started);
        }
        auto ready = s.session->setup(setup_for(spec, *s.vm), boot_deadline, req.cancel);
        if (!ready) return before_exec(ready.error(), req.cancel, started);
        s.ready = *ready;
    }
    // Allow/block lists: the listener QEMU's child bound in this VM's namespace (at its launch,
    // whichever way it started) becomes the execution's egress listener.
    if (req.egress) RTFS_CHECK(req.egress->adopt_listener(s.vm->take_egress_listener().release()));
    if (req.limits.cpu_fraction < vmm_limits.cpu_fraction) RTFS_CHECK(s.cgroup->limit_cpu(req.limits.cpu_fraction));
    const auto ready_at = Clock::now();

    const std::optional<std::chrono::nanoseconds> vmm_cpu_before = s.cgroup->usage().cpu_time;
    host::AgentRun run = s.session->run(exec, host::agent_limits_for(req, ready_at));
    std::optional<guest::Usage> usage = run.usage;

    s.cgroup->sample();
    const host::CgroupUsage vmm = s.cgroup->usage();
    // What the host gave QEMU while the program ran: an upper bound of the program's CPU time.
    std::optional<std::chrono::nanoseconds> vmm_run_cpu;
    if (vmm_cpu_before && vmm.cpu_time) vmm_run_cpu = *vmm.cpu_time - *vmm_cpu_before;
    const auto vmm_cpu = s.vm->stop();
    host::SandboxReport report = host::report_of(std::move(run));
    if (vmm.oom_kills > 0 && report.end != host::SandboxReport::End::TimedOut &&
        report.end != host::SandboxReport::End::Cancelled) {
        report.end = host::SandboxReport::End::MemoryExceeded;  // the host cgroup ended QEMU
        report.signal = SIGKILL;
        report.exit_code = 128 + SIGKILL;
    }
    report.wall = Clock::now() - started;
    // The program cannot have had more than QEMU had during its run (the guest's clock also runs
    // on while the host's quota holds its vCPU: 3988 ms reported under a cpu_limit where QEMU had
    // 2097 ms of host CPU in all), nor more memory than QEMU's peak. Without its cgroup's CPU
    // figures, QEMU's whole CPU time (wait4) is the bound.
    host::set_measured_usage(report, usage, {vmm_run_cpu ? vmm_run_cpu : vmm_cpu, vmm.memory_peak_bytes});
    details["accel"] = host_.kvm ? "kvm" : "tcg";
    details["start"] = details.count("cold_boot_why") ? "cold_boot" : details.count("pooled") ? "pool" : "restored";
    details.erase("pooled");
    details["vm_start_ms"] = std::to_string(ms(ready_at - started));
    details["vmm_cpu_ms"] = std::to_string(ms(vmm_cpu));
    if (vmm_run_cpu) details["vmm_run_cpu_ms"] = std::to_string(ms(*vmm_run_cpu));
    details["guest_kernel"] = s.ready.kernel;
    if (vmm.memory_peak_bytes) details["vmm_memory_peak_mb"] = std::to_string(*vmm.memory_peak_bytes >> 20);
    report.details = std::move(details);
    return report;
}

}  // namespace microvm::qemu
