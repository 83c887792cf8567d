// One execution's OCI bundle directory (root's alone, 0700), removed with everything in it on
// destruction. It is a private mount of its own (bound onto itself): what the host mounts in it
// (result/, the staged binds) never propagates to other mounts, even when the state directory
// lies under a mount with shared propagation (/run on a systemd host), whose peers would
// otherwise show the staged host objects while the execution runs. Its contents:
//   config.json   the generated runtime spec
//   rootfs/       the container's read-only root: empty but for the read-only binds staged in
//                 it (staged_binds.hpp) and the mount points runsc's gofer adds
//   private/      root's alone (0700): keeps host users out of what lies below
//     result/     RTFS only: where the guest writes its result frame: a tmpfs of the sandbox
//                 user's, capped at kResultTmpfsBytes (one frame), unmounted on destruction
//   binds/        the other checked bind sources, staged for runsc (staged_binds.hpp); all
//                 staged mounts are detached on destruction
//   runsc.log     runsc's own log (0600): errors of runsc itself, never the program's output
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gvisor/fs_tree.hpp"
#include "gvisor/oci_mounts.hpp"
#include "gvisor/staged_binds.hpp"
#include "microvm/error.hpp"

namespace microvm::gvisor {

class Bundle {
  public:
    static Expected<std::unique_ptr<Bundle>> create(const std::string& parent,
                                                    const std::string& name, bool result_dir);
    ~Bundle();
    Bundle(const Bundle&) = delete;
    Bundle& operator=(const Bundle&) = delete;

    const std::string& dir() const { return dir_; }
    std::string rootfs() const { return dir_ + "/rootfs"; }
    std::optional<std::string> result_dir() const;
    std::string log_path() const { return dir_ + "/runsc.log"; }

    Expected<void> write_config(const nlohmann::json& config) const;
    // Stages the sources of mounts' binds (staged_binds.hpp): some in rootfs/ at their
    // destinations (removed from mounts), the others in binds/ (their sources become the staged
    // paths).
    Expected<void> stage_binds(std::vector<OciMount>& mounts);
    // Symlinks (name, target) at the top of rootfs/.
    Expected<void> add_root_symlinks(
        const std::vector<std::pair<std::string, std::string>>& links) const;

    // The guest's frame file (at most max_bytes).
    std::optional<FileContents> read_result(uint64_t max_bytes) const;
    // runsc's error messages from its log (the last few KiB), empty when it logged none.
    std::string runsc_errors() const;

  private:
    Bundle(std::string dir, bool result) : dir_(std::move(dir)), result_(result) {}
    std::string result_path() const { return dir_ + "/private/result"; }
    std::string dir_;
    bool result_ = false;
    bool result_mounted_ = false;
    std::unique_ptr<StagedBinds> staged_;
};

// The result tmpfs: the largest frame the host reads (guest protocol), with room for the
// file system's own blocks.
inline constexpr uint64_t kResultTmpfsBytes = (64u << 20) + (1u << 20);

// File name of the guest's frame inside the result directory.
inline constexpr const char* kGuestResultFile = "result";

}  // namespace microvm::gvisor
