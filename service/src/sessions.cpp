#include "service/sessions.hpp"
#include "host/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "microvm/random.hpp"
#include "host/remove_tree.hpp"
#include "host/scope_exit.hpp"
#include "service/session_disk.hpp"
#include "microvm/policy.hpp"
#include "service/confined_files.hpp"

namespace microvm::service {

std::string new_session_id() { return "sbx-" + microvm::random_hex(12); }

Session::~Session() {
    work_fd.reset();
    // Emptied before the lazy unmount: a download still open keeps the disk alive, and then
    // only its own file's pages (red team, 2026-12-05: 8 deleted sessions' 60 MB each were held
    // by 8 slow downloads). The mount point itself stays until unmounted.
    if (!work_dir.empty()) host::remove_tree(work_dir);
    if (own_disk) unmount_session_disk(work_dir);
    if (!work_dir.empty()) host::remove_tree(work_dir);
}

SessionStore::SessionStore(std::string sessions_dir, std::chrono::seconds idle_timeout,
                           std::chrono::seconds max_lifetime, size_t max_sessions, size_t max_per_client,
                           std::function<void(const Session&, SessionEnd)> on_end, uint64_t disk_bytes)
    : dir_(std::move(sessions_dir)),
      idle_(idle_timeout),
      max_life_(max_lifetime),
      max_sessions_(max_sessions),
      max_per_client_(max_per_client),
      disk_bytes_(disk_bytes),
      on_end_(std::move(on_end)) {
    expiry_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!stopping_) {
            stop_cv_.wait_for(lock, std::chrono::milliseconds(250));
            if (stopping_) break;
            lock.unlock();
            expire(Clock::now());
            lock.lock();
        }
    });
}

const char* to_string(SessionEnd why) {
    switch (why) {
        case SessionEnd::Deleted: return "deleted";
        case SessionEnd::IdleTimeout: return "idle_timeout";
        case SessionEnd::MaxLifetime: return "max_lifetime";
        case SessionEnd::Shutdown: return "shutdown";
    }
    return "unknown";
}

SessionStore::~SessionStore() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    expiry_.join();
    std::map<std::string, std::shared_ptr<Session>> all;
    {
        std::lock_guard lock(mu_);
        all.swap(sessions_);
    }
    for (auto& [id, s] : all) {
        s->cancel.cancel();
        if (on_end_) on_end_(*s, SessionEnd::Shutdown);
    }
}

ApiExpected<std::shared_ptr<Session>> SessionStore::create(std::string provider, Policy policy,
                                                           const ClientIdentity& owner, Isolation isolation) {
    // Full access to the host's tree cannot reach the work directory from a sandbox of its own
    // user: it lies in the daemon's private sandboxes/ (root's, 0700). Every exec would run
    // without the one place a session is for (red team, 2026-12-04), so it is refused. Nor from
    // wasm, to which the daemon's state directory is private (host/private_files.hpp). A program
    // run in the daemon without isolation (mock) reaches it as the daemon does.
    const bool in_daemon = isolation == Isolation::None;
    const bool own_root = isolation == Isolation::VM;
    if (policy.config.fs_policy.kind == FileSystemPolicy::Kind::Full && !in_daemon)
        return api_fail(400, "bad_request",
                        "fs_policy \"full\" (asked for, or the settings' default) cannot reach a " + provider +
                            " sandbox's work directory, which lies in the daemon's private state directory: "
                            "name what its programs need with ro= and rw= paths");
    // The slot is reserved under the same lock as the check (concurrent creates cannot all pass
    // it) and given back when this creation ends, filled or not (filled, the session holds it).
    // The owner's quota first, taken the same way (its hold goes to the session).
    auto quota = per_client_.take(owner.principal(), 1, enforced_quota(max_per_client_, max_sessions_));
    if (!quota)
        return rtfs::Unexpected<ApiError>(
            client_quota_refusal(owner.principal(), "sandboxes", max_per_client_, "--max-per-client-sandboxes"));
    {
        std::lock_guard lock(mu_);
        if (sessions_.size() + reserved_ >= max_sessions_)
            return api_fail(429, "too_many_sandboxes",
                            "the daemon holds its maximum of " + std::to_string(max_sessions_) +
                                " sandboxes; delete one first");
        ++reserved_;
    }
    host::ScopeExit release([this] {
        std::lock_guard lock(mu_);
        --reserved_;
    });
    auto s = std::make_shared<Session>();
    s->id = new_session_id();
    s->provider = std::move(provider);
    s->owner = owner;
    s->quota = std::make_shared<ClientQuotas::Hold>(std::move(*quota));
    s->created = s->last_used = Clock::now();
    const std::string dir = dir_ + "/" + s->id;
    if (::mkdir(dir.c_str(), 0700) != 0)
        return api_fail(500, "setup_error", "cannot create the sandbox directory: " + host::errno_text(errno));
    s->work_dir = dir;  // from here the destructor removes it
    if (disk_bytes_ > 0) {
        if (auto mounted = mount_session_disk(dir, disk_bytes_, kSessionDirMode); !mounted)
            return api_fail(500, "setup_error", "cannot give the sandbox its disk: " + mounted.error().message);
        s->own_disk = true;
    }
    int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return api_fail(500, "setup_error", "cannot open the sandbox directory");
    s->work_fd.reset(fd);
    // Writable by every provider's sandbox user: process writes through an idmapped bind, but
    // gVisor's gofer writes as uid 65534 and QEMU's 9p as a uid of its own, so a 0700 root
    // directory refused every gvisor and qemu session's exec (red team, 2026-12-04). Open to
    // all, yet reached only by the session's own sandboxes, each handed this directory: its
    // parent (sandboxes/) is root's and 0700. What the daemon puts here is as open
    // (confined_files.hpp).
    if (::chmod(dir.c_str(), kSessionDirMode) != 0)
        return api_fail(500, "setup_error", "cannot open the sandbox directory to its sandboxes: " + host::errno_text(errno));

    // The work directory read-write, beside what the policy let the program read.
    FileSystemPolicy& fs = policy.config.fs_policy;
    if (fs.kind != FileSystemPolicy::Kind::Full) {
        std::vector<std::string> ro;
        const std::vector<std::string> system = own_root ? std::vector<std::string>{} : standard_system_dirs();
        if (fs.kind == FileSystemPolicy::Kind::ReadOnly) ro = fs.paths.empty() ? system : fs.paths;
        else if (fs.kind == FileSystemPolicy::Kind::ReadWrite) ro = fs.read_only_paths;
        else ro = system;
        std::vector<std::string> rw = {dir};
        if (fs.kind == FileSystemPolicy::Kind::ReadWrite)
            rw.insert(rw.end(), fs.paths.begin(), fs.paths.end());
        fs = FileSystemPolicy::read_write(rw, ro);
    }
    s->writable = std::make_unique<host::WritableGrant>(dir);
    policy.config.env_vars["MICROVM_SANDBOX_DIR"] = dir;
    s->policy = std::move(policy);
    std::lock_guard lock(mu_);
    sessions_[s->id] = s;
    return s;
}

ApiExpected<std::shared_ptr<Session>> SessionStore::owned(const std::string& id, const ClientIdentity& who) const {
    // An id no session could have (longer than any) is not echoed back.
    if (!could_be_session_id(id)) return api_fail(404, "not_found", "no such sandbox");
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second->owner.principal() != who.principal())
        return api_fail(404, "not_found", "no sandbox " + id);
    return it->second;
}

ApiExpected<std::shared_ptr<Session>> SessionStore::use(const std::string& id, const ClientIdentity& who) {
    std::lock_guard lock(mu_);
    auto s = owned(id, who);
    if (s) (*s)->last_used = Clock::now();
    return s;
}

ApiExpected<void> SessionStore::end(const std::string& id, const ClientIdentity& who, SessionEnd why) {
    {
        std::lock_guard lock(mu_);
        if (auto s = owned(id, who); !s) return rtfs::Unexpected<ApiError>(s.error());
    }
    return end_now(id, why);
}

SessionStore::Ending SessionStore::take_locked(std::map<std::string, std::shared_ptr<Session>>::iterator it,
                                              SessionEnd why) {
    Ending e{std::move(it->second), nullptr, why};
    sessions_.erase(it);
    e.quota = std::move(e.session->quota);  // under the lock: pin() copies it
    return e;
}

void SessionStore::finish(Ending e) {
    e.session->cancel.cancel();
    e.quota.reset();  // ended: a running exec may still hold the object, not the owner's quota
                      // (an open download does: pin())
    if (on_end_) on_end_(*e.session, e.why);
    // The directory goes with the last reference (a running exec keeps it).
}

ApiExpected<void> SessionStore::end_now(const std::string& id, SessionEnd why) {
    Ending e;
    {
        std::lock_guard lock(mu_);
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return api_fail(404, "not_found", "no sandbox " + id);
        e = take_locked(it, why);
    }
    finish(std::move(e));
    return rtfs::Ok{};
}

std::shared_ptr<void> SessionStore::pin(const Session& s) const {
    std::lock_guard lock(mu_);
    return s.quota;
}

size_t SessionStore::size() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
}

// Judged and taken out in one hold of the lock: a request that used a session after it was
// judged idle, before it was taken, found it ended all the same (red team, 2026-12-06).
void SessionStore::expire(Clock::time_point now) {
    std::vector<Ending> ending;
    {
        std::lock_guard lock(mu_);
        for (auto it = sessions_.begin(); it != sessions_.end();) {
            const Session& s = *it->second;
            std::optional<SessionEnd> why;
            if (now - s.created >= max_life_) why = SessionEnd::MaxLifetime;
            else if (now - s.last_used >= idle_ && it->second.use_count() == 1) why = SessionEnd::IdleTimeout;
            auto next = std::next(it);
            if (why) ending.push_back(take_locked(it, *why));
            it = next;
        }
    }
    for (Ending& e : ending) finish(std::move(e));
}

}  // namespace microvm::service
