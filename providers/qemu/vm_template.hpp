// Template snapshots for fast starts (docs/vm.md, "Fast starts"): a VM booted once to its agent's
// Hello and saved (device state and RAM, one migration stream), from which each execution
// restores a fresh VM. Templates live in a cache directory outside the checkout, one directory
// per key (image, QEMU build, machine settings), owned by root and private (0700).
//
// A template is a program the next executions run, so it is trusted only as root wrote it:
// directory and files owned by this (root) user, not writable by group or others, regular files
// (never followed through a symlink), a manifest naming its key, and a state file whose size and
// SHA-256 match the manifest. Anything else is removed and rebuilt; it is never restored.
// The cache directory itself is used only where root alone can change it: owned by root, 0700,
// and every directory above it trusted (host::trusted_cache_dir), or templates are not used.
//
// Templates of keys no longer in use (another image, QEMU build or memory size) would pile up,
// tens of MB each: committing a template removes those unused for longer than a bound and those
// beyond a count bound (least recently used first). A template's directory mtime is its last use.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"
#include "qemu/qemu_command.hpp"

namespace microvm::qemu {

inline constexpr const char* kDefaultTemplateDir = "/var/cache/microvm/qemu-templates";

// The key of the template a VM of this spec restores from: image (its key and its files'
// digests), QEMU identity and the machine's command line (RAM size, accelerator, devices; the VM
// directory left out).
Expected<std::string> template_key(const VmSpec& spec, const std::string& qemu_identity);

// How many templates a cache keeps, and for how long one unused is kept.
struct TemplateRetention {
    size_t max_templates = 8;
    std::chrono::seconds max_unused = std::chrono::hours(24 * 14);
};

class TemplateStore {
  public:
    explicit TemplateStore(std::string root, TemplateRetention retention = {})
        : root_(std::move(root)), retention_(retention) {}

    struct Opened {
        host::UniqueFd state;  // the verified state file, read-only at offset 0
        std::string refused;   // why an existing template was refused (and removed)
    };
    // The template of this key, or no state when there is none (or it was refused). A SetupError
    // when the cache directory itself is unsafe (then templates are not used at all).
    Expected<Opened> open(const std::string& key);

    // A fresh private build directory (root_/build-<pid>-<n>) for a template being made.
    Expected<std::string> begin_build();
    // Records the manifest of build_dir/state and moves the directory to the key's place; then
    // removes other templates beyond the retention bounds.
    Expected<void> commit(const std::string& build_dir, const std::string& key);
    // Removes the key's template (it verified but did not restore).
    void discard(const std::string& key);
    // Build directories of processes that are gone; returns how many were removed.
    size_t sweep_stale() const;

    const std::string& root() const { return root_; }

  private:
    Expected<void> check_root();
    // Removes templates other than keep that are unused for too long or beyond the count bound.
    void evict(const std::string& keep);
    std::string root_;
    TemplateRetention retention_;
    std::mutex mutex_;
    // State files whose digest was checked, by identity (inode, size, times).
    std::map<std::string, std::string> verified_;
};

}  // namespace microvm::qemu
