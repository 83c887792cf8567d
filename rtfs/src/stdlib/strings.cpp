#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {

void add_strings(std::vector<BuiltinDef>&) {}

}  // namespace rtfs::stdlib
