#include "proxy/records.hpp"

#include <string>

namespace microvm::proxy {

void RecordLog::add(rtfs::NetworkRequest record) {
    std::lock_guard lock(mutex_);
    if (records_.size() < max_records_) {
        records_.push_back(std::move(record));
    } else {
        ++unrecorded_;
    }
}

std::vector<rtfs::NetworkRequest> RecordLog::take() {
    std::lock_guard lock(mutex_);
    std::vector<rtfs::NetworkRequest> out = std::move(records_);
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
