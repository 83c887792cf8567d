#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {

void add_collections(std::vector<BuiltinDef>&) {}

}  // namespace rtfs::stdlib
