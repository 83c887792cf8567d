// The guest image the VM providers (qemu, firecracker) boot (docs/vm-image.md): a directory with manifest.json, found from the
// provider's `image` setting, else $MICROVM_GUEST_IMAGE, else
// ${MICROVM_IMAGE_CACHE:-/var/cache/microvm/guest-image}/current.
#pragma once

#include <string>

#include "microvm/error.hpp"

namespace microvm::host {

struct GuestImage {
    std::string dir;
    std::string kernel;          // absolute path (vmlinux or bzImage)
    std::string initramfs;       // absolute path
    std::string microvm_acpi;    // "off" (the built kernel) or "on" (the cloud-kernel fallback)
    bool shares_9p = false;      // the kernel has 9p: shared directories work
    std::string kernel_release;
    std::string key;
};

// The command that builds the image, for messages.
inline constexpr const char* kBuildImageCommand =
    "scripts/build-guest-image.sh (after building the target microvm_guest_static)";

// The image, or an error naming where it looked and how to build it.
Expected<GuestImage> find_guest_image(const std::string& setting);

}  // namespace microvm::host
