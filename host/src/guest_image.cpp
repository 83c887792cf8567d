#include "host/guest_image.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace microvm::host {
namespace {

std::string default_dir() {
    if (const char* env = std::getenv("MICROVM_GUEST_IMAGE"); env && *env) return env;
    const char* cache = std::getenv("MICROVM_IMAGE_CACHE");
    return std::string(cache && *cache ? cache : "/var/cache/microvm/guest-image") + "/current";
}

bool is_file(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Expected<GuestImage> find_guest_image(const std::string& setting) {
    const std::string dir = setting.empty() ? default_dir() : setting;
    auto missing = [&](const std::string& why) -> Expected<GuestImage> {
        return fail(Failure::Kind::SetupError, "no usable guest image at " + dir + " (" + why +
                                                   "); build it: " + kBuildImageCommand);
    };
    std::ifstream in(dir + "/manifest.json");
    if (!in) return missing("no manifest.json");
    nlohmann::json m = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (m.is_discarded() || !m.is_object()) return missing("manifest.json is not JSON");
    const auto boot = m.find("boot");
    const auto files = m.find("files");
    if (boot == m.end() || files == m.end() || !boot->is_object() || !files->is_object()) {
        return missing("manifest.json has no boot/files (an image of an older build.sh)");
    }
    GuestImage img;
    img.dir = dir;
    img.kernel = dir + "/" + boot->value("kernel", "vmlinux");
    img.microvm_acpi = boot->value("microvm_acpi", "off");
    img.shares_9p = boot->value("shared_dirs_9p", false);
    img.key = m.value("key", "");
    if (auto k = m.find("kernel"); k != m.end() && k->is_object()) {
        img.kernel_release = k->value("release", "");
    }
    if (auto i = files->find("initramfs"); i != files->end() && i->is_object()) {
        img.initramfs = dir + "/" + i->value("name", "");
    }
    if (!is_file(img.kernel)) return missing("no kernel " + img.kernel);
    if (!is_file(img.initramfs)) return missing("no initramfs");
    return img;
}

}  // namespace microvm::host
