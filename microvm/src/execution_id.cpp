#include "microvm/execution_id.hpp"

#include "microvm/random.hpp"

namespace microvm {

std::string new_execution_id() { return "exec-" + random_hex(8); }

}  // namespace microvm
