// Between the connections and the resolver: which name lookup runs next. Private to the library;
// loop thread only.
//
// The resolver's threads are shared by every execution on the proxy, and a lookup, once started,
// cannot be cancelled (getaddrinfo waits for the system resolver's own timeout). So that one
// execution's lookups (say, of names whose DNS server never answers) cannot delay another's:
//  - the resolver gets at most `slots` lookups at once, and one execution at most `share` of
//    them (at least one, at most half), so an execution alone never holds every slot, and
//    hostile executions together hold them all only when there are slots / share of them;
//  - the rest wait here in a queue per execution; a free slot goes to the waiting execution
//    that holds the fewest, in turn among equals (round robin), so that a lookup waits for no
//    other execution's backlog, only for lookups already running;
//  - a lookup whose connection is gone (ended, timed out, its execution finished) is dropped
//    before it starts;
//  - an execution has at most Limits::max_lookups lookups queued or running; beyond, the
//    connection is refused.
// A started lookup whose connection is gone still holds its slot, and counts for its execution,
// until the resolver answers: it still holds a resolver thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/resolver.hpp"

namespace microvm::proxy {

struct ExecutionState;
struct Mailbox;

class LookupQueue {
  public:
    LookupQueue(Resolver& resolver, std::shared_ptr<Mailbox> mailbox, size_t slots, size_t share);

    // Queues the lookup of name for the connection (one lookup per connection); the answer
    // comes through the mailbox. False, and nothing queued, when the execution already has
    // Limits::max_lookups lookups queued or running.
    bool submit(const std::shared_ptr<ExecutionState>& execution, uint64_t connection, std::string name);
    // The connection waits no more: its lookup is dropped unless it has started.
    void cancel(const ExecutionState& execution, uint64_t connection);
    // The answer for the connection's lookup reached the loop: its slot is free.
    void answered(uint64_t connection);

  private:
    struct Waiting {
        uint64_t connection;
        std::string name;
    };
    struct PerExecution {
        std::shared_ptr<ExecutionState> execution;  // keeps the key's address unique while listed
        std::deque<Waiting> queued;
        size_t running = 0;
    };

    void start_next();
    void forget_if_idle(const ExecutionState* key);

    Resolver& resolver_;
    std::shared_ptr<Mailbox> mailbox_;
    const size_t slots_;
    const size_t share_;  // slots one execution may hold
    std::unordered_map<const ExecutionState*, PerExecution> executions_;
    std::deque<const ExecutionState*> turns_;  // executions with queued lookups, in turn order
    // Running lookups: connection -> its execution (its size is the slots taken).
    std::unordered_map<uint64_t, const ExecutionState*> started_;
};

}  // namespace microvm::proxy
