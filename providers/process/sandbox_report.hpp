// Turns what the host observed of one sandbox run (the init's reports, the capture, the
// cgroup's counters and the init's rusage) into the SandboxReport, or the setup error that kept
// the program from starting.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <string>

#include "host/cgroup.hpp"
#include "process/child_plan.hpp"
#include "host/output_capture.hpp"
#include "host/sandbox.hpp"

namespace microvm::process {

// Whether the init's reports (raw ChildReport records) say the program ended.
bool program_reported_end(const std::string& reports);

Expected<host::SandboxReport> make_report(host::Captured captured, const host::CgroupUsage& usage,
                                      const struct rusage& init_rusage, int init_wait_status,
                                      std::chrono::steady_clock::time_point started,
                                      const ChildPlan& plan);

}  // namespace microvm::process
