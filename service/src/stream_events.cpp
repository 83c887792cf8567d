#include "service/stream_events.hpp"

#include "microvm/base64.hpp"
#include "microvm/json_output.hpp"
#include "microvm/utf8.hpp"

namespace microvm::service {

namespace {

// "data" is text (bytes that are not UTF-8 replaced); a chunk that is not all UTF-8 also carries
// its exact bytes in "base64", so that a client can pass binary output on unaltered.
std::string line(OutputStream stream, std::string_view data) {
    nlohmann::ordered_json e = {{"event", stream == OutputStream::Stdout ? "stdout" : "stderr"},
                                {"data", valid_utf8(data)}};
    if (!is_valid_utf8(data)) e["base64"] = base64_encode(data);
    return json_text(e) + "\n";
}

}  // namespace

size_t complete_utf8_prefix(std::string_view s) {
    // Look back at most 3 bytes for the lead byte of the last sequence.
    for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
        unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
        if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking
        size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? s.size() - back : s.size();
    }
    return s.size();
}

std::vector<std::string> EventWriter::output(OutputStream stream, std::string_view chunk) {
    std::string& held = held_[stream == OutputStream::Stdout ? 0 : 1];
    std::string data = held + std::string(chunk);
    size_t cut = complete_utf8_prefix(data);
    held = data.substr(cut);
    if (cut == 0) return {};
    return {line(stream, std::string_view(data).substr(0, cut))};
}

std::vector<std::string> EventWriter::flush() {
    std::vector<std::string> out;
    for (int i = 0; i < 2; ++i) {
        if (held_[i].empty()) continue;
        out.push_back(line(i == 0 ? OutputStream::Stdout : OutputStream::Stderr, held_[i]));
        held_[i].clear();
    }
    return out;
}

std::string EventWriter::cut(size_t bytes) const {
    nlohmann::ordered_json e = {{"event", "stream_cut"}, {"bytes", bytes}};
    return json_text(e) + "\n";
}

std::string EventWriter::result(const nlohmann::ordered_json& doc) const {
    nlohmann::ordered_json e = {{"event", "result"}, {"result", doc}};
    return json_text(e) + "\n";
}

}  // namespace microvm::service
