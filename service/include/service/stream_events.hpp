// The NDJSON events of a streamed execution, one JSON object per line:
//   {"event":"stdout","data":"..."}  {"event":"stderr","data":"..."}  (as the program writes)
//   {"event":"result","result":{...the --json result document...}}  (last)
// JSON text must be UTF-8, and a chunk may end inside a multi-byte character: the incomplete
// tail is held back and sent with the next chunk of the same stream (or, replaced, at flush).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "microvm/result.hpp"

namespace microvm::service {

class EventWriter {
  public:
    std::vector<std::string> output(OutputStream stream, std::string_view chunk);
    std::vector<std::string> flush();
    std::string result(const nlohmann::ordered_json& doc) const;
    // The stream was cut past the run's deadline (the reader fell behind): how many bytes of
    // event lines were not sent; the result holds the whole output.
    std::string cut(size_t bytes) const;

  private:
    std::string held_[2];
};

// The length of s without an incomplete UTF-8 sequence at its end.
size_t complete_utf8_prefix(std::string_view s);

}  // namespace microvm::service
