// The output of `microvm bench`: percentiles, a text table, JSON and an SVG bar chart.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_rows.hpp"

namespace microvm::cli {

// The q-quantile (0..1) of samples by linear interpolation; 0 for none.
double percentile(std::vector<double> samples, double q);

std::string bench_table(const std::vector<BenchRow>& rows);
nlohmann::json bench_json(const std::vector<BenchRow>& rows, const nlohmann::json& machine);
// One horizontal bar (p50, log scale) per row that has samples, with p90/p99 ticks.
std::string bench_svg(const std::vector<BenchRow>& rows, const std::string& title);

}  // namespace microvm::cli
