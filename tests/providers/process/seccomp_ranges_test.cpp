// The existence filter as a search over ranges of call numbers (seccomp_ranges.hpp): the same
// answer as libseccomp's program for every architecture and number, in far fewer instructions.
#include "process/seccomp_ranges.hpp"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include <vector>

#include "process/seccomp.hpp"

namespace microvm::process {
namespace {

std::vector<sock_filter> code_of(const sock_fprog& program) {
    return {program.filter, program.filter + program.len};
}

// Every number up to well past the highest call, both sides of the x32 bit, the top values;
// the native architecture, i386 and others.
void expect_same_answers(const std::vector<sock_filter>& want, const std::vector<sock_filter>& got,
                         uint32_t native) {
    std::vector<uint32_t> numbers;
    for (uint32_t nr = 0; nr < 0x11000; ++nr) numbers.push_back(nr);
    for (uint32_t nr = 0x3ffff000; nr < 0x40001000; ++nr) numbers.push_back(nr);
    for (uint32_t nr : {0x7ffffffeu, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu}) {
        numbers.push_back(nr);
    }
    for (uint32_t arch : {native, uint32_t{AUDIT_ARCH_I386}, 0u, native ^ 1u, 0xffffffffu}) {
        size_t differ = 0;
        for (uint32_t nr : numbers) {
            const auto w = evaluate_seccomp(want, arch, nr), g = evaluate_seccomp(got, arch, nr);
            ASSERT_TRUE(w.has_value()) << nr;
            if (w != g && ++differ <= 5) ADD_FAILURE() << "arch " << arch << " nr " << nr;
        }
        EXPECT_EQ(differ, 0u) << "arch " << arch;
    }
}

TEST(SeccompRanges, TheExistenceFilterAnswersAsLibseccompsProgram) {
    auto ranges = SeccompFilter::build(/*unix_sockets=*/false);
    auto libseccomp = SeccompFilter::build(/*unix_sockets=*/false, /*existence_as_ranges=*/false);
    ASSERT_TRUE(ranges) << ranges.error().message;
    ASSERT_TRUE(libseccomp) << libseccomp.error().message;
    const auto got = code_of(ranges->existence()), want = code_of(libseccomp->existence());
    // The point of it: the kernel's installation cost grows with the length.
    EXPECT_LT(got.size() * 3, want.size()) << got.size() << " vs " << want.size();
    expect_same_answers(want, got, AUDIT_ARCH_X86_64);
    // The arguments filter is libseccomp's either way.
    EXPECT_EQ(code_of(ranges->arguments()).size(), code_of(libseccomp->arguments()).size());
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kEnosys = SECCOMP_RET_ERRNO | 38;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;

// libseccomp's shape, by hand: arch check, then one comparison per allowed number.
std::vector<sock_filter> listed(const std::vector<uint32_t>& allowed) {
    std::vector<sock_filter> p = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, kKill),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    };
    for (size_t i = 0; i < allowed.size(); ++i) {
        // Matched: jump over the remaining comparisons and the refusal to the allow.
        p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, allowed[i],
                             static_cast<uint8_t>(allowed.size() - i), 0));
    }
    p.push_back(BPF_STMT(BPF_RET | BPF_K, kEnosys));
    p.push_back(BPF_STMT(BPF_RET | BPF_K, kAllow));
    return p;
}

TEST(SeccompRanges, RunsOfNumbersBecomeRanges) {
    const std::vector<uint32_t> allowed = {0, 1, 2, 5, 7, 8, 9, 10, 11, 12, 40, 41, 0xffffffff};
    const auto program = listed(allowed);
    const auto ranges = ranges_program(program, AUDIT_ARCH_X86_64);
    ASSERT_TRUE(ranges.has_value());
    EXPECT_LT(ranges->size(), program.size());
    expect_same_answers(program, *ranges, AUDIT_ARCH_X86_64);
    EXPECT_EQ(evaluate_seccomp(*ranges, AUDIT_ARCH_X86_64, 6), kEnosys);
    EXPECT_EQ(evaluate_seccomp(*ranges, AUDIT_ARCH_X86_64, 12), kAllow);
    EXPECT_EQ(evaluate_seccomp(*ranges, AUDIT_ARCH_X86_64, 13), kEnosys);
    EXPECT_EQ(evaluate_seccomp(*ranges, AUDIT_ARCH_I386, 0), kKill);
}

// What the rewrite cannot prove equivalent it leaves alone: a program that reads an argument,
// or tests bits, or checks another architecture first.
TEST(SeccompRanges, OtherProgramsAreNotRewritten) {
    auto reads_argument = listed({0, 1, 2, 3});
    reads_argument[3].k = offsetof(seccomp_data, args[0]);
    EXPECT_FALSE(ranges_program(reads_argument, AUDIT_ARCH_X86_64).has_value());

    auto tests_bits = listed({0, 1, 2, 3});
    tests_bits[4].code = BPF_JMP | BPF_JSET | BPF_K;
    EXPECT_FALSE(ranges_program(tests_bits, AUDIT_ARCH_X86_64).has_value());

    EXPECT_FALSE(ranges_program(listed({0, 1, 2, 3}), AUDIT_ARCH_I386).has_value());
}

}  // namespace
}  // namespace microvm::process
