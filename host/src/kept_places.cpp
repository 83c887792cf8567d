#include "host/kept_places.hpp"

#include <utility>

#include "host/paths.hpp"
#include "host/private_files.hpp"

namespace microvm::host {
namespace {

const MountEntry* mount_by_id(const std::vector<MountEntry>& mounts, const std::string& id) {
    for (const MountEntry& m : mounts) {
        if (m.id == id) return &m;
    }
    return nullptr;
}

// Adds the places of the mount point of m and of every mount point below it, down to the root.
void add_mount_points(const std::vector<MountEntry>& mounts, const MountEntry* m, std::vector<FsPlace>& places) {
    for (size_t depth = 0; m && depth < mounts.size(); ++depth) {
        const MountEntry* parent = mount_by_id(mounts, m->parent_id);
        if (!parent || parent == m || !is_within(m->mount_point, parent->mount_point)) return;
        places.push_back(place_in(*parent, m->mount_point));
        m = parent;
    }
}

}  // namespace

KeptPlaces::KeptPlaces(std::vector<MountEntry> mounts, const std::vector<std::string>& kept)
    : mounts_(std::move(mounts)) {
    for (const std::string& k : kept) {
        if (auto place = place_of(mounts_, k)) places_.push_back(std::move(*place));
    }
    const size_t kept_count = places_.size();
    for (const MountEntry& m : mounts_) {
        for (size_t i = 0; i < kept_count; ++i) {
            const bool holds = is_within(places_[i].path, m.root), shows = is_within(m.root, places_[i].path);
            if (m.device != places_[i].device || !(holds || shows)) continue;
            add_mount_points(mounts_, &m, places_);
            break;
        }
    }
}

std::vector<std::string> KeptPlaces::inside(const std::string& real) const {
    std::vector<std::string> below;
    const MountEntry* home = mount_showing(mounts_, real);
    for (const MountEntry& m : mounts_) {
        if (&m != home && !is_within(m.mount_point, real)) continue;
        for (const FsPlace& p : places_) {
            if (p.device != m.device || !is_within(p.path, m.root)) continue;
            std::string seen = shown_at(m, p.path);
            if (seen != real && is_within(seen, real)) below.push_back(std::move(seen));
        }
    }
    return below;
}

bool KeptPlaces::covers(const std::string& real) const {
    const std::optional<FsPlace> at = place_of(mounts_, real);
    if (!at) return false;
    for (const FsPlace& p : places_) {
        if (p.device == at->device && covered_by(at->path, p.path)) return true;
    }
    return false;
}

}  // namespace microvm::host
