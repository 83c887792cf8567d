// cpu_limit on the qemu provider: the host cgroup's CPU quota holds QEMU (all of it: vCPU and
// device emulation) to the program's share once the VM is ready (the restore or boot has at least
// a core), and the program's reported CPU time is never more than
// the host gave QEMU while it ran (the guest's clock runs on while the quota holds its vCPU).
// Figures are the host kernel's: vmm_cpu_ms is QEMU's rusage from wait4, vmm_run_cpu_ms its
// host cgroup's CPU from the Exec to the run's end.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "qemu_fixture.hpp"
#include "support/expectations.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::Reason;

class QemuCpuTest : public qemutest::SharedProviderTest<QemuCpuTest> {};

long long detail_ms(ExecutionResult& r, const char* key) {
    auto it = r.metadata.provider_details.find(key);
    return it == r.metadata.provider_details.end() ? -1 : std::stoll(it->second);
}

std::string describe(ExecutionResult& r) {
    std::string out = r.error ? r.error->message : "ok";
    for (const auto& [k, v] : r.metadata.provider_details) out += "; " + k + "=" + v;
    out += "; duration_ms=" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 r.metadata.duration).count());
    if (r.metadata.cpu_time) {
        out += "; cpu_time_ms=" +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*r.metadata.cpu_time).count());
    }
    return out;
}

// A guest busy loop ended by a 3 s timeout at a tenth of a core. Unthrottled, TCG spins QEMU at
// a whole core or what the host's load leaves it, for the run and the restore (0.68 of the wall
// time at a load of 6 on 2 cores, 0.27-0.32 at a load of 8; throttled 0.05-0.06), so QEMU's
// host CPU under a fifth of the wall time fails without the quota up to a load of about 10.
// The guest kernel counted the throttled seconds as the loop's (2941 ms reported against
// QEMU's 522 ms in all): the reported CPU time must not exceed what QEMU had while the program
// ran. Twice, since the
// second execution may take a VM from the warm pool (keyed by the CPU share), which must be
// throttled too.
TEST_F(QemuCpuTest, CpuLimitThrottlesQemuAndCpuTimeIsTheHosts) {
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/sh", {"-c", "while :; do :; done"}};
    ctx.config.timeout = 3s;
    ctx.config.cpu_limit = 0.1;
    for (int i = 0; i < 2; ++i) {
        ExecutionResult r = provider_->execute_program(ctx);
        const std::string what = describe(r);
        ASSERT_TRUE(r.error.has_value()) << what;
        ASSERT_EQ(r.error->reason, Reason::Timeout) << what;
        const long long duration_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(r.metadata.duration).count();
        const long long vmm_cpu_ms = detail_ms(r, "vmm_cpu_ms");
        const long long vmm_run_cpu_ms = detail_ms(r, "vmm_run_cpu_ms");
        ASSERT_GT(vmm_cpu_ms, 0) << what;
        ASSERT_GT(vmm_run_cpu_ms, 0) << what;
        // The program's 3 s (the timeout runs from the agent's Ready) at its share; the restore
        // before it had a core.
        EXPECT_LT(vmm_run_cpu_ms, 3000 / 5) << what;
        EXPECT_LT(vmm_run_cpu_ms, duration_ms / 5) << what;
        // Throttled only once the VM was ready: the restore at a tenth of a core outran its
        // limit, fell back to a cold boot and threw the template away.
        EXPECT_NE(r.metadata.provider_details["start"], "cold_boot") << what;
        ASSERT_TRUE(r.metadata.cpu_time.has_value()) << what;
        const long long cpu_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*r.metadata.cpu_time).count();
        EXPECT_LE(cpu_ms, vmm_cpu_ms) << what;
        EXPECT_LE(cpu_ms, detail_ms(r, "vmm_run_cpu_ms")) << what;
        EXPECT_GE(cpu_ms, 100) << what;  // a tenth of a core for 3 s: the loop did run
    }
}

// The restore is not the program's work: at a fiftieth of a core, QEMU restoring at the
// program's share (about 250 ms of CPU) outran the 10 s restore limit, fell back to a cold
// boot that outran its own, and discarded the template for every execution after it. QEMU has
// at least a core until the agent is ready and the program's share from then on.
TEST_F(QemuCpuTest, TheVmStartsAtACoreWhateverTheProgramsShare) {
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    ctx.config.timeout = 20s;  // the Exec's own guest work, ~120 ms of QEMU's CPU, takes 6 s at 0.02
    ctx.config.cpu_limit = 0.02;
    ExecutionResult r = provider_->execute_program(ctx);
    const std::string what = describe(r);
    ASSERT_FALSE(r.error.has_value()) << what;
    EXPECT_NE(r.metadata.provider_details["start"], "cold_boot") << what;
    EXPECT_EQ(r.metadata.provider_details.count("cold_boot_why"), 0u) << what;
}

}  // namespace
