#include "rtfs/host/shared_library.hpp"

#include <dlfcn.h>

namespace rtfs::host {

void* SharedLibrary::lookup(const char* symbol) const {
    return ::dlsym(handle, symbol);
}

SharedLibrary open_shared_library(const char* soname, const std::string& what_to_install) {
    SharedLibrary lib;
    lib.soname = soname;
    lib.handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle) {
        const char* why = ::dlerror();
        lib.error = std::string(soname) + " cannot be loaded (" + (why ? why : "not found") +
                    "); install " + what_to_install;
    }
    return lib;
}

}  // namespace rtfs::host
