#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {

void add_json(std::vector<BuiltinDef>&) {}

}  // namespace rtfs::stdlib
