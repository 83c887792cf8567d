// The guest image the VM providers (qemu, firecracker) boot (docs/vm-image.md): a directory with manifest.json, found from the
// provider's `image` setting, else $MICROVM_GUEST_IMAGE, else
// ${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image}/current.
//
// The image is the program every VM runs first (its /init is the agent the host trusts), so it
// is trusted only for where it lies, by the rules of settings files (microvm/trusted_path.hpp):
// the directory, its manifest and the files it boots, and every directory above them, owned by
// root or the effective user and writable by neither group nor others. The manifest names the
// files by plain names (no '/', no "..", no leading '.'), with their sizes and SHA-256.
#pragma once

#include <cstdint>
#include <string>

#include "microvm/error.hpp"

namespace microvm::host {

struct GuestImage {
    std::string dir;             // the real directory (a moved `current` does not change it)
    std::string kernel;          // absolute path, symlinks resolved (vmlinux or bzImage)
    std::string initramfs;       // absolute path, symlinks resolved
    std::string microvm_acpi;    // "off" (the built kernel) or "on" (the cloud-kernel fallback)
    bool shares_9p = false;      // the kernel has 9p: shared directories work
    std::string kernel_release;
    std::string key;
    // What the manifest says the files hold (they have these sizes when the image is found).
    uint64_t kernel_size = 0;
    uint64_t initramfs_size = 0;
    std::string kernel_sha256;     // 64 lower-case hex digits
    std::string initramfs_sha256;
};

// The command that builds the image, for messages.
inline constexpr const char* kBuildImageCommand =
    "scripts/build-guest-image.sh (after building the target microvm_guest_static)";

// The image if it is trusted, its manifest well-formed and its files of the manifest's sizes;
// SetupError naming where it looked and the fault (and how to build it) otherwise. Cheap: no
// file is read but the manifest.
Expected<GuestImage> find_guest_image(const std::string& setting);

// Whether the kernel and initramfs hold what the manifest says (size and SHA-256): called before
// a VM boots the image (a cold boot, a template's boot). A file already verified by this
// process and not changed since (same inode, size, mtime and ctime) is not read again.
// SetupError naming the file otherwise.
Expected<void> verify_guest_image(const GuestImage& image);

}  // namespace microvm::host
