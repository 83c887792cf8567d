// Records of the effects capability calls performed, so that providers can report them in
// execution metadata ("what did this program touch?").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rtfs {

struct NetworkRequest {
    std::string url;
    std::string method;
    int status = 0;          // HTTP status, 0 when no response (refused, failed, inside a tunnel)
    uint64_t bytes = 0;      // response bytes: the body (http-fetch), all the server sent (proxy)
    std::string error;       // empty on success
    // Filled by the egress proxy, one record per connection attempt. Producers that leave
    // `allowed` unset (http-fetch, older guests) leave them all at their defaults, and the JSON
    // output omits them, so records and output of those producers are unchanged.
    std::optional<bool> allowed;     // did the proxy let the connection through
    std::string rule;                // the rule that decided ("allow entry *.example.com", ...)
    std::string host;                // the target as named, canonical (A-label name or IP)
    int port = 0;
    std::string address;             // the address connected to ("93.184.216.34:443"), if any
    uint64_t bytes_sent = 0;         // program -> server
    uint64_t bytes_received = 0;     // server -> program
    std::chrono::nanoseconds duration{0};
    // Told by a runtime inside the sandbox (its log of its own capability calls): the program's
    // word, which a program that took its runtime over can forge, not the host's observation.
    bool reported_by_sandbox = false;
};

struct FileOperation {
    std::string path;
    std::string operation;   // "read", "write", "exists"
    uint64_t bytes = 0;
    std::string error;
    bool reported_by_sandbox = false;  // as NetworkRequest's
};

// The effects of one evaluation, kept in the host's memory and reported in its result, so
// bounded whatever the program does: a record's text fields (a URL, a path, an error quoting
// them: what the program wrote) are cut at kMaxRecordText bytes, and each list keeps at most
// kMaxRecords records, the last of which, once a list is full, counts those not kept. Records are
// added with record() (a decoder of another's log too); the lists are read as they are.
struct EffectLog {
    static constexpr size_t kMaxRecords = 1024;
    static constexpr size_t kMaxRecordText = 2048;

    std::vector<NetworkRequest> network_requests;
    std::vector<FileOperation> file_operations;

    void record(NetworkRequest r);
    void record(FileOperation op);

  private:
    uint64_t network_unrecorded_ = 0;
    uint64_t files_unrecorded_ = 0;
};

// Cuts the record's text fields at EffectLog::kMaxRecordText bytes (ending "...(cut)").
void bound_text(NetworkRequest& r);

// Appends to a list of records bounded as an EffectLog's are, for a producer that keeps its list
// elsewhere; `unrecorded` is the count kept beside the list.
void record_bounded(std::vector<NetworkRequest>& list, uint64_t& unrecorded, NetworkRequest r);
void record_bounded(std::vector<FileOperation>& list, uint64_t& unrecorded, FileOperation op);

}  // namespace rtfs
