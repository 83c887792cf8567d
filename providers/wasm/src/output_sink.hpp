// Captures one output stream of the guest up to a byte cap; what lies beyond the cap is counted
// as written (the guest is not failed for writing a lot) but dropped, and the stream is marked
// truncated.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace microvm::wasm {

class OutputSink {
  public:
    explicit OutputSink(size_t cap = 0) : cap_(cap) {}

    void append(std::string_view bytes) {
        size_t room = cap_ > data_.size() ? cap_ - data_.size() : 0;
        if (bytes.size() > room) truncated_ = true;
        data_.append(bytes.substr(0, room));
    }

    const std::string& data() const { return data_; }
    std::string take() { return std::move(data_); }
    bool truncated() const { return truncated_; }

  private:
    size_t cap_;
    std::string data_;
    bool truncated_ = false;
};

}  // namespace microvm::wasm
