// Sessions: stateful sandboxes (as E2B's). A session is a provider, a policy and a private work
// directory (0700, below the daemon's state directory) bound read-write into each of its
// executions, where files can be uploaded and downloaded. Each exec is still a fresh sandbox of
// the provider; what persists between them is the work directory only. A session ends on
// DELETE, after idle_timeout without use, or at max_lifetime; its directory is removed without
// following anything the programs planted in it (confined_files.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "host/trusted_state.hpp"
#include "host/unique_fd.hpp"
#include "microvm/cancel.hpp"
#include "microvm/result.hpp"
#include "service/api_error.hpp"
#include "service/client_quotas.hpp"
#include "service/identity.hpp"
#include "service/request_body.hpp"

namespace microvm::service {

struct Session {
    std::string id;
    std::string provider;
    Policy policy;  // with the work directory bound read-write
    std::string work_dir;
    bool own_disk = false;   // work_dir is a tmpfs of its own (session_disk.hpp)
    host::UniqueFd work_fd;  // O_PATH|O_DIRECTORY: the root of every file operation
    // The work directory may be bound writable though it lies in the state directory, a place
    // every process protects by name (host/trusted_state.hpp).
    std::unique_ptr<host::WritableGrant> writable;
    ClientIdentity owner;
    std::chrono::steady_clock::time_point created, last_used;
    CancelSource cancel;  // cancelled when the session ends: its running execs stop
    // Its place in its owner's quota, until it ends and no download of its files is open: an
    // open file keeps the session's disk (a tmpfs of its own) in memory after the end.
    std::shared_ptr<ClientQuotas::Hold> quota;
    ~Session();           // removes the work directory (unmounting its disk first)
};

// Why a session ended: its owner deleted it, it expired (idle, or at its maximum lifetime), or
// the daemon stopped.
enum class SessionEnd { Deleted, IdleTimeout, MaxLifetime, Shutdown };
const char* to_string(SessionEnd why);

class SessionStore {
  public:
    using Clock = std::chrono::steady_clock;
    // sessions_dir must exist, owned by the daemon, 0700. The expiry thread starts here.
    // max_per_client: the sessions one principal may hold at once (client_quotas.hpp).
    // disk_bytes: each work directory is a tmpfs of this size (session_disk.hpp); 0: a plain
    // directory on the state directory's file system.
    SessionStore(std::string sessions_dir, std::chrono::seconds idle_timeout,
                 std::chrono::seconds max_lifetime, size_t max_sessions, size_t max_per_client,
                 std::function<void(const Session&, SessionEnd why)> on_end, uint64_t disk_bytes = 0);
    ~SessionStore();  // ends every session

    // The work directory is created, the policy's fs_policy becomes read-write on it (with the
    // read-only paths it had, or the system directories unless the provider's sandboxes have a
    // root file system of their own: a VM's guest image). Full stays full where the program runs
    // in the daemon (isolation None or Wasm), which reaches the directory; elsewhere the
    // sandbox's user cannot enter the daemon's state directory, and Full is refused (400).
    ApiExpected<std::shared_ptr<Session>> create(std::string provider, Policy policy,
                                                 const ClientIdentity& owner, Isolation isolation = Isolation::None);
    // A live session of who's (its owner's principal), marked used now; 404 when unknown, ended
    // or another client's (the same answer: a session id is never confirmed to another client).
    ApiExpected<std::shared_ptr<Session>> use(const std::string& id, const ClientIdentity& who);
    // Keeps s's place in its owner's quota while held, even after s ends (an open download keeps
    // its disk); empty once it ended.
    std::shared_ptr<void> pin(const Session& s) const;
    // Ends it now (who's, as use()); 404 when unknown or another client's.
    ApiExpected<void> end(const std::string& id, const ClientIdentity& who, SessionEnd why);
    size_t size() const;
    // Ends sessions idle or too old as of now (the expiry thread calls it every second).
    void expire(Clock::time_point now);

  private:
    // The live session id if who owns it, else the 404 of an unknown id. Under mu_.
    ApiExpected<std::shared_ptr<Session>> owned(const std::string& id, const ClientIdentity& who) const;
    // Ends it whoever owns it (expiry, shutdown).
    ApiExpected<void> end_now(const std::string& id, SessionEnd why);
    // A session taken out of the store, to be finished outside the lock.
    struct Ending {
        std::shared_ptr<Session> session;
        std::shared_ptr<ClientQuotas::Hold> quota;
        SessionEnd why = SessionEnd::Deleted;
    };
    Ending take_locked(std::map<std::string, std::shared_ptr<Session>>::iterator it, SessionEnd why);  // under mu_
    void finish(Ending e);  // cancels its executions, frees its quota, reports it

    std::string dir_;
    std::chrono::seconds idle_, max_life_;
    size_t max_sessions_;
    size_t max_per_client_;
    uint64_t disk_bytes_;
    ClientQuotas per_client_;
    std::function<void(const Session&, SessionEnd)> on_end_;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<Session>> sessions_;
    size_t reserved_ = 0;  // creations past the limit check, not yet in sessions_
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread expiry_;
};

// "sbx-" + 24 random hex digits (unguessable: the id is the session's only handle on TCP).
std::string new_session_id();
inline constexpr size_t kSessionIdSize = 4 + 24;
// Whether id could name a session at all (not longer than any new_session_id): the store
// answers a longer one 404 without echoing it, and the service keeps no audit record of it.
inline bool could_be_session_id(std::string_view id) { return id.size() <= kSessionIdSize; }

}  // namespace microvm::service
