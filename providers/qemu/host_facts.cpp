#include "qemu/host_facts.hpp"

#include <fcntl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "host/agent_session.hpp"
#include "host/boot_cache.hpp"
#include "host/child_process.hpp"
#include "host/kvm_device.hpp"
#include "host/paths.hpp"
#include "host/sys_error.hpp"
#include "microvm/trusted_path.hpp"
#include "qemu/qemu_command.hpp"
#include "qemu/qemu_vm.hpp"

namespace microvm::qemu {
namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string kernel_log() {
    int n = ::klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
    if (n <= 0) return {};
    std::string buf(static_cast<size_t>(n), '\0');
    n = ::klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf.data(), n);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
}

}  // namespace

Expected<uint64_t> host_tsc_khz() {
    static const std::regex log_line(
        R"(tsc: (?:Refined TSC clocksource calibration|Detected): ([0-9]+)\.([0-9]{3}) MHz)");
    std::string log = kernel_log();
    uint64_t khz = 0;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), log_line);
         it != std::sregex_iterator(); ++it) {
        khz = std::stoull((*it)[1]) * 1000 + std::stoull((*it)[2]);  // the last one wins
    }
    if (khz) return khz;
    static const std::regex cpuinfo(R"(cpu MHz\s*:\s*([0-9]+)(?:\.([0-9]{1,3}))?)");
    std::string info = read_all("/proc/cpuinfo");
    std::smatch m;
    if (std::regex_search(info, m, cpuinfo)) {
        std::string frac = m[2].matched ? m[2].str() : "0";
        while (frac.size() < 3) frac += '0';
        return std::stoull(m[1]) * 1000 + std::stoull(frac);
    }
    return fail(Failure::Kind::SetupError,
                "cannot tell the host's TSC rate (no 'tsc: Detected' in the kernel log, no "
                "'cpu MHz' in /proc/cpuinfo); the microvm guest needs it (tsc_early_khz)");
}

Expected<std::string> find_qemu(const std::string& setting) {
    std::string path = setting;
    if (path.empty()) path = host::find_in_dirs("qemu-system-x86_64", host::path_dirs("/usr/bin:/usr/local/bin:/bin"));
    if (path.empty()) {
        return fail(Failure::Kind::SetupError,
                    "qemu-system-x86_64 not found in /usr/bin:/usr/local/bin:/bin (Debian package "
                    "qemu-system-x86)");
    }
    // The host runs it (qemu_identity() as root, before any VM): it must lie where no sandbox or
    // other user could have planted or replaced it.
    auto trusted = trusted_executable(path, setting.empty() ? "qemu-system-x86_64" : "qemu binary (setting qemu)");
    if (!trusted) {
        // InvalidConfig: missing (or a relative setting, which names no package).
        const bool missing = trusted.error().kind == Failure::Kind::InvalidConfig && path.front() == '/';
        return fail(Failure::Kind::SetupError,
                    trusted.error().message + (missing ? " (Debian package qemu-system-x86)" : ""));
    }
    return *trusted;
}

Expected<std::string> qemu_identity(const std::string& qemu) {
    struct stat st;
    if (::stat(qemu.c_str(), &st) != 0) return fail(Failure::Kind::SetupError, "cannot stat " + qemu);
    // With nothing of this process's but the pipe it answers on (review, 2026-12-05: it had
    // every inheritable descriptor and the caller's stdin and stderr).
    RTFS_TRY(host::Pipe out, host::make_pipe());
    RTFS_TRY(host::ChildProcess child, host::ChildProcess::spawn({.program = qemu,
                                                                  .argv = {qemu, "-version"},
                                                                  .env = {},
                                                                  .stdin_fd = host::kDevNull,
                                                                  .stdout_fd = out.write.get(),
                                                                  .stderr_fd = host::kDevNull}));
    out.write.reset();
    std::optional<std::string> text = host::read_to_end(out.read.get(), 64 * 1024);
    const int status = child.wait().wait_status;
    if (!text || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(Failure::Kind::SetupError, qemu + " -version failed");
    }
    std::string first = text->substr(0, text->find('\n'));
    return first + " size " + std::to_string(st.st_size) + " mtime " + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
}

KvmProbe probe_kvm_guest(const std::string& qemu, const std::string& qemu_id, const host::GuestImage& image,
                   const std::string& state_dir, uint64_t tsc_khz) {
    KvmProbe out;
    if (host::KvmDevice device = host::probe_kvm_device(); !device.usable) {
        out.why = device.reason;
        return out;
    }
    // The record lies in the state directory, trusted by check_state_dir() before this runs;
    // read and written as host/boot_cache.hpp does (never through a symlink, never a record of
    // another user, replaced atomically). The boot id and effective uid are part of its key.
    const nlohmann::json identity = {{"qemu", qemu}, {"qemu_identity", qemu_id}, {"image", image.key},
                                     {"kernel_sha256", image.kernel_sha256},
                                     {"initramfs_sha256", image.initramfs_sha256}};
    if (auto recorded = host::read_boot_record(state_dir, kKvmProbeRecord, identity);
        recorded && recorded->is_object() && recorded->contains("usable") && (*recorded)["usable"].is_boolean() &&
        recorded->contains("why") && (*recorded)["why"].is_string()) {
        out.usable = (*recorded)["usable"].get<bool>();
        out.why = (*recorded)["why"].get<std::string>() + " (probed earlier this boot)";
        return out;
    }
    // A guest that runs at hardware speed reaches its agent's Hello in well under a second;
    // under a PVM /dev/kvm it hangs. 4 s leaves room for a loaded host.
    VmSpec spec;
    spec.qemu = qemu;
    spec.image = image;
    spec.tsc_khz = tsc_khz;
    spec.kvm = true;
    spec.ram_mb = 128;
    const auto started = std::chrono::steady_clock::now();
    auto vm = QemuVm::launch(spec, state_dir, nullptr);
    if (!vm) {
        out.why = "the KVM probe guest did not start: " + vm.error().message;
    } else {
        const auto deadline = started + std::chrono::seconds(4);
        Expected<guest::Hello> hello = host::AgentSession((*vm)->take_agent_channel()).handshake(deadline);
        if (!hello) {
            out.why = "a guest under KVM did not answer within 4 s (" + hello.error().message +
                      "); using TCG";
        } else {
            out.usable = true;
            out.why = "a guest under KVM answered in " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()) +
                      " ms";
        }
    }
    host::write_boot_record(state_dir, kKvmProbeRecord, identity, {{"usable", out.usable}, {"why", out.why}});
    return out;
}

}  // namespace microvm::qemu
