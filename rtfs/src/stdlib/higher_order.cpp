#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {

void add_higher_order(std::vector<BuiltinDef>&) {}

}  // namespace rtfs::stdlib
