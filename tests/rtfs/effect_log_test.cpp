// The effects an evaluation records are kept in the host's memory and reported in its result:
// bounded whatever the program does (rtfs/effects.hpp).
#include <gtest/gtest.h>

#include "rtfs/effects.hpp"

namespace {

using rtfs::EffectLog;

TEST(EffectLog, KeepsAtMostItsLimitOfRecordsTheLastCountingTheRest) {
    EffectLog log;
    for (int i = 0; i < 3000; ++i) log.record(rtfs::NetworkRequest{"http://a.test/" + std::to_string(i), "GET"});
    ASSERT_EQ(log.network_requests.size(), EffectLog::kMaxRecords);
    EXPECT_EQ(log.network_requests[1022].url, "http://a.test/1022");  // the first ones, in order
    EXPECT_EQ(log.network_requests.back().url, "");
    EXPECT_FALSE(log.network_requests.back().allowed.has_value());  // a count, not a request
    EXPECT_EQ(log.network_requests.back().error,
              "1977 further requests were not recorded (limit of 1024 records)");

    for (int i = 0; i < 1024; ++i) log.record(rtfs::FileOperation{"/f" + std::to_string(i), "read"});
    ASSERT_EQ(log.file_operations.size(), EffectLog::kMaxRecords);
    EXPECT_EQ(log.file_operations[1022].path, "/f1022");
    EXPECT_EQ(log.file_operations.back().error,
              "1 further file operations were not recorded (limit of 1024 records)");
}

TEST(EffectLog, CutsTheTextFieldsOfEachRecord) {
    EffectLog log;
    const std::string huge(1 << 20, 'a');
    log.record(rtfs::NetworkRequest{huge, huge, 0, 0, huge});
    log.record(rtfs::FileOperation{huge, "write", 0, huge});
    const auto& r = log.network_requests.at(0);
    for (const std::string* field : {&r.url, &r.method, &r.error}) {
        EXPECT_EQ(field->size(), EffectLog::kMaxRecordText);
        EXPECT_TRUE(field->ends_with("...(cut)"));
        // And the memory is given back: a shortened 16 MiB URL held its buffer in each of up to
        // 1024 records (red team, 2026-12-06: 1.95 GB under --memory 20).
        EXPECT_LE(field->capacity(), EffectLog::kMaxRecordText + 16);
    }
    EXPECT_LE(log.file_operations.at(0).path.capacity(), EffectLog::kMaxRecordText + 16);
    EXPECT_EQ(log.file_operations.at(0).path.size(), EffectLog::kMaxRecordText);
    EXPECT_EQ(log.file_operations.at(0).error.size(), EffectLog::kMaxRecordText);
    EXPECT_EQ(log.file_operations.at(0).operation, "write");

    log.record(rtfs::NetworkRequest{"http://short.test/", "GET"});
    EXPECT_EQ(log.network_requests.at(1).url, "http://short.test/");  // short fields stay whole
}

}  // namespace
