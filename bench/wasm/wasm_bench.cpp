// wasm provider benchmarks (Google Benchmark):
//   EmptyStart      execute_program on an empty `_start` module, cached after the first run
//                   (goal: median under 1 ms)
//   MixLoopWasm     1e6 iterations of acc = acc * 31 + i, interpreted, through the provider
//   MixLoopNative   the same loop compiled natively; MixLoopWasm / MixLoopNative is the
//                   interpreter's slowdown
//   RtfsAddOnWasm   `(+ 1 2)` through the wasm provider: rtfs-guest.wasm instantiated and run
//   RtfsAddOnMock   `(+ 1 2)` through the mock provider (in-process, no isolation), for scale
//   KeptPrivateSplit the engine's Landlock rules for a tree of 150 entries when the host keeps
//                   files private: /0 none inside the tree, /1 one inside it
#include <benchmark/benchmark.h>

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "host/landlock_private.hpp"
#include "microvm/wasm/wasm_provider.hpp"
#include "mock/mock_provider.hpp"

namespace {

microvm::ExecutionContext context_for(const std::string& wat) {
    microvm::ExecutionContext ctx;
    ctx.program = microvm::WasmModule{{wat.begin(), wat.end()}};
    ctx.config.timeout = std::chrono::seconds(60);
    ctx.config.memory_limit_mb = 64;
    return ctx;
}

std::string read_bench_file(const std::string& name) {
    std::ifstream in(std::string(WASM_BENCH_DIR) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

microvm::ExecutionContext rtfs_context(const std::string& source) {
    microvm::ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{source};
    return ctx;
}

template <class Provider = microvm::WasmProvider>
void run_provider(benchmark::State& state, const microvm::ExecutionContext& ctx) {
    Provider provider;
    if (!provider.initialize()) {
        state.SkipWithError("initialize failed");
        return;
    }
    if (!provider.execute_program(ctx).ok()) {  // warms the module cache
        state.SkipWithError("the module failed");
        return;
    }
    for (auto _ : state) {
        auto r = provider.execute_program(ctx);
        benchmark::DoNotOptimize(r);
    }
}

void EmptyStart(benchmark::State& state) {
    run_provider(state, context_for("(module (func (export \"_start\")))"));
}
BENCHMARK(EmptyStart)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly();

void MixLoopWasm(benchmark::State& state) {
    run_provider(state, context_for(read_bench_file("mix_loop.wat")));
}
BENCHMARK(MixLoopWasm)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

void MixLoopNative(benchmark::State& state) {
    for (auto _ : state) {
        uint64_t n = 1000000;
        benchmark::DoNotOptimize(n);
        uint64_t acc = 0;
        for (uint64_t i = 0; i < n; ++i) acc = acc * 31 + i;
        benchmark::DoNotOptimize(acc);
    }
}
BENCHMARK(MixLoopNative)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

}  // namespace

void RtfsAddOnWasm(benchmark::State& state) { run_provider(state, rtfs_context("(+ 1 2)")); }
BENCHMARK(RtfsAddOnWasm)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

void RtfsAddOnMock(benchmark::State& state) {
    run_provider<microvm::MockProvider>(state, rtfs_context("(+ 1 2)"));
}
BENCHMARK(RtfsAddOnMock)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

// What the engine's program spends before each run on its Landlock rules when the host keeps
// files private (microvmd): a preopened tree of 150 entries, arg 0 with nothing kept inside it
// (the mount table is read all the same), arg 1 with a token kept inside it (the tree granted
// entry by entry: host/landlock_private.hpp). Nothing kept at all (the CLI) costs nothing.
void KeptPrivateSplit(benchmark::State& state) {
    char tmpl[] = "/tmp/microvm-split-bench-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    for (int i = 0; i < 150; ++i) std::ofstream(dir / ("entry" + std::to_string(i))) << "x";
    const std::string kept = state.range(0) ? (dir / "entry7").string() : "/var/lib/microvm-split-bench/tokens";
    microvm::host::UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    const std::vector<microvm::host::landlock::Rule> rules = {{dir.string(), microvm::host::landlock::Access::Read, fd.get()}};
    for (auto _ : state) {
        auto split = microvm::host::rules_keeping_private(rules, {kept});
        if (!split) state.SkipWithError(split.error().message.c_str());
        benchmark::DoNotOptimize(split);
    }
    std::filesystem::remove_all(dir);
}
BENCHMARK(KeptPrivateSplit)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly();

BENCHMARK_MAIN();
