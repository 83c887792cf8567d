#include "proxy/records.hpp"

#include <algorithm>
#include <string>

namespace microvm::proxy {

void RecordLog::add(rtfs::NetworkRequest record, std::chrono::steady_clock::time_point started,
                    Reached reached) {
    // A record's text fields carry what the client sent (a URL up to a request head's 16 KiB, a
    // server name): bounded, so that the kept records (every attempt that reached a server, up
    // to the settings' connection limit) cost a bounded amount each.
    rtfs::bound_text(record);
    std::lock_guard lock(mutex_);
    if (reached == Reached::Server || capped_ < max_records_) {
        if (reached == Reached::ProxyOnly) ++capped_;
        records_.emplace_back(started, std::move(record));
        return;
    }
    const bool allowed = record.allowed.value_or(false);
    auto it = std::find_if(unrecorded_.begin(), unrecorded_.end(),
                           [&](const Unrecorded& u) { return u.allowed == allowed && u.rule == record.rule; });
    if (it != unrecorded_.end()) {
        ++it->count;
    } else if (unrecorded_.size() < kMaxReasons) {
        unrecorded_.push_back({allowed, std::move(record.rule), 1});
    } else {
        ++unrecorded_other_;
    }
}

std::vector<rtfs::NetworkRequest> RecordLog::take() {
    std::lock_guard lock(mutex_);
    std::stable_sort(records_.begin(), records_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<rtfs::NetworkRequest> out;
    out.reserve(records_.size() + unrecorded_.size() + 1);
    for (auto& [started, record] : records_) out.push_back(std::move(record));
    records_.clear();
    capped_ = 0;
    auto summary = [&](uint64_t count, const std::string& why) {
        rtfs::NetworkRequest r;
        r.error = std::to_string(count) + " further connection attempts were not recorded (limit of " +
                  std::to_string(max_records_) + " records of attempts that reached no server): " + why;
        out.push_back(std::move(r));
    };
    for (const Unrecorded& u : unrecorded_) {
        summary(u.count, u.allowed ? "allowed (" + u.rule + ") but no server reached" : "refused: " + u.rule);
    }
    if (unrecorded_other_ > 0) summary(unrecorded_other_, "other reasons");
    unrecorded_.clear();
    unrecorded_other_ = 0;
    return out;
}

}  // namespace microvm::proxy
