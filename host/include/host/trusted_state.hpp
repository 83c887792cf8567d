// The project's own trusted state, which no sandbox may write: files a sandbox writes through an
// rw= bind belong on the host to the directory's owner (root, or the user itself on a user's
// host), so they pass every owner check, and later runs would trust what a program planted: a
// recorded seccomp program that allows everything, a VM template, a decoded module.
//
// What is protected, whatever this process's environment says (another run may have another):
// - by name: the microvm* entries of /run (root's boot records, the providers' default state
//   directories and records, microvmd's), /etc (settings, a daemon's tokens and keys), /var/lib,
//   /var/log and /var/cache, and of every user's /run/user/<uid> (a user's boot records);
// - this process's boot cache directory, /var/cache/microvm (guest images, VM templates), and
//   $MICROVM_IMAGE_CACHE, $MICROVM_GUEST_IMAGE and $MICROVM_RTFS_WASM when set;
// - the programs the host runs: the directories of this process's binary and of every object it
//   maps executable (read from /proc/self each time), the build tree it was built in, every
//   place the programs built beside the tools are looked for (microvm/built_programs.hpp: the
//   guest runner and the gvisor launcher, or what $MICROVM_GUEST and $MICROVM_GVISOR_LAUNCHER
//   name), and the loader's, NSS's and TLS's configuration (/etc/ld.so.*, /etc/nsswitch.conf,
//   /etc/ssl, ...);
// - what protect_trusted_state() and protect_configured_state() were given (the latter also the
//   programs providers run: their settings' runsc, qemu, binary and jailer, every $PATH
//   directory and /usr/local/sbin ... /bin, and QEMU's module and firmware directories).
// A writable path is refused when it lies inside one of them or holds one (or holds the place
// where one can be made: "/", /run, /run/user, a user's runtime directory), judged by real path
// and by identity (device and inode), so that another mount of the same directory (a bind of
// /run elsewhere) is judged as the directory itself.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "microvm/error.hpp"

namespace microvm::host {

// InvalidInput naming real_path (as `what`) when a sandbox could write trusted state through it.
Expected<void> refuse_writable_trusted_state(const std::string& real_path, std::string_view what);

// A directory (or file) of state a provider keeps, protected in this process from then on. A
// path that does not exist yet is protected at the real path it will have (its longest existing
// prefix resolved).
void protect_trusted_state(const std::string& path);
// The directory where a provider creates entries named name_prefix...: those entries, and the
// directory and what holds it, are protected; the directory's other entries are not.
void protect_trusted_entries(const std::string& dir, const std::string& name_prefix);
// A directory this process made to hand to its own sandboxes writable although it lies in a
// place protected by name: microvmd's session work directories, in its state directory
// (/run/microvmd/state by default), whose every exec was refused (red team, 2026-12-07).
// refuse_writable_trusted_state() lets exactly this real path through while the grant lives:
// nothing above or below it, and in no other process. Whoever makes one refuses every other
// request naming the directory (microvmd refuses its state directory in every fs_policy).
class WritableGrant {
  public:
    explicit WritableGrant(const std::string& path);  // judged by its real path
    ~WritableGrant();
    WritableGrant(const WritableGrant&) = delete;
    WritableGrant& operator=(const WritableGrant&) = delete;

  private:
    std::string real_path_;
};

// Every provider's configured state: the qemu and firecracker state_dir, template_dir and image,
// the wasm module_store_dir, gvisor's microvm-gvisor* entries of its state_dir (a base
// directory, /run by default); and the programs providers run: runsc, qemu, binary and jailer
// as set, the directories searched for them by default name ($PATH, /usr/local/sbin ... /bin),
// and QEMU's modules and firmware. The CLI and microvmd call it with their settings, so that a run
// of one provider protects the others' state too, started or not.
void protect_configured_state(const std::map<std::string, nlohmann::json>& provider_configs);

// Where every process protects state by name, whatever its settings say (see places() in
// trusted_state.cpp), and so where configured state may lie.
inline constexpr const char* kProtectedStatePlaces =
    "/run/microvm*, /var/lib/microvm*, /var/cache/microvm* or /run/user/<uid>/microvm*";

// A provider's configured state (qemu's state_dir, template_dir and image, firecracker's
// state_dir and image, gvisor's state_dir) must lie where every process protects it by name,
// whatever that process's settings say: in kProtectedStatePlaces (gvisor's base directory may
// also be /run itself). A run with other
// settings knows nothing of a template directory named only here, and granted rw= over it, so a
// sandbox forged a template that this configuration's next run restored (red team,
// 2026-12-04). SetupError naming `setting` and the places otherwise; judged by real path.
Expected<void> require_protected_state_place(const std::string& path, std::string_view setting);

// Whether every process protects path (judged by real path) by name, whatever its settings: it
// lies in a microvm* entry of /run, /etc, /var/lib, /var/log, /var/cache or /run/user/<uid>.
// microvmd warns of its own files elsewhere.
bool protected_by_name(const std::string& path);

// Where this user's private runtime state goes, protected by name above: /run for root;
// /run/user/<uid> for a user when it is a directory (not a symlink) of theirs that neither group
// nor others can write. nullopt when the user has none ($XDG_RUNTIME_DIR is never asked: a run
// with another environment could not know of state kept there). The boot records and the egress
// proxy's private socket both live here.
std::optional<std::string> protected_runtime_base();

}  // namespace microvm::host
