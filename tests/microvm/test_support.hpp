// Test doubles and helpers shared by the core tests.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "microvm/errors.hpp"
#include "microvm/provider.hpp"
#include "support/scoped_env.hpp"
#include "support/trusted_temp.hpp"

namespace microvm::testing {

// What a FakeProvider observed; shared so tests can look after the factory owns the provider.
struct FakeCalls {
    std::atomic<int> initialize{0};
    std::atomic<int> cleanup{0};
    std::atomic<int> run{0};
    std::atomic<int> running{0};  // inside a run_until_cancelled run now
    nlohmann::json last_settings;
};

struct FakeOptions {
    std::string name = "fake";
    Isolation isolation = Isolation::None;
    std::vector<ProgramKind> runs = {ProgramKind::Rtfs, ProgramKind::Native};
    Availability availability{true, ""};
    std::optional<nlohmann::json> schema;  // nullopt: the base class default
    std::vector<Unsupported> cannot_enforce;
    bool run_until_cancelled = false;  // run() spins until its execution is cancelled
};

// A provider double: run() only records that it was called and answers "ran".
class FakeProvider : public Provider {
  public:
    explicit FakeProvider(FakeOptions options = {},
                          std::shared_ptr<FakeCalls> calls = std::make_shared<FakeCalls>())
        : options_(std::move(options)), calls_(std::move(calls)) {}

    std::string_view name() const override { return options_.name; }
    Isolation isolation() const override { return options_.isolation; }
    std::vector<ProgramKind> runs() const override { return options_.runs; }
    Availability availability() const override { return options_.availability; }
    nlohmann::json config_schema() const override {
        return options_.schema ? *options_.schema : Provider::config_schema();
    }
    std::vector<Unsupported> check(const ExecutionContext& ctx) const override {
        std::vector<Unsupported> problems = Provider::check(ctx);
        problems.insert(problems.end(), options_.cannot_enforce.begin(),
                        options_.cannot_enforce.end());
        return problems;
    }
    FakeCalls& calls() { return *calls_; }

  protected:
    Expected<void> do_initialize(const nlohmann::json& settings) override {
        ++calls_->initialize;
        calls_->last_settings = settings;
        return Ok{};
    }
    void do_cleanup() override { ++calls_->cleanup; }
    ExecutionResult run(const ExecutionContext& ctx, const CancelToken& cancel) override {
        ++calls_->run;
        if (options_.run_until_cancelled) {
            ++calls_->running;
            while (!cancel.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            --calls_->running;
            ExecutionResult r = make_result(ctx);
            set_error(r, Reason::Cancelled, "cancelled");
            return r;
        }
        ExecutionResult r = make_result(ctx);
        r.value = "ran";
        return r;
    }

  private:
    FakeOptions options_;
    std::shared_ptr<FakeCalls> calls_;
};

using testsupport::ScopedEnv;

using testsupport::trusted_temp_base;

// A fresh temporary directory (mode 0700), removed with everything in it at the end of the
// scope; by default in the system's temp directory.
class TempDir {
  public:
    explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
        std::string tmpl = (base / "microvm-core-test-XXXXXX");
        path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::string write(const std::string& name, const std::string& content) const {
        auto file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << content;
        return file.string();
    }

  private:
    std::filesystem::path path_;
};

}  // namespace microvm::testing
