// The private directory of one initialized gvisor provider: <base>/microvm-gvisor-<pid>-<n>/
// holding state/ (runsc --root: container state never collides with other providers or hosts)
// and bundles/ (one OCI bundle per execution). Containers, bundles and cgroups are all named
// "microvm-gvisor-<owner pid>-<n>", so that what a crashed host left behind can be recognised
// and swept.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "microvm/error.hpp"

namespace microvm::gvisor {

inline constexpr std::string_view kNamePrefix = "microvm-gvisor-";

// State directories are named host::owned_name(kNamePrefix) (host/stale_dirs.hpp).

class StateDir {
  public:
    // Creates a fresh directory under base (which must exist).
    static Expected<std::unique_ptr<StateDir>> create(const std::string& base);
    ~StateDir();  // removes the directory and everything below it
    StateDir(const StateDir&) = delete;
    StateDir& operator=(const StateDir&) = delete;

    const std::string& path() const { return path_; }
    std::string runsc_root() const { return path_ + "/state"; }
    std::string bundles() const { return path_ + "/bundles"; }

    // Removes what runsc keeps in the state root for container id (after runsc was killed).
    void remove_container_state(const std::string& id) const;
    bool has_container_state(const std::string& id) const;

  private:
    explicit StateDir(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

// Removes the directories under base that belong to dead owners; returns how many.
size_t sweep_stale_state_dirs(const std::string& base);

}  // namespace microvm::gvisor
