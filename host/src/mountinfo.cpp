#include "host/mountinfo.hpp"

#include <fcntl.h>
#include <cerrno>
#include <sys/mount.h>

#include <algorithm>
#include <string_view>

#include "host/paths.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

std::optional<std::string_view> mount_option(std::string_view options, std::string_view key) {
    for (size_t pos = 0; pos <= options.size();) {
        size_t comma = options.find(',', pos);
        if (comma == std::string_view::npos) comma = options.size();
        const std::string_view option = options.substr(pos, comma - pos);
        if (option == key) return std::string_view();
        if (option.size() > key.size() && option.starts_with(key) && option[key.size()] == '=') {
            return option.substr(key.size() + 1);
        }
        pos = comma + 1;
    }
    return std::nullopt;
}
namespace {

// "\040" and friends: mountinfo escapes blanks, tabs, newlines and backslashes in paths.
std::string unescape(std::string_view s) {
    auto octal = [&](size_t i) { return s[i] >= '0' && s[i] <= '7'; };
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// The next blank-separated field of line from pos on; empty at the end.
std::string_view next_field(std::string_view line, size_t& pos) {
    size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) {
        pos = line.size();
        return {};
    }
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    pos = end;
    return line.substr(start, end - start);
}

}  // namespace

namespace {

std::vector<MountEntry> parse_mountinfo(std::string_view rest) {
    std::vector<MountEntry> mounts;
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        // id parent major:minor root mountpoint options [optional fields] - fstype source super
        size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        std::string_view head = line.substr(0, dash), tail = line.substr(dash + 3);
        size_t pos = 0;
        MountEntry m;
        m.id = std::string(next_field(head, pos));
        m.parent_id = std::string(next_field(head, pos));
        m.device = std::string(next_field(head, pos));
        m.root = unescape(next_field(head, pos));
        m.mount_point = unescape(next_field(head, pos));
        m.mount_options = std::string(next_field(head, pos));
        pos = 0;
        m.fstype = std::string(next_field(tail, pos));
        next_field(tail, pos);  // source
        m.super_options = std::string(next_field(tail, pos));
        mounts.push_back(std::move(m));
    }
    return mounts;
}

}  // namespace

namespace {

// path (at or below from) with the prefix from replaced by to.
std::string rebased(const std::string& path, const std::string& from, const std::string& to) {
    const std::string rest = from == "/" ? path.substr(1) : path.substr(std::min(path.size(), from.size() + 1));
    return rest.empty() ? to : join_path(to, rest);
}

}  // namespace

const MountEntry* mount_showing(const std::vector<MountEntry>& mounts, const std::string& path) {
    const MountEntry* best = nullptr;
    for (const MountEntry& m : mounts) {
        if (is_within(path, m.mount_point) && (!best || m.mount_point.size() >= best->mount_point.size())) best = &m;
    }
    return best;
}

FsPlace place_in(const MountEntry& m, const std::string& path) {
    return {m.device, rebased(path, m.mount_point, m.root)};
}

std::string shown_at(const MountEntry& m, const std::string& fs_path) { return rebased(fs_path, m.root, m.mount_point); }

std::optional<FsPlace> place_of(const std::vector<MountEntry>& mounts, const std::string& path) {
    const MountEntry* m = mount_showing(mounts, path);
    if (!m) return std::nullopt;
    return place_in(*m, path);
}

std::vector<MountEntry> read_mountinfo() {
    auto mounts = read_mountinfo_or_fail();
    return mounts ? std::move(*mounts) : std::vector<MountEntry>{};
}

Expected<std::vector<MountEntry>> read_mountinfo_or_fail() {
    UniqueFd fd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return sys_failure("opening /proc/self/mountinfo", errno);
    auto text = read_to_end(fd.get());
    if (!text) return sys_failure("reading /proc/self/mountinfo", errno);
    std::vector<MountEntry> mounts = parse_mountinfo(*text);
    if (mounts.empty()) return fail(Failure::Kind::SetupError, "/proc/self/mountinfo lists no mount");
    return mounts;
}

std::vector<std::string> mount_points_below(const std::string& path) {
    std::vector<std::string> points;
    for (const MountEntry& m : read_mountinfo()) {
        if (is_within(m.mount_point, path)) points.push_back(m.mount_point);
    }
    std::stable_sort(points.begin(), points.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return points;
}

void unmount_below(const std::string& path) {
    for (const std::string& point : mount_points_below(path)) ::umount2(point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
}

}  // namespace microvm::host
