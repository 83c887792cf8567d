#include "fd_table.hpp"
#include "host/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "engine_limits.hpp"
#include "host/file_identity.hpp"
#include "host/trusted_state.hpp"
#include "host/policy_source.hpp"
#include "wasi_abi.hpp"

namespace microvm::wasm {

FdTable::FdTable(bool with_result_sink) {
    auto stdio = [](FdKind kind, uint64_t rights) {
        auto e = std::make_unique<FdEntry>();
        e->kind = kind;
        e->rights_base = rights | wasi::rights::kPollFdReadwrite;
        return e;
    };
    entries_.push_back(stdio(FdKind::Stdin, wasi::rights::kFdRead));
    entries_.push_back(stdio(FdKind::Stdout, wasi::rights::kFdWrite));
    entries_.push_back(stdio(FdKind::Stderr, wasi::rights::kFdWrite));
    if (with_result_sink) entries_.push_back(stdio(FdKind::ResultSink, wasi::rights::kFdWrite));
}

std::optional<uint32_t> FdTable::add(FdEntry entry) {
    for (size_t i = 0; i < entries_.size(); ++i) {
        if (!entries_[i]) {
            entries_[i] = std::make_unique<FdEntry>(std::move(entry));
            return static_cast<uint32_t>(i);
        }
    }
    if (entries_.size() >= limits::kMaxOpenFiles) return std::nullopt;
    entries_.push_back(std::make_unique<FdEntry>(std::move(entry)));
    return static_cast<uint32_t>(entries_.size() - 1);
}

FdEntry* FdTable::get(uint32_t fd) {
    return fd < entries_.size() ? entries_[fd].get() : nullptr;
}

bool FdTable::close(uint32_t fd) {
    if (!get(fd)) return false;
    entries_[fd].reset();
    while (!entries_.empty() && !entries_.back()) entries_.pop_back();
    return true;
}

bool FdTable::renumber(uint32_t from, uint32_t to) {
    if (!get(from) || !get(to)) return false;
    if (from != to) {
        entries_[to] = std::move(entries_[from]);
        close(from);
    }
    return true;
}

std::vector<std::string> wasi_system_dirs() {
    std::vector<std::string> dirs;
    for (const char* d : {"/usr", "/lib", "/lib64", "/bin", "/sbin"}) {
        struct stat st;
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) dirs.emplace_back(d);
    }
    return dirs;
}

namespace {

// Opens a policy directory the way every provider binds one: resolved once, refused when it is
// the host's root or a kernel interface (host/policy_source.hpp) or, writable, holds the
// project's trusted state, and the object opened is the one checked. fs full preopens "/" itself.
Expected<int> open_policy_dir(const std::string& path, bool full, bool writable) {
    auto cannot = [&](const std::string& why) {
        return fail(Failure::Kind::InvalidInput,
                    "provider 'wasm' cannot preopen fs_policy path " + path + ": " + why);
    };
    if (full) {
        int fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return cannot(host::errno_text(errno));
        return fd;
    }
    host::MountTable mounts;
    RTFS_TRY(host::CheckedSource source, host::check_policy_source(path, mounts));
    if (writable) RTFS_CHECK(host::refuse_writable_trusted_state(source.real_path, "fs_policy path"));
    if (!source.directory) return cannot("not a directory (WASI grants directories only)");
    // The very directory checked (host::open_checked_source refuses one replaced since), then
    // opened for reading through that descriptor: fd_readdir needs more than O_PATH.
    RTFS_TRY(host::UniqueFd checked, host::open_checked_source(source.real_path, source.identity, true));
    int fd = ::openat(checked.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return cannot(host::errno_text(errno));
    return fd;
}

// A read-only directory inside (or equal to) a writable one would be writable through the
// writable preopen, so the combination is refused. Checked on the directories actually opened:
// check() saw paths, which may have changed since.
Expected<void> refuse_read_only_inside_writable(FdTable& table) {
    std::vector<const FdEntry*> writable, read_only;
    for (uint32_t fd = 0; fd < limits::kMaxOpenFiles; ++fd) {
        const FdEntry* e = table.get(fd);
        if (!e || e->kind != FdKind::Directory) continue;
        (e->read_only_tree ? read_only : writable).push_back(e);
    }
    for (const FdEntry* ro : read_only) {
        for (const FdEntry* rw : writable) {
            if (directory_within(ro->host.get(), rw->host.get())) {
                return fail(Failure::Kind::InvalidInput,
                            "provider 'wasm' refuses fs_policy: " +
                                read_only_inside_writable_reason(ro->preopen_name,
                                                                 rw->preopen_name));
            }
        }
    }
    return Ok{};
}

Expected<void> add_preopen(FdTable& table, const std::string& path, bool writable,
                           bool full = false) {
    RTFS_TRY(int fd, open_policy_dir(path, full, writable));
    FdEntry entry;
    entry.kind = FdKind::Directory;
    entry.host.reset(fd);
    auto normalized =
        normalize_policy_path(path);  // the name the guest sees: "/data", not "/data/"
    entry.preopen_name = normalized ? *normalized : path;
    entry.read_only_tree = !writable;
    entry.rights_base = writable ? wasi::rights::kDirAll : wasi::rights::kDirReadOnly;
    entry.rights_inheriting = writable ? (wasi::rights::kDirAll | wasi::rights::kFileAll)
                                       : (wasi::rights::kDirReadOnly | wasi::rights::kFileReadOnly);
    if (!table.add(std::move(entry))) {
        return fail(Failure::Kind::InvalidInput, "too many fs_policy paths");
    }
    return Ok{};
}

}  // namespace

std::string read_only_inside_writable_reason(const std::string& ro, const std::string& rw) {
    return "read-only path " + ro + " lies inside the writable path " + rw +
           ", whose preopen would let the program write it (WASI has no read-only mount inside "
           "a writable preopen)";
}

bool directory_within(int inner_dir_fd, int outer_dir_fd) {
    auto outer = host::identity_of_fd(outer_dir_fd);
    if (!outer) return true;  // unknown: assume the worst
    // Walk ".." from inner up to the root, comparing every ancestor (inner itself included).
    UniqueFd current(::fcntl(inner_dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!current.valid()) return true;
    for (int depth = 0; depth < 4096; ++depth) {
        auto here = host::identity_of_fd(current.get());
        if (!here) return true;
        if (*here == *outer) return true;
        UniqueFd parent(::openat(current.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!parent.valid()) return true;
        if (host::identity_of_fd(parent.get()) == here) return false;  // reached "/"
        current = std::move(parent);
    }
    return true;
}

Expected<void> add_preopens(FdTable& table, const FileSystemPolicy& policy) {
    using Kind = FileSystemPolicy::Kind;
    switch (policy.kind) {
        case Kind::None:
            return Ok{};
        case Kind::Full:
            return add_preopen(table, "/", true, /*full=*/true);
        case Kind::ReadOnly: {
            std::vector<std::string> paths =
                policy.paths.empty() ? wasi_system_dirs() : policy.paths;
            for (const std::string& p : paths) RTFS_CHECK(add_preopen(table, p, false));
            return Ok{};
        }
        case Kind::ReadWrite:
            for (const std::string& p : policy.paths) RTFS_CHECK(add_preopen(table, p, true));
            for (const std::string& p : policy.read_only_paths) {
                RTFS_CHECK(add_preopen(table, p, false));
            }
            return refuse_read_only_inside_writable(table);
    }
    return Ok{};
}

}  // namespace microvm::wasm
