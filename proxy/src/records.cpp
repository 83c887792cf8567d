#include "proxy/records.hpp"

#include <algorithm>
#include <string>

namespace microvm::proxy {

void RecordLog::add(rtfs::NetworkRequest record, std::chrono::steady_clock::time_point started) {
    std::lock_guard lock(mutex_);
    if (records_.size() < max_records_) {
        records_.emplace_back(started, std::move(record));
    } else {
        ++unrecorded_;
    }
}

std::vector<rtfs::NetworkRequest> RecordLog::take() {
    std::lock_guard lock(mutex_);
    std::stable_sort(records_.begin(), records_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<rtfs::NetworkRequest> out;
    out.reserve(records_.size() + 1);
    for (auto& [started, record] : records_) out.push_back(std::move(record));
    records_.clear();
    if (unrecorded_ > 0) {
        rtfs::NetworkRequest summary;
        summary.error = std::to_string(unrecorded_) +
                        " further connection attempts were not recorded (limit of " +
                        std::to_string(max_records_) + " records)";
        out.push_back(std::move(summary));
        unrecorded_ = 0;
    }
    return out;
}

}  // namespace microvm::proxy
