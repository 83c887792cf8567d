// host/kept_places.hpp on a made-up mount table: where a kept path, and the mount points that
// must be kept with it, appear inside a tree, whichever mount shows them.
#include "host/kept_places.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using microvm::host::KeptPlaces;
using microvm::host::MountEntry;

namespace {

MountEntry mount(std::string id, std::string parent, std::string device, std::string root, std::string point) {
    MountEntry m;
    m.id = std::move(id);
    m.parent_id = std::move(parent);
    m.device = std::move(device);
    m.root = std::move(root);
    m.mount_point = std::move(point);
    return m;
}

// / on 8:1; a tmpfs at /run holding the token; its secrets directory bound again at /srv/view;
// /etc bound at /jail/etc; another tmpfs at /etc/private holding a key; the state directory on /.
std::vector<MountEntry> table() {
    return {mount("1", "0", "8:1", "/", "/"), mount("2", "1", "0:50", "/", "/run"),
            mount("3", "1", "0:50", "/secrets", "/srv/view"), mount("4", "1", "8:1", "/etc", "/jail/etc"),
            mount("5", "1", "0:60", "/", "/etc/private")};
}

const std::vector<std::string> kKept = {"/run/secrets/token", "/etc/private/key", "/var/lib/d/state"};

using Paths = std::vector<std::string>;

TEST(KeptPlaces, AKeptFileIsFoundThroughEveryMountThatShowsIt) {
    const KeptPlaces places(table(), kKept);
    // At its own path, and with the mount point of the file system holding it.
    EXPECT_EQ(places.inside("/run"), (Paths{"/run/secrets/token"}));
    EXPECT_EQ(places.inside("/etc"), (Paths{"/etc/private", "/etc/private/key"}));
    // Through a bind mount of a directory above it, and the bind's own mount point.
    EXPECT_EQ(places.inside("/srv"), (Paths{"/srv/view", "/srv/view/token"}));
    // A tree above the mount point of the file system that holds a kept file: Landlock's walk
    // goes up through it, so the mount point is split around even where the bind does not show
    // what is mounted on it.
    EXPECT_EQ(places.inside("/jail"), (Paths{"/jail/etc/private"}));
    EXPECT_EQ(places.inside("/var"), (Paths{"/var/lib/d/state"}));
    // Nothing kept below; and a tree inside a kept directory is granted as such.
    EXPECT_TRUE(places.inside("/usr").empty());
    EXPECT_TRUE(places.inside("/run/secrets/token").empty());
    EXPECT_TRUE(places.inside("/var/lib/d/state/sessions/s1").empty());
}

TEST(KeptPlaces, CoversAKeptPathItsRotatedCopiesAndWhatLiesInsideWhereverShown) {
    const KeptPlaces places(table(), kKept);
    EXPECT_TRUE(places.covers("/run/secrets/token"));
    EXPECT_TRUE(places.covers("/run/secrets/token.1"));
    EXPECT_TRUE(places.covers("/srv/view/token"));
    EXPECT_TRUE(places.covers("/var/lib/d/state/sessions/s1"));
    EXPECT_TRUE(places.covers("/etc/private/key"));
    EXPECT_FALSE(places.covers("/srv/view/other"));
    EXPECT_FALSE(places.covers("/run/secrets"));
    EXPECT_FALSE(places.covers("/run/secrets/tokens"));
    EXPECT_FALSE(places.covers("/etc/passwd"));
    // /etc/private is the tmpfs's root: what it holds besides the key is not kept.
    EXPECT_FALSE(places.covers("/etc/private"));
}

// A mount table is what the kernel wrote, but its parent links are followed with a bound: a
// cycle (a table read across a remount) ends, and a mount whose parent is missing adds nothing.
TEST(KeptPlaces, ACycleOfParentsOrAMissingParentEnds) {
    std::vector<MountEntry> mounts = {mount("7", "8", "0:70", "/", "/a/b"), mount("8", "7", "0:70", "/", "/a"),
                                      mount("9", "42", "0:71", "/", "/c")};
    const KeptPlaces places(mounts, {"/a/b/key", "/c/key"});
    EXPECT_EQ(places.inside("/c"), (Paths{"/c/key"}));
    EXPECT_FALSE(places.inside("/a").empty());
    // Nothing kept, or no mount at all: nothing inside, nothing covered.
    EXPECT_TRUE(KeptPlaces(table(), {}).inside("/").empty());
    EXPECT_FALSE(KeptPlaces({}, kKept).covers("/run/secrets/token"));
}

}  // namespace
