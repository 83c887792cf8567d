#include "lookup_queue.hpp"

#include <algorithm>
#include <utility>

#include "core.hpp"

namespace microvm::proxy {

LookupQueue::LookupQueue(Resolver& resolver, std::shared_ptr<Mailbox> mailbox, size_t slots,
                         size_t share)
    : resolver_(resolver), mailbox_(std::move(mailbox)), slots_(std::max<size_t>(slots, 1)),
      share_(std::clamp<size_t>(share, 1, std::max<size_t>(slots_ / 2, 1))) {}

bool LookupQueue::submit(const std::shared_ptr<ExecutionState>& execution, uint64_t connection,
                         std::string name) {
    const ExecutionState* key = execution.get();
    PerExecution& e = executions_[key];
    if (!e.execution) e.execution = execution;
    if (e.queued.size() + e.running >= execution->options.limits.max_lookups) {
        forget_if_idle(key);
        return false;
    }
    if (e.queued.empty()) turns_.push_back(key);
    e.queued.push_back({connection, std::move(name)});
    start_next();
    return true;
}

void LookupQueue::cancel(const ExecutionState& execution, uint64_t connection) {
    auto it = executions_.find(&execution);
    if (it == executions_.end()) return;
    std::deque<Waiting>& queued = it->second.queued;
    std::erase_if(queued, [&](const Waiting& w) { return w.connection == connection; });
    if (queued.empty()) std::erase(turns_, &execution);
    forget_if_idle(&execution);
}

void LookupQueue::answered(uint64_t connection) {
    auto it = started_.find(connection);
    if (it == started_.end()) return;
    const ExecutionState* key = it->second;
    started_.erase(it);
    --executions_.at(key).running;
    forget_if_idle(key);
    start_next();
}

// Each free slot goes to the execution, of those with lookups waiting and below their share,
// that holds the fewest slots; among equals, to the one first in turn (an execution that starts
// a lookup goes to the back). So a lookup waits for no other execution's backlog, only for
// lookups already running.
void LookupQueue::start_next() {
    while (started_.size() < slots_) {
        auto next_turn = turns_.end();
        size_t fewest = share_;
        for (auto it = turns_.begin(); it != turns_.end(); ++it) {
            const size_t running = executions_.at(*it).running;
            if (running < fewest) {
                fewest = running;
                next_turn = it;
            }
        }
        if (next_turn == turns_.end()) return;  // every execution waiting holds its share
        const ExecutionState* key = *next_turn;
        turns_.erase(next_turn);
        PerExecution& e = executions_.at(key);
        Waiting next = std::move(e.queued.front());
        e.queued.pop_front();
        if (!e.queued.empty()) turns_.push_back(key);
        ++e.running;
        started_.emplace(next.connection, key);
        // The answer goes through the mailbox, never inline: the resolver may answer before
        // resolve() returns, and the loop takes it in its own time.
        resolver_.resolve(next.name, [mailbox = mailbox_, id = next.connection](Resolution r) {
            mailbox->post(id, std::move(r));
        });
    }
}

void LookupQueue::forget_if_idle(const ExecutionState* key) {
    auto it = executions_.find(key);
    if (it != executions_.end() && it->second.queued.empty() && it->second.running == 0) executions_.erase(it);
}

}  // namespace microvm::proxy
