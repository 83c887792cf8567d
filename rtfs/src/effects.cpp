#include "rtfs/effects.hpp"

#include <string_view>

namespace rtfs {
namespace {

constexpr std::string_view kCut = "...(cut)";

// A new string, not the old one shortened: that kept its whole buffer, so each record of a
// 16 MiB URL held 16 MiB of host memory however short its text (red team, 2026-12-06).
void bound(std::string& field) {
    if (field.size() > EffectLog::kMaxRecordText) {
        std::string cut;
        cut.reserve(EffectLog::kMaxRecordText);
        cut.append(field, 0, EffectLog::kMaxRecordText - kCut.size());
        cut += kCut;
        field = std::move(cut);
    }
}

std::string unrecorded_text(uint64_t count, const char* what) {
    return std::to_string(count) + " further " + what + " were not recorded (limit of " +
           std::to_string(EffectLog::kMaxRecords) + " records)";
}

// The last slot, once the list is full, counts what is not kept (a count, not a record: a
// request's `allowed` stays unset).
template <class Record>
void append_or_count(std::vector<Record>& list, uint64_t& unrecorded, Record r, const char* what) {
    if (list.size() + 1 < EffectLog::kMaxRecords) {
        list.push_back(std::move(r));
        return;
    }
    if (list.size() < EffectLog::kMaxRecords) list.emplace_back();
    list.back() = Record{};
    list.back().error = unrecorded_text(++unrecorded, what);
}

}  // namespace

void bound_text(NetworkRequest& r) {
    for (std::string* field : {&r.url, &r.method, &r.error, &r.rule, &r.host, &r.address}) bound(*field);
}

void record_bounded(std::vector<NetworkRequest>& list, uint64_t& unrecorded, NetworkRequest r) {
    bound_text(r);
    append_or_count(list, unrecorded, std::move(r), "requests");
}

void record_bounded(std::vector<FileOperation>& list, uint64_t& unrecorded, FileOperation op) {
    for (std::string* field : {&op.path, &op.operation, &op.error}) bound(*field);
    append_or_count(list, unrecorded, std::move(op), "file operations");
}

void EffectLog::record(NetworkRequest r) { record_bounded(network_requests, network_unrecorded_, std::move(r)); }
void EffectLog::record(FileOperation op) { record_bounded(file_operations, files_unrecorded_, std::move(op)); }

}  // namespace rtfs
