#include "bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace microvm::cli {
namespace {

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string label(const BenchRow& r) {
    return r.subject + (r.peer ? " (peer)" : "") + ": " + r.workload;
}

}  // namespace

double percentile(std::vector<double> samples, double q) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    const double pos = q * static_cast<double>(samples.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, samples.size() - 1);
    return samples[lo] + (samples[hi] - samples[lo]) * (pos - static_cast<double>(lo));
}

std::string bench_table(const std::vector<BenchRow>& rows) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-22s %-16s %4s %10s %10s %10s  %s\n", "SUBJECT", "WORKLOAD",
                  "N", "P50 ms", "P90 ms", "P99 ms", "NOTE");
    out += line;
    for (const BenchRow& r : rows) {
        std::string subject = r.subject + (r.peer ? " (peer)" : "");
        std::string note = r.note;
        if (r.failures) note += (note.empty() ? "" : "; ") + std::to_string(r.failures) + " failed";
        if (r.samples_ms.empty()) {
            std::snprintf(line, sizeof line, "%-22s %-16s %4d %10s %10s %10s  %s\n",
                          subject.c_str(), r.workload.c_str(), 0, "-", "-", "-", note.c_str());
        } else {
            std::snprintf(line, sizeof line, "%-22s %-16s %4zu %10.2f %10.2f %10.2f  %s\n",
                          subject.c_str(), r.workload.c_str(), r.samples_ms.size(),
                          percentile(r.samples_ms, 0.5), percentile(r.samples_ms, 0.9),
                          percentile(r.samples_ms, 0.99), note.c_str());
        }
        out += line;
    }
    return out;
}

nlohmann::json bench_json(const std::vector<BenchRow>& rows, const nlohmann::json& machine) {
    nlohmann::json out = {{"machine", machine}, {"rows", nlohmann::json::array()}};
    for (const BenchRow& r : rows) {
        nlohmann::json row = {{"subject", r.subject},   {"peer", r.peer},
                              {"workload", r.workload}, {"command", r.argv},
                              {"runs", r.samples_ms.size()}, {"failures", r.failures},
                              {"note", r.note}};
        if (!r.samples_ms.empty()) {
            row["p50_ms"] = percentile(r.samples_ms, 0.5);
            row["p90_ms"] = percentile(r.samples_ms, 0.9);
            row["p99_ms"] = percentile(r.samples_ms, 0.99);
            row["samples_ms"] = r.samples_ms;
        }
        out["rows"].push_back(std::move(row));
    }
    return out;
}

std::string bench_svg(const std::vector<BenchRow>& rows, const std::string& title) {
    std::vector<const BenchRow*> measured;
    for (const BenchRow& r : rows) {
        if (!r.samples_ms.empty()) measured.push_back(&r);
    }
    // The log axis spans whole decades around every p50 and p99.
    double lo = 1e9, hi = 0;
    for (const BenchRow* r : measured) {
        lo = std::min(lo, std::max(0.01, percentile(r->samples_ms, 0.5)));
        hi = std::max(hi, std::max(0.01, percentile(r->samples_ms, 0.99)));
    }
    if (measured.empty()) lo = 1, hi = 10;
    const double dec_lo = std::floor(std::log10(lo));
    const double dec_hi = std::max(dec_lo + 1, std::ceil(std::log10(hi)));
    const int label_w = 330, plot_w = 560, bar_h = 18, gap = 6, top = 50, right = 70;
    const int width = label_w + plot_w + right;
    const int height = top + static_cast<int>(measured.size()) * (bar_h + gap) + 40;
    auto x_of = [&](double ms) {
        double v = (std::log10(std::max(ms, 0.01)) - dec_lo) / (dec_hi - dec_lo);
        return label_w + std::clamp(v, 0.0, 1.0) * plot_w;
    };
    std::string s;
    s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s += "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">" + xml_escape(title) +
         "</text>\n";
    s += "<text x=\"10\" y=\"38\" fill=\"#555\">p50 latency per run, whole process, log scale "
         "(ticks: p90, p99)</text>\n";
    const int axis_y = top + static_cast<int>(measured.size()) * (bar_h + gap);
    for (double d = dec_lo; d <= dec_hi; d += 1) {
        const double ms = std::pow(10.0, d);
        const double x = x_of(ms);
        s += "<line x1=\"" + fmt("%.1f", x) + "\" y1=\"" + std::to_string(top - 4) + "\" x2=\"" +
             fmt("%.1f", x) + "\" y2=\"" + std::to_string(axis_y) +
             "\" stroke=\"#ddd\"/>\n<text x=\"" + fmt("%.1f", x) + "\" y=\"" +
             std::to_string(axis_y + 16) + "\" text-anchor=\"middle\">" +
             (ms < 1 ? fmt("%g", ms) : fmt("%.0f", ms)) + " ms</text>\n";
    }
    int y = top;
    for (const BenchRow* r : measured) {
        const double p50 = percentile(r->samples_ms, 0.5);
        const double x0 = label_w, x1 = x_of(p50);
        const char* color = r->peer ? "#999999" : "#3b6fb6";
        s += "<text x=\"" + std::to_string(label_w - 8) + "\" y=\"" +
             std::to_string(y + bar_h - 5) + "\" text-anchor=\"end\">" + xml_escape(label(*r)) +
             "</text>\n";
        s += "<rect class=\"bar\" x=\"" + fmt("%.1f", x0) + "\" y=\"" + std::to_string(y) +
             "\" width=\"" + fmt("%.1f", std::max(1.0, x1 - x0)) + "\" height=\"" +
             std::to_string(bar_h) + "\" fill=\"" + color + "\"><title>" +
             xml_escape(label(*r)) + fmt(": p50 %.2f ms", p50) + "</title></rect>\n";
        for (double q : {0.9, 0.99}) {
            const double xq = x_of(percentile(r->samples_ms, q));
            s += "<line x1=\"" + fmt("%.1f", xq) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" +
                 fmt("%.1f", xq) + "\" y2=\"" + std::to_string(y + bar_h) +
                 "\" stroke=\"black\"/>\n";
        }
        s += "<text x=\"" + fmt("%.1f", x1 + 4) + "\" y=\"" + std::to_string(y + bar_h - 5) +
             "\">" + fmt("%.1f ms", p50) + "</text>\n";
        y += bar_h + gap;
    }
    s += "</svg>\n";
    return s;
}

}  // namespace microvm::cli
