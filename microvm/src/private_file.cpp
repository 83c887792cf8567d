#include "microvm/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace microvm {

Expected<rtfs::host::UniqueFd> open_private_file(const std::string& path, const std::string& what) {
    std::optional<rtfs::host::OpenedFile> file = rtfs::host::open_for_judging(path);
    if (!file) return fail(Failure::Kind::InvalidConfig, what + ": " + std::strerror(errno));
    const struct stat& st = file->st;
    if (!S_ISREG(st.st_mode)) return fail(Failure::Kind::InvalidConfig, what + " is not a regular file");
    if (st.st_uid != ::geteuid()) return fail(Failure::Kind::InvalidConfig, what + " does not belong to this user");
    if (st.st_mode & 077)
        return fail(Failure::Kind::InvalidConfig, what + " is readable by group or others; chmod 600 it");
    return std::move(file->fd);
}

Expected<std::string> read_private_file(const std::string& path, const std::string& what, size_t max_bytes) {
    RTFS_TRY(const rtfs::host::UniqueFd fd, open_private_file(path, what));
    std::optional<std::string> text = rtfs::host::read_to_end(fd.get(), max_bytes);
    if (!text)
        return fail(Failure::Kind::InvalidConfig,
                    what + " cannot be read (or is over " + std::to_string(max_bytes) + " bytes)");
    return std::move(*text);
}

}  // namespace microvm
