#include "process/seccomp_ranges.hpp"

#include <linux/seccomp.h>

#include <algorithm>
#include <cstddef>
#include <set>

namespace microvm::process {
namespace {

constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
constexpr uint16_t kLoadWordAbs = BPF_LD | BPF_W | BPF_ABS;
constexpr uint16_t kJumpAlways = BPF_JMP | BPF_JA;
constexpr uint16_t kJumpEq = BPF_JMP | BPF_JEQ | BPF_K;
constexpr uint16_t kJumpGt = BPF_JMP | BPF_JGT | BPF_K;
constexpr uint16_t kJumpGe = BPF_JMP | BPF_JGE | BPF_K;
constexpr uint16_t kJumpSet = BPF_JMP | BPF_JSET | BPF_K;
constexpr uint16_t kAndConst = BPF_ALU | BPF_AND | BPF_K;
constexpr uint16_t kReturnConst = BPF_RET | BPF_K;

// One interval of call numbers [start, next interval's start) and the program's answer there.
struct Interval {
    uint32_t start;
    uint32_t action;
};

// Only these: a load of the number (anywhere) or of the architecture (first instruction only),
// comparisons with constants, jumps, constant returns. Then the answer for a given
// architecture changes only at the compared constants.
bool of_supported_form(const std::vector<sock_filter>& program) {
    for (size_t i = 0; i < program.size(); ++i) {
        const sock_filter& ins = program[i];
        switch (ins.code) {
            case kLoadWordAbs:
                if (ins.k != kNrOffset && !(ins.k == kArchOffset && i == 0)) return false;
                break;
            case kJumpEq:
            case kJumpGt:
            case kJumpGe:
            case kJumpAlways:
            case kReturnConst:
                break;
            default:
                return false;
        }
    }
    return true;
}

// Every number at which the answer may change: each compared constant and the one after it.
std::vector<uint32_t> change_points(const std::vector<sock_filter>& program) {
    std::set<uint32_t> points{0};
    for (const sock_filter& ins : program) {
        if (ins.code != kJumpEq && ins.code != kJumpGt && ins.code != kJumpGe) continue;
        points.insert(ins.k);
        if (ins.k != UINT32_MAX) points.insert(ins.k + 1);
    }
    return {points.begin(), points.end()};
}

// Emits the search: each node compares the number with the first start of its upper half.
// Jumps go forward only (children after their parent) and to shared return instructions.
class SearchEmitter {
  public:
    explicit SearchEmitter(std::vector<sock_filter>& out) : out_(out) {}

    // Appends the nodes for intervals [l, r) and the returns; false when a jump is too long.
    bool emit(const std::vector<Interval>& intervals) {
        if (intervals.size() == 1) {
            out_.push_back(BPF_STMT(kReturnConst, intervals[0].action));
            return true;
        }
        node(intervals, 0, intervals.size());
        std::vector<uint32_t> actions;
        for (const Interval& in : intervals) {
            if (std::find(actions.begin(), actions.end(), in.action) == actions.end()) {
                actions.push_back(in.action);
            }
        }
        std::vector<size_t> at;
        for (uint32_t action : actions) {
            at.push_back(out_.size());
            out_.push_back(BPF_STMT(kReturnConst, action));
        }
        for (const Pending& p : pending_) {
            size_t target = p.node;
            if (p.to_return) {
                target = at[static_cast<size_t>(
                    std::find(actions.begin(), actions.end(), p.action) - actions.begin())];
            }
            const size_t offset = target - (p.from + 1);
            if (offset > 255) return false;
            (p.true_branch ? out_[p.from].jt : out_[p.from].jf) = static_cast<uint8_t>(offset);
        }
        return true;
    }

  private:
    struct Pending {
        size_t from;
        bool true_branch;
        bool to_return;
        uint32_t action;  // to_return
        size_t node;      // otherwise
    };

    void node(const std::vector<Interval>& in, size_t l, size_t r) {
        const size_t mid = l + (r - l) / 2;
        const size_t self = out_.size();
        out_.push_back(BPF_JUMP(kJumpGe, in[mid].start, 0, 0));
        branch(in, self, /*true_branch=*/false, l, mid);
        branch(in, self, /*true_branch=*/true, mid, r);
    }

    void branch(const std::vector<Interval>& in, size_t from, bool true_branch, size_t l,
                size_t r) {
        if (r - l == 1) {
            pending_.push_back({from, true_branch, true, in[l].action, 0});
            return;
        }
        pending_.push_back({from, true_branch, false, 0, out_.size()});
        node(in, l, r);
    }

    std::vector<sock_filter>& out_;
    std::vector<Pending> pending_;
};

}  // namespace

std::optional<uint32_t> evaluate_seccomp(const std::vector<sock_filter>& program, uint32_t arch,
                                         uint32_t nr) {
    uint32_t a = 0;
    for (size_t pc = 0; pc < program.size();) {
        const sock_filter& ins = program[pc];
        size_t next = pc + 1;
        switch (ins.code) {
            case kLoadWordAbs:
                a = ins.k == kNrOffset ? nr : ins.k == kArchOffset ? arch : 0;
                break;
            case kAndConst:
                a &= ins.k;
                break;
            case kJumpAlways:
                next += ins.k;
                break;
            case kJumpEq:
                next += a == ins.k ? ins.jt : ins.jf;
                break;
            case kJumpGt:
                next += a > ins.k ? ins.jt : ins.jf;
                break;
            case kJumpGe:
                next += a >= ins.k ? ins.jt : ins.jf;
                break;
            case kJumpSet:
                next += (a & ins.k) ? ins.jt : ins.jf;
                break;
            case kReturnConst:
                return ins.k;
            default:
                return std::nullopt;
        }
        pc = next;
    }
    return std::nullopt;
}

std::optional<std::vector<sock_filter>> ranges_program(const std::vector<sock_filter>& program,
                                                       uint32_t native_arch) {
    // The architecture check first, its other answer a return: ld arch; jeq native, _, ret.
    if (program.size() < 3 || !of_supported_form(program) || program[0].code != kLoadWordAbs ||
        program[0].k != kArchOffset || program[1].code != kJumpEq || program[1].k != native_arch) {
        return std::nullopt;
    }
    const size_t other_at = 2 + program[1].jf;
    if (other_at >= program.size() || program[other_at].code != kReturnConst) return std::nullopt;
    const uint32_t other_arch_action = program[other_at].k;

    const std::vector<uint32_t> points = change_points(program);
    std::vector<Interval> intervals;
    for (uint32_t nr : points) {
        const std::optional<uint32_t> action = evaluate_seccomp(program, native_arch, nr);
        if (!action) return std::nullopt;
        if (intervals.empty() || intervals.back().action != *action) {
            intervals.push_back({nr, *action});
        }
    }

    std::vector<sock_filter> out;
    out.push_back(BPF_STMT(kLoadWordAbs, kArchOffset));
    out.push_back(BPF_JUMP(kJumpEq, native_arch, 0, 0));  // jf patched below
    out.push_back(BPF_STMT(kLoadWordAbs, kNrOffset));
    SearchEmitter search(out);
    if (!search.emit(intervals)) return std::nullopt;
    const size_t other_offset = out.size() - 2;
    if (other_offset > 255) return std::nullopt;
    out[1].jf = static_cast<uint8_t>(other_offset);
    out.push_back(BPF_STMT(kReturnConst, other_arch_action));
    if (out.size() >= program.size() || out.size() > BPF_MAXINSNS) return std::nullopt;

    // The same answer at every point where either program's answer may change, for the native
    // architecture and for others.
    std::vector<uint32_t> check = points;
    for (const Interval& in : intervals) {
        check.push_back(in.start);
        if (in.start > 0) check.push_back(in.start - 1);
    }
    check.push_back(UINT32_MAX);
    for (uint32_t arch : {native_arch, native_arch ^ 1u, 0u, UINT32_MAX}) {
        for (uint32_t nr : check) {
            const auto want = evaluate_seccomp(program, arch, nr);
            if (!want || evaluate_seccomp(out, arch, nr) != want) return std::nullopt;
        }
    }
    return out;
}

}  // namespace microvm::process
