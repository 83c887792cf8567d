// qemu_start_bench [RUNS] [auto|cold|pool]: RUNS executions of the RTFS program (+ 1 2) through
// the qemu provider (each a fresh VM: restored from the template snapshot with `auto`, the
// default, booted cold with `cold`, taken from a pool of one restored VM with `pool`, 1 s apart
// so the pool's worker has restored the next), printing per run the host wall time to the result, the VM's start to
// agent Ready, QEMU's CPU time, and the medians. A first `auto` run that builds the template is
// left out of the medians. Goals (docs/benchmarks.md): restore < 300 ms, cold boot < 1.5 s (TCG).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "qemu/qemu_provider.hpp"

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 7;
    const std::string mode = argc > 2 ? argv[2] : "auto";
    microvm::QemuProvider p;
    auto a = p.availability();
    if (!a.available) {
        std::fprintf(stderr, "qemu unavailable: %s\n", a.reason.c_str());
        return 2;
    }
    nlohmann::json settings = {{"start", mode == "cold" ? "cold" : "auto"}};
    if (mode == "pool") settings["pool_size"] = 1;
    if (!p.initialize(settings)) return 2;
    std::vector<double> wall, start, vmm;
    bool skipped_build = false;
    for (int i = 0; i < runs; ++i) {
        if (mode == "pool" && i > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{"(+ 1 2)"};
        const auto t0 = std::chrono::steady_clock::now();
        auto r = p.execute_program(ctx);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (r.status != microvm::Status::Ok || r.value != "3") {
            std::fprintf(stderr, "run %d failed: %s\n", i, r.error ? r.error->message.c_str() : "");
            return 1;
        }
        auto& d = r.metadata.provider_details;
        if (d.count("template_built_ms") && !skipped_build) {
            skipped_build = true;
            std::printf("run %d built the template (%s ms), not counted\n", i, d["template_built_ms"].c_str());
            --i;
            continue;
        }
        wall.push_back(ms);
        start.push_back(std::stod(d["vm_start_ms"]));
        vmm.push_back(std::stod(d["vmm_cpu_ms"]));
        std::printf("run %d: %s %s restore %s ms, result %.0f ms, vm start %s ms, QEMU CPU %s ms\n", i,
                    d["accel"].c_str(), d["start"].c_str(), d.count("restore_ms") ? d["restore_ms"].c_str() : "-", ms, d["vm_start_ms"].c_str(),
                    d["vmm_cpu_ms"].c_str());
    }
    std::printf("median of %d: to result %.0f ms, vm start %.0f ms, QEMU CPU %.0f ms\n", runs,
                median(wall), median(start), median(vmm));
    return 0;
}
