// The analyser turns read forms into nodes: special forms recognised, macros expanded, every
// symbol resolved to a frame slot, a closure capture, the running closure, or a global cell.
#pragma once

#include <memory>

#include "eval/nodes.hpp"

namespace rtfs {

// Owns the nodes of one analysed top-level form; closures created from it keep it alive.
struct Unit {
    NodeP root;
    uint32_t nslots = 0;  // frame size of the top-level form
    // Nodes outside the tree: macro expanders (referenced by closures) and :or defaults of
    // patterns (referenced by the patterns).
    std::vector<NodeP> extra;
    // Its forms in the interpreter's count of analysed code (Interpreter::State), given back
    // when it dies.
    std::shared_ptr<uint64_t> counted_in;
    uint64_t forms = 0;
    ~Unit() {
        if (counted_in) *counted_in -= forms;
    }
};

Result<std::shared_ptr<Unit>> analyze_toplevel(Interpreter::State& st, const Value& form,
                                               const SourcePositions* positions);

}  // namespace rtfs
