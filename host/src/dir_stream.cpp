#include "host/dir_stream.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace microvm::host {

DirStream adopt_dir(int fd) {
    if (fd < 0) return DirStream();
    DIR* d = ::fdopendir(fd);
    if (!d) {
        const int err = errno;
        ::close(fd);
        errno = err;
    }
    return DirStream(d);
}

DirStream open_dir(const std::string& path) { return DirStream(::opendir(path.c_str())); }

std::vector<std::string> entry_names(const std::string& dir) {
    std::vector<std::string> names;
    if (DirStream d = open_dir(dir)) {
        while (const dirent* e = ::readdir(d.get())) {
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
        }
    }
    return names;
}

}  // namespace microvm::host
