#include "host/trusted_state.hpp"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/boot_cache.hpp"
#include "host/elf_deps.hpp"
#include "host/dir_stream.hpp"
#include "host/file_identity.hpp"
#include "host/mountinfo.hpp"
#include "host/paths.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/settings.hpp"

namespace microvm::host {
namespace {

struct Entries {
    std::string dir, name_prefix;
};

std::mutex g_mu;
std::vector<std::string> g_protected;  // protect_trusted_state()
std::vector<Entries> g_entries;        // protect_trusted_entries()
std::vector<std::string> g_qemus;      // protect_configured_state(): QEMU binaries its settings name
std::vector<std::string> g_granted;    // WritableGrant: real paths, once per live grant

// The paths of dir's entries whose names start with prefix ("." and ".." never).
std::vector<std::string> entries_named(const std::string& dir, std::string_view prefix) {
    std::vector<std::string> out;
    for (const std::string& name : entry_names(dir)) {
        if (name.starts_with(prefix)) out.push_back(join_path(dir, name));
    }
    return out;
}

// The places, as real paths: what must not be written (protected), and what holds them or the
// place one can be made (holders: never writable as a whole).
struct Places {
    std::vector<std::string> protected_paths, holders;
    std::vector<Entries> entries;
    std::vector<std::string> entry_paths;  // the entries' existing members, read once
};

// Configuration the host's own processes read with trust (see places()).
constexpr const char* kHostConfiguration[] = {
    "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
    "/etc/nsswitch.conf", "/etc/gnutls", "/etc/ssl", "/usr/lib/ssl", "/etc/ca-certificates", "/usr/share/ca-certificates",
};

// The directories whose microvm* entries every process protects by name, besides each user's
// runtime directory /run/user/<uid>.
constexpr const char* kNamedDirs[] = {"/run", "/etc", "/var/lib", "/var/log", "/var/cache"};

// The directory (one of kNamedDirs, or "/run/user") in whose microvm* entry a real path's
// components lie, or empty: what protected_by_name() and require_protected_state_place() judge.
std::string named_dir_of(const std::vector<std::string>& parts) {
    const auto entry = [&](size_t i) { return parts.size() > i && parts[i].starts_with("microvm"); };
    if (parts.size() >= 2 && parts[0] == "run" && parts[1] == "user") {
        const bool uid = parts.size() >= 3 && !parts[2].empty() &&
                         parts[2].find_first_not_of("0123456789") == std::string::npos;
        return uid && entry(3) ? "/run/user" : "";
    }
    for (const char* dir : kNamedDirs) {
        const std::vector<std::string> named = path_components(dir);
        if (parts.size() > named.size() && std::equal(named.begin(), named.end(), parts.begin()) &&
            entry(named.size())) {
            return dir;
        }
    }
    return {};
}

// Every symlink met on the way from an absolute path to what it names, by where the link itself
// lies (its directory resolved), links inside link targets too. Protecting only where a path
// leads left the link open: rw= over the directory holding a $PATH entry that was a symlink let
// a sandbox replace the link with a directory holding its own runsc, which root's next gvisor
// run executed (red team, 2026-12-04).
void add_links_on_the_way(const std::string& absolute, std::vector<std::string>& out, int depth = 0) {
    if (depth > 40 || absolute.empty() || absolute.front() != '/') return;  // the kernel's MAXSYMLINKS
    std::string done = "/";  // the real path of what is resolved so far
    for (const std::string& part : path_components(absolute)) {
        if (part == "..") {
            done = parent_path(done);
            continue;
        }
        const std::string next = join_path(done, part);
        struct stat st;
        if (::lstat(next.c_str(), &st) != 0) return;  // nothing further exists, so no link either
        if (!S_ISLNK(st.st_mode)) {
            done = next;
            continue;
        }
        out.push_back(next);
        char target[PATH_MAX];
        const ssize_t n = ::readlink(next.c_str(), target, sizeof target - 1);
        if (n <= 0) return;
        target[n] = '\0';
        add_links_on_the_way(target[0] == '/' ? std::string(target) : join_path(done, target), out,
                             depth + 1);
        done = resolved_path(next);
    }
}

// A place given by an absolute path: where it leads (its real path), and every link on the way.
void add_place(const std::string& absolute, std::vector<std::string>& out) {
    out.push_back(resolved_path(absolute));
    add_links_on_the_way(absolute, out);
}

// The programs the host runs with its own authority: the directories, as real paths, of this
// process's binary and of every object it has mapped executable (its shared libraries; the
// directory, since programs beside them and modules below them are run and loaded too: QEMU's
// accelerator modules in <libdir>/qemu). A sandbox given rw= over one replaced it, and the
// host's next run executed the planted file as root: what a sandbox writes there belongs to the
// directory's owner, so no owner check tells it apart (red team, 2026-12-04).
std::vector<std::string> own_program_dirs(const std::string& self) {
    std::vector<std::string> out;
    const auto add = [&](const std::filesystem::path& file) {
        std::string dir = file.parent_path().string();
        if (!dir.empty() && std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(std::move(dir));
    };
    if (!self.empty()) add(self);
    if (FILE* maps = std::fopen("/proc/self/maps", "re")) {
        char line[4096 + 128];
        while (std::fgets(line, sizeof line, maps)) {
            // address perms offset dev inode path
            char perms[8] = {};
            int path_at = 0;
            if (std::sscanf(line, "%*s %7s %*s %*s %*s %n", perms, &path_at) < 1 || perms[2] != 'x') continue;
            std::string path(line + path_at);
            while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
            if (path.empty() || path.front() != '/' || path.ends_with(" (deleted)")) continue;
            add(path);
        }
        std::fclose(maps);
    }
    return out;
}

namespace {
// The settings that name a program a provider runs (gvisor's runsc, qemu's qemu, firecracker's
// binary and jailer). Unset, or named without a slash, the providers look for them in $PATH and
// then in the system's program directories (gvisor: host::program_search_dirs; firecracker:
// $PATH; qemu: /usr/bin, /usr/local/bin, /bin), all of which are protected.
constexpr const char* kProgramKeys[] = {"runsc", "qemu", "binary", "jailer"};

// What QEMU loads besides its binary and libraries, as real paths: its accelerator and device
// modules and its firmware (the data directory's entries may link into seabios, ipxe, ...),
// found from where the binary lies (<prefix>/bin/qemu-system-x86_64).
void add_qemu_files(const std::string& qemu, std::vector<std::string>& out) {
    const std::filesystem::path prefix = std::filesystem::path(resolved_path(qemu)).parent_path().parent_path();
    for (const char* lib : {"lib/qemu", "lib/x86_64-linux-gnu/qemu", "lib64/qemu", "libexec/qemu"}) {
        out.push_back(resolved_path((prefix / lib).string()));
    }
    const std::string data = resolved_path((prefix / "share" / "qemu").string());
    out.push_back(data);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(data, ec)) {
        if (!entry.is_symlink(ec)) continue;
        const std::filesystem::path target = resolved_path(entry.path().string());
        if (!is_within(target.string(), data)) out.push_back(target.parent_path().string());
    }
}


// An absolute form of a path given relative to the working directory (`--config cfg.toml`
// was left unprotected, red team 2026-12-04); empty for an empty path.
std::string absolute_form(const std::string& path) {
    if (path.empty() || path.front() == '/') return path;
    std::error_code ec;
    const std::string out = std::filesystem::absolute(path, ec).string();
    return ec ? std::string() : out;
}

// This user's home directories: $HOME and the password database's, each when absolute.
std::vector<std::string> own_home_dirs() {
    std::vector<std::string> homes;
    if (const char* home = std::getenv("HOME"); home && home[0] == '/') homes.emplace_back(home);
    std::vector<char> buffer(16384);
    struct passwd entry {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(::geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_dir &&
        found->pw_dir[0] == '/' && (homes.empty() || homes[0] != found->pw_dir))
        homes.emplace_back(found->pw_dir);
    return homes;
}
}  // namespace

Places places() {
    Places p;
    const std::string self = own_executable();
    p.holders = {"/", "/run", "/run/user"};
    // By name, in every process: the entries named microvm* (microvm, microvmd, microvm-qemu,
    // ...) of these directories and of every user's runtime directory. /etc/microvm* holds
    // settings (microvm/src/settings.cpp: a settings file names the programs the host runs; a
    // run with `rw=$HOME` planted root's config.toml naming a runsc of its own, which root's
    // next gvisor run executed, red team 2026-12-04) and the daemon's tokens and keys;
    // /var/lib, /var/log and /var/cache hold a daemon's state, audit log and caches.
    for (const char* dir : kNamedDirs) p.entries.push_back({dir, "microvm"});
    for (const std::string& user : entries_named("/run/user", "")) {
        p.holders.push_back(user);
        p.entries.push_back({user, "microvm"});
    }
    if (auto boot = boot_cache_dir()) p.protected_paths.push_back(*boot);
#ifdef MICROVM_BUILD_DIR
    // The build tree, when this binary runs from it: the programs and guests found there (the
    // guest runner, the gvisor launcher, the RTFS wasm module, microvmd). An installed binary
    // leaves the tree it was built in to its owner.
    if (const std::string build = resolved_path(MICROVM_BUILD_DIR); is_within(self, build)) {
        p.protected_paths.push_back(build);
    }
#endif
    // Where this process reads the user's settings from (the one rule, microvm/settings.hpp);
    // $HOME's own place below, with the password database's.
    if (auto settings = user_settings_dir()) add_place(*settings, p.protected_paths);
    // The user's home as the password database has it, whatever this process's $HOME: a run
    // with HOME unset was granted rw= over the home and planted the settings file the user's
    // next run read; and the program directories a login shell puts in $PATH when they exist
    // (Debian's ~/.profile: ~/bin, ~/.local/bin), which a run made and the user's next `ls` ran
    // (red team, 2026-12-04).
    for (const std::string& home : own_home_dirs()) {
        for (const char* below : {"/.config/microvm", "/bin", "/.local/bin"}) add_place(home + below, p.protected_paths);
    }
    // The guests this process runs every RTFS program with, when the environment names them:
    // a sandbox that rewrote one would see, and could forge, later runs' programs and results.
    // A relative value names a place below the working directory, where this process uses it:
    // protected there (a sandbox granted rw= over the working directory planted the manifest of
    // a relative MICROVM_GUEST_IMAGE, which the next qemu run read; red team, 2026-12-06).
    for (const char* var : {"MICROVM_IMAGE_CACHE", "MICROVM_GUEST_IMAGE", "XDG_RUNTIME_DIR", "MICROVM_CONFIG"}) {
        const char* value = std::getenv(var);
        if (!value || !*value) continue;
        const std::string place = absolute_form(value);
        if (place.empty()) continue;
        add_place(std::string(var) == "XDG_RUNTIME_DIR" ? place + "/microvm" : place, p.protected_paths);
    }
    for (std::string& dir : own_program_dirs(self)) p.protected_paths.push_back(std::move(dir));
    // Every place the programs built beside the tools are looked for (the guest runner, the
    // gvisor launcher, the RTFS wasm runtime; their naming variables, when set, are the only
    // places): a launcher in an installation's ../gvisor-launcher/ was writable, while the
    // binary's own directory was not, and an installed binary's wasm runtime in the build tree.
    for (const BuiltProgram& program : built_programs()) {
        for (const std::string& candidate : program_candidates(program, default_search(program, self))) add_place(candidate, p.protected_paths);
    }
    // The directories the providers search for their programs by default name, whether one lies
    // there yet or not: a runsc planted in a $PATH directory ahead of /usr/bin was the one the
    // gvisor provider found and ran as root (red team, 2026-12-04). And what QEMU loads.
    std::vector<std::string> qemus;
    for (const std::string& dir : program_search_dirs()) {
        add_place(dir, p.protected_paths);
        const std::string qemu = dir + "/qemu-system-x86_64";
        if (::access(qemu.c_str(), X_OK) == 0) qemus.push_back(qemu);
    }
    {
        std::lock_guard lock(g_mu);
        qemus.insert(qemus.end(), g_qemus.begin(), g_qemus.end());
    }
    for (const std::string& qemu : qemus) add_qemu_files(qemu, p.protected_paths);
    // Files the host's own processes read with trust: the dynamic loader's configuration (which
    // library a dlopen loads), the name service's, and TLS's (trust anchors; OpenSSL's config,
    // which the project never loads, rtfs/host/openssl_config.hpp, and its modules).
    for (const char* path : kHostConfiguration) add_place(path, p.protected_paths);
    // The libraries the host loads and puts into sandboxes: the directories /etc/ld.so.conf
    // lists (searched before the built-in ones by every root the planner builds, elf_deps.cpp,
    // and by the host's own loader after the next ldconfig) and the loader's built-in ones. A
    // libm.so.6 a sandbox left in a granted /usr/local/lib was the one every later sandbox's
    // programs loaded, the RTFS guest runner's included (red team, 2026-12-04).
    for (const std::string& dir : ld_so_conf_dirs()) add_place(dir, p.protected_paths);
    for (const char* dir : loader_library_roots()) add_place(dir, p.protected_paths);
    for (const char* var : {"OPENSSL_CONF", "OPENSSL_MODULES", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE"}) {
        const char* value = std::getenv(var);
        if (value && value[0] == '/') add_place(value, p.protected_paths);
    }
    {
        std::lock_guard lock(g_mu);
        p.protected_paths.insert(p.protected_paths.end(), g_protected.begin(), g_protected.end());
        p.entries.insert(p.entries.end(), g_entries.begin(), g_entries.end());
    }
    // An entry that is a symlink (a daemon's state moved to another disk) protects where it
    // points too: its name alone left the target writable (red team, 2026-12-04).
    for (const Entries& e : p.entries) {
        for (std::string& entry : entries_named(e.dir, e.name_prefix)) {
            struct stat st;
            if (::lstat(entry.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
                p.protected_paths.push_back(resolved_path(entry));
            }
            p.entry_paths.push_back(std::move(entry));
        }
    }
    return p;
}

}  // namespace


WritableGrant::WritableGrant(const std::string& path) : real_path_(resolved_path(path)) {
    std::lock_guard lock(g_mu);
    g_granted.push_back(real_path_);
}

WritableGrant::~WritableGrant() {
    std::lock_guard lock(g_mu);
    g_granted.erase(std::find(g_granted.begin(), g_granted.end(), real_path_));
}

void protect_trusted_state(const std::string& given) {
    const std::string path = absolute_form(given);
    if (path.empty()) return;
    std::vector<std::string> places;
    add_place(path, places);
    std::lock_guard lock(g_mu);
    for (std::string& place : places) {
        if (std::find(g_protected.begin(), g_protected.end(), place) == g_protected.end()) g_protected.push_back(std::move(place));
    }
}

void protect_trusted_entries(const std::string& given_dir, const std::string& name_prefix) {
    const std::string dir = absolute_form(given_dir);
    if (dir.empty() || name_prefix.empty()) return;
    Entries e{resolved_path(dir), name_prefix};
    std::lock_guard lock(g_mu);
    for (const Entries& known : g_entries) {
        if (known.dir == e.dir && known.name_prefix == e.name_prefix) return;
    }
    g_entries.push_back(std::move(e));
}

void protect_configured_state(const std::map<std::string, nlohmann::json>& provider_configs) {
    // The programs the providers' settings name, whichever provider this run uses: a process
    // sandbox given rw= over the directory of the runsc a settings file named replaced it, and
    // the next gvisor run executed it as root (red team, 2026-12-04). Those found by default
    // name are protected in every process (places()).
    for (const auto& [provider, config] : provider_configs) {
        if (!config.is_object()) continue;
        for (const char* key : kProgramKeys) {
            auto it = config.find(key);
            if (it == config.end() || !it->is_string() || it->get<std::string>().find('/') == std::string::npos) continue;
            protect_trusted_state(it->get<std::string>());
            if (std::string_view(key) == "qemu") {
                std::lock_guard lock(g_mu);
                g_qemus.push_back(absolute_form(*it));
            }
        }
    }
    for (const auto& [provider, config] : provider_configs) {
        if (!config.is_object()) continue;
        for (const char* key : {"state_dir", "template_dir", "image", "module_store_dir"}) {
            auto it = config.find(key);
            if (it == config.end() || !it->is_string()) continue;
            // gvisor's state_dir is where it makes its own entries (/run by default), not a
            // directory of its own.
            if (provider == "gvisor" && std::string_view(key) == "state_dir") {
                protect_trusted_entries(it->get<std::string>(), "microvm-gvisor");
            } else {
                protect_trusted_state(it->get<std::string>());
            }
        }
    }
}

bool protected_by_name(const std::string& given) {
    const std::string path = absolute_form(given);
    if (path.empty()) return false;
    const std::vector<std::string> parts = path_components(resolved_path(path));
    if (std::find(parts.begin(), parts.end(), "..") != parts.end()) return false;
    return !named_dir_of(parts).empty();
}

Expected<void> require_protected_state_place(const std::string& path, std::string_view setting) {
    const std::string real = path.empty() || path.front() != '/' ? path : resolved_path(path);
    const std::vector<std::string> parts = path_components(real);
    // A ".." after a directory that does not exist yet stays unresolved in `real`, and led out
    // of the places once that directory was made (red team, 2026-12-04): none is taken.
    const std::vector<std::string> given = path_components(path);
    const bool climbs = std::find(given.begin(), given.end(), "..") != given.end();
    // Not /etc or /var/log: state is no settings file, no log (kProtectedStatePlaces).
    const std::string named = named_dir_of(parts);
    const bool state_place = named == "/run" || named == "/run/user" || named == "/var/lib" || named == "/var/cache";
    if (!path.empty() && path.front() == '/' && !climbs && state_place) return Ok{};
    return fail(Failure::Kind::SetupError,
                "setting " + std::string(setting) + " '" + path +
                    (real != path ? "' (really '" + real + "')" : "'") +
                    " is not where every run protects state from sandboxes: put it in " +
                    kProtectedStatePlaces +
                    " (a run with other settings could grant a sandbox rw= over it, and this "
                    "provider would trust what it planted)");
}

std::optional<std::string> protected_runtime_base() {
    const uid_t uid = ::geteuid();
    if (uid == 0) return std::string("/run");
    std::string base = "/run/user/" + std::to_string(uid);
    struct stat st {};
    if (::lstat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        return std::nullopt;
    }
    return base;
}

Expected<void> refuse_writable_trusted_state(const std::string& real_path, std::string_view what) {
    const auto refuse = [&](const std::string& place) -> Expected<void> {
        return fail(Failure::Kind::InvalidInput,
                    std::string(what) + " '" + real_path + "' would let a sandbox write " + place +
                        ", the project's trusted state (stored modules, boot records, VM "
                        "images, the programs the host runs): later runs would trust what it planted");
    };
    {
        std::lock_guard lock(g_mu);
        if (std::find(g_granted.begin(), g_granted.end(), real_path) != g_granted.end()) return Ok{};
    }
    const Places p = places();

    // By name: a user's runtime directory and its microvm directory, even before either exists.
    const std::vector<std::string> parts = path_components(real_path);
    if (parts.size() >= 3 && parts[0] == "run" && parts[1] == "user" &&
        (parts.size() == 3 || parts[3].starts_with("microvm"))) {
        return refuse("/run/user/" + parts[2] + "/microvm*");
    }
    for (const std::string& holder : p.holders) {
        if (real_path == holder) return refuse(holder == "/" || holder == "/run" ? "/run/microvm*" : holder + "/microvm*");
    }
    for (const Entries& e : p.entries) {
        if (is_within(e.dir, real_path)) return refuse(e.dir + "/" + e.name_prefix + "*");
        if (is_within(real_path, e.dir) && real_path.size() > e.dir.size()) {
            const std::string_view child =
                std::string_view(real_path).substr(e.dir.size() + (e.dir == "/" ? 0 : 1));
            if (child.substr(0, child.find('/')).starts_with(e.name_prefix)) {
                return refuse(e.dir + "/" + e.name_prefix + "*");
            }
        }
    }
    for (const std::string& dir : p.protected_paths) {
        if (is_within(dir, real_path) || is_within(real_path, dir)) return refuse(dir);
    }

    // By identity: another mount of the same directories (a bind of /run elsewhere) reaches
    // them under other names. real_path (or a directory above it) being a protected place, or
    // real_path being a holder or a directory above a protected place, refuses it.
    std::set<FileIdentity> inside, above;
    std::vector<std::string> all = p.protected_paths;
    all.insert(all.end(), p.entry_paths.begin(), p.entry_paths.end());
    for (const Entries& e : p.entries) {
        if (auto id = identity_of_entry(e.dir)) above.insert(*id);
    }
    for (const std::string& holder : p.holders) {
        if (auto id = identity_of_entry(holder)) above.insert(*id);
    }
    for (const std::string& place : all) {
        if (auto id = identity_of_entry(place)) inside.insert(*id);
        for (std::string up = place; up.size() > 1;) {
            up = parent_path(up);
            if (auto id = identity_of_entry(up)) above.insert(*id);
        }
    }
    if (auto id = identity_of_entry(real_path); id && above.count(*id)) {
        return refuse("what it holds (another mount of a directory above the trusted state)");
    }
    for (std::string up = real_path;;) {
        if (auto id = identity_of_entry(up); id && inside.count(*id)) {
            return refuse(up + " (another mount of a trusted state directory)");
        }
        if (up.size() <= 1) break;
        up = parent_path(up);
    }

    // By mount: binds are recursive (and the wasm engine's lookups cross mounts), so a mount
    // below real_path of trusted state, of a directory in it or of one holding it is written
    // through real_path (red team, 2026-12-04: a bind of the image cache inside a granted
    // directory). Judged by file system (device) and the path inside it that each mount shows.
    MountTable mounts;
    std::vector<const MountEntry*> below;
    for (const MountEntry& m : mounts.entries()) {
        if (m.mount_point != real_path && is_within(m.mount_point, real_path)) below.push_back(&m);
    }
    if (below.empty()) return Ok{};
    std::vector<std::string> holding = p.holders;
    for (const Entries& e : p.entries) holding.push_back(e.dir);
    // Where each place and each holder lies, found once for all the mounts below.
    using Located = std::pair<std::string, std::optional<FsPlace>>;
    std::vector<Located> places_at, holders_at;
    for (const std::string& place : all) places_at.emplace_back(place, place_of(mounts.entries(), place));
    for (const std::string& holder : holding) holders_at.emplace_back(holder, place_of(mounts.entries(), holder));
    // An overlay's writes land in its upper directory, on a file system of its own device.
    const auto upper_dir = [](const MountEntry& m) -> std::string {
        if (m.fstype != "overlay") return {};
        return std::string(mount_option(m.super_options, "upperdir").value_or(""));
    };
    for (const MountEntry* m : below) {
        if (const std::string upper = upper_dir(*m); !upper.empty()) {
            const std::string real_upper = resolved_path(upper);
            for (const std::string& place : all) {
                if (is_within(real_upper, place) || is_within(place, real_upper)) {
                    return refuse(place + " (the upper directory of the overlay at " + m->mount_point + ", below it)");
                }
            }
        }
        for (const auto& [place, at] : places_at) {
            if (at && at->device == m->device && (is_within(at->path, m->root) || is_within(m->root, at->path))) {
                return refuse(place + " (mounted at " + m->mount_point + ", below it)");
            }
        }
        for (const auto& [holder, at] : holders_at) {
            if (at && at->device == m->device && is_within(at->path, m->root)) {
                return refuse("what " + holder + " holds (mounted at " + m->mount_point + ", below it)");
            }
        }
    }
    return Ok{};
}

}  // namespace microvm::host
