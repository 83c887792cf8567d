// The existence filter rewritten as a search over ranges of system call numbers. libseccomp
// compares the number against each allowed call (375 instructions for ~290 calls); the allowed
// numbers form ~35 ranges, and the kernel's cost of installing a filter (conversion, JIT, the
// action cache's emulation of every call number) grows with its length: 0.2 ms of every
// program's start for the libseccomp program, a quarter of that for the ranges.
//
// The rewrite is derived from libseccomp's compiled program, not from the policy: a program
// that reads only the call number and the architecture and compares them only with constants
// is constant between consecutive constants, so evaluating it at each constant (and the next
// number) gives its answer for all 2^32 numbers. The result is checked against the original at
// every one of those points before it is used; anything else (another instruction, another
// field read) is not rewritten.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace microvm::process {

// What a classic BPF seccomp program returns for (arch, nr), the other fields of seccomp_data
// zero; nullopt when it uses an instruction this emulator does not know or runs off its end.
std::optional<uint32_t> evaluate_seccomp(const std::vector<sock_filter>& program, uint32_t arch,
                                         uint32_t nr);

// The same answers as program for every (arch, nr) as a search over number ranges for
// native_arch (every other architecture gets the program's single answer for it); nullopt when
// the program is not of the supported form or the rewrite is not shorter.
std::optional<std::vector<sock_filter>> ranges_program(const std::vector<sock_filter>& program,
                                                       uint32_t native_arch);

}  // namespace microvm::process
