// A shared library opened when first needed (dlopen) and kept for the process's life, with its
// functions looked up by name: what the CLI does for libraries that would cost every run their
// loading and relocation if they were linked (libcurl, libcrypto).
#pragma once

#include <string>

namespace rtfs::host {

struct SharedLibrary {
    const char* soname = nullptr;
    void* handle = nullptr;
    std::string error;  // empty while everything opened and bound

    // Looks symbol up into out (a function pointer); the first failure is kept in error.
    template <class Fn>
    bool bind(const char* symbol, Fn& out) {
        void* p = handle ? lookup(symbol) : nullptr;
        if (!p) {
            if (error.empty()) error = std::string(soname) + " has no " + symbol;
            return false;
        }
        out = reinterpret_cast<Fn>(p);
        return true;
    }

  private:
    void* lookup(const char* symbol) const;
};

// Opens soname (RTLD_NOW | RTLD_LOCAL; never closed: such libraries keep global state). On
// failure error says so, with the loader's reason and what_to_install.
SharedLibrary open_shared_library(const char* soname, const std::string& what_to_install);

}  // namespace rtfs::host
