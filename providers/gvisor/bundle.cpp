#include "gvisor/bundle.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "gvisor/oci_spec.hpp"
#include "host/sys_error.hpp"

namespace microvm::gvisor {
namespace {

constexpr uint64_t kLogTail = 64 * 1024;

}  // namespace

Expected<std::unique_ptr<Bundle>> Bundle::create(const std::string& parent, const std::string& name,
                                                 bool result_dir) {
    const std::string dir = parent + "/" + name;
    RTFS_CHECK(make_dir(dir, 0711));
    std::unique_ptr<Bundle> bundle(new Bundle(dir, result_dir));  // removes dir on failure
    RTFS_CHECK(make_dir(bundle->rootfs(), 0755));
    if (result_dir) {
        // A tmpfs of its own, capped at one frame: what the guest writes there stays in memory
        // (charged to the execution's memory cgroup, as the gofer writing it runs there) and can
        // never fill the host's disk, whatever the program inside does.
        const std::string result = dir + "/result";
        RTFS_CHECK(make_dir(result, 0700));
        const std::string options = "size=" + std::to_string(kResultTmpfsBytes) +
                                    ",mode=0700,uid=" + std::to_string(kSandboxUid) +
                                    ",gid=" + std::to_string(kSandboxGid);
        if (::mount("tmpfs", result.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    options.c_str()) != 0) {
            return host::sys_failure("mounting the result tmpfs " + result, errno);
        }
        bundle->result_mounted_ = true;
        // Nothing of it propagates to other mount namespaces sharing /run.
        ::mount(nullptr, result.c_str(), nullptr, MS_PRIVATE, nullptr);
    }
    return bundle;
}

Bundle::~Bundle() {
    staged_.reset();
    if (result_mounted_) ::umount2((dir_ + "/result").c_str(), MNT_DETACH);
    remove_tree(dir_);
}

std::optional<std::string> Bundle::result_dir() const {
    if (!result_) return std::nullopt;
    return dir_ + "/result";
}

Expected<void> Bundle::write_config(const nlohmann::json& config) const {
    return write_whole_file(dir_ + "/config.json", config.dump());
}

Expected<void> Bundle::stage_binds(std::vector<OciMount>& mounts) {
    RTFS_TRY(staged_, StagedBinds::stage(dir_ + "/binds", mounts));
    return Ok{};
}

Expected<void> Bundle::add_root_symlinks(
    const std::vector<std::pair<std::string, std::string>>& links) const {
    for (const auto& [name, target] : links) {
        const std::string path = rootfs() + "/" + name;
        if (::symlink(target.c_str(), path.c_str()) != 0) {
            return host::sys_failure("symlink " + path, errno);
        }
    }
    return Ok{};
}

std::optional<FileContents> Bundle::read_result(uint64_t max_bytes) const {
    if (!result_) return std::nullopt;
    return read_file_capped(dir_ + "/result/" + kGuestResultFile, max_bytes);
}

std::string Bundle::runsc_errors() const {
    auto log = read_file_capped(log_path(), kLogTail);
    if (!log) return {};
    std::string errors;
    std::istringstream in(log->data);
    for (std::string line; std::getline(in, line);) {
        std::string message;
        auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (entry.is_object()) {
            std::string level = entry.value("level", "");
            if (level == "error" || level == "fatal") message = entry.value("msg", "");
        } else if (!line.empty() && (line.front() == 'E' || line.front() == 'F')) {
            message = line;  // glog text format: E1128 12:00:00 ... message
        }
        if (!message.empty()) errors += (errors.empty() ? "" : "; ") + message;
    }
    return errors;
}

}  // namespace microvm::gvisor
