// The warm pool of the qemu backend (setting pool_size; docs/vm.md, "Fast starts"): a worker
// thread keeps restored VMs of the last restorable machine ready, their agents waiting for the
// Setup that an execution sends when it takes one.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "qemu/started_vm.hpp"

namespace microvm::qemu {

using Clock = std::chrono::steady_clock;

struct QemuBackend::Pool {
    struct Entry {
        std::string key;
        double cpu_fraction;
        Started vm;
    };
    struct Want {
        VmSpec spec;
        host::CgroupLimits limits;
        std::string key;
    };
    unsigned size = 0;
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    std::optional<Want> want;
    std::deque<Entry> ready;
    std::string last_problem;
    uint64_t hits = 0, misses = 0, failures = 0;  // for monitoring (pool_figures)
    // The worker starts every pooled QEMU: each dies with the thread that started it
    // (PR_SET_PDEATHSIG), so that thread lives as long as the pool.
    std::thread worker;
};

QemuBackend::QemuBackend(QemuSettings s, HostSetup h, std::unique_ptr<host::CgroupManager> cg)
    : settings_(std::move(s)), host_(std::move(h)), cgroups_(std::move(cg)),
      templates_(std::make_unique<TemplateStore>(settings_.template_dir)) {
    if (settings_.pool_size > 0) {
        pool_ = std::make_unique<Pool>();
        pool_->size = settings_.pool_size;
        pool_->worker = std::thread([this] { pool_worker(); });
    }
}

QemuBackend::~QemuBackend() {
    if (!pool_) return;
    {
        std::lock_guard lock(pool_->mutex);
        pool_->stopping = true;
    }
    pool_->wake.notify_all();
    pool_->worker.join();
    pool_->ready.clear();  // kills the VMs nobody took
}

void QemuBackend::pool_worker() const {
    std::unique_lock lock(pool_->mutex);
    for (;;) {
        pool_->wake.wait(lock, [&] {
            return pool_->stopping || (pool_->want && pool_->ready.size() < pool_->size);
        });
        if (pool_->stopping) return;
        Pool::Want want = *pool_->want;
        lock.unlock();
        std::map<std::string, std::string> details;
        auto vm = restore(want.spec, want.limits, Clock::now() + std::chrono::milliseconds(settings_.boot_timeout_ms),
                          CancelToken{}, details, /*set_up=*/false);
        if (vm && !host_.kvm) {
            if (auto warm = warm_up(*vm); !warm) vm = rtfs::unexpected(warm.error());
        }
        lock.lock();
        if (!vm) {
            ++pool_->failures;
            pool_->last_problem = vm.error().message;
            pool_->want.reset();  // the next execution asks again
            continue;
        }
        pool_->last_problem.clear();
        if (pool_->want && pool_->want->key == want.key &&
            pool_->want->limits.cpu_fraction == want.limits.cpu_fraction) {
            pool_->ready.push_back({want.key, want.limits.cpu_fraction, std::move(*vm)});
        }
    }
}

// Under TCG a new QEMU translates every guest code path afresh, and a snapshot does not keep the
// translations: what an execution's run costs in a fresh VM is mostly that (docs/benchmarks.md).
// A pooled VM runs the host's own programs first, an RTFS evaluation and a program's fork and
// exec, as warm-ups before its Setup (guest::Exec::warmup): the translations stay in this QEMU
// for the execution that claims it. They leave nothing an execution could see but the guest's
// caches: no file, no process (the agent reaps them), no output kept.
Expected<void> QemuBackend::warm_up(Started& vm) const {
    guest::Exec rtfs;
    rtfs.kind = guest::Exec::Kind::Rtfs;
    rtfs.job.source = "(+ 1 1)";
    rtfs.warmup = true;
    guest::Exec program;
    program.kind = guest::Exec::Kind::Program;
    program.argv = {"/bin/true"};
    program.env = {"PATH=/usr/bin:/bin"};
    program.warmup = true;
    for (const guest::Exec* exec : {&rtfs, &program}) {
        host::AgentLimits limits;
        limits.deadline = Clock::now() + kRestoreTimeout;
        limits.max_output_bytes = 4096;
        host::AgentRun run = vm.session->run(*exec, limits);
        if (run.end != host::AgentRun::End::Exited || !vm.session->usable()) {
            return fail(Failure::Kind::SetupError,
                        "the pooled VM's warm-up (" + std::string(guest::to_string(exec->kind)) +
                            ") did not end normally" + (run.problem.empty() ? "" : ": " + run.problem));
        }
    }
    return Ok{};
}

void QemuBackend::want_pooled(const VmSpec& spec, const host::CgroupLimits& limits) const {
    if (!pool_) return;
    Expected<std::string> template_of = template_key(spec, host_.qemu_identity);
    if (!template_of) return;  // the restore that ran just now failed for the same reason
    {
        std::lock_guard lock(pool_->mutex);
        const std::string& key = *template_of;
        if (!pool_->want || pool_->want->key != key || pool_->want->limits.cpu_fraction != limits.cpu_fraction) {
            // Another machine is wanted now: VMs of the previous one are of no use.
            std::erase_if(pool_->ready, [&](const Pool::Entry& e) {
                return e.key != key || e.cpu_fraction != limits.cpu_fraction;
            });
            pool_->want = Pool::Want{spec, limits, key};
        }
    }
    pool_->wake.notify_all();
}

std::optional<QemuBackend::Started> QemuBackend::take_pooled(const std::string& key, const VmSpec& spec,
                                                             double cpu_fraction,
                                                             const CancelToken& cancel,
                                                             Clock::time_point deadline) const {
    if (!pool_) return std::nullopt;
    auto counted = [&](std::optional<Started> s) {  // one hit or miss per execution
        std::lock_guard lock(pool_->mutex);
        ++(s ? pool_->hits : pool_->misses);
        return s;
    };
    for (;;) {
        std::optional<Started> s;
        {
            std::lock_guard lock(pool_->mutex);
            auto it = std::find_if(pool_->ready.begin(), pool_->ready.end(), [&](const Pool::Entry& e) {
                return e.key == key && e.cpu_fraction == cpu_fraction;
            });
            if (it != pool_->ready.end()) {
                s = std::move(it->vm);
                pool_->ready.erase(it);
            }
        }
        if (!s) return counted(std::nullopt);
        pool_->wake.notify_all();
        // Its clock and seed are set now, for this execution alone, and its network as the
        // machine has it (same template key: same devices); a pooled VM that does not answer
        // is dropped (killed) and the next one tried.
        auto ready = s->session->setup(setup_for(spec, *s->vm), std::min(deadline, Clock::now() + kRestoreTimeout), cancel);
        if (ready) {
            s->ready = *ready;
            return counted(std::move(s));
        }
        if (cancel.cancelled()) return counted(std::nullopt);
    }
}

std::optional<ProviderPoolFigures> QemuBackend::pool_figures() const {
    if (!pool_) return std::nullopt;
    std::lock_guard lock(pool_->mutex);
    return ProviderPoolFigures{pool_->ready.size(), pool_->size, pool_->hits, pool_->misses, pool_->failures};
}

std::string QemuBackend::pool_problem() const {
    if (!pool_) return {};
    std::lock_guard lock(pool_->mutex);
    return pool_->last_problem;
}

}  // namespace microvm::qemu
